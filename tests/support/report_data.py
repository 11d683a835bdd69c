"""The reports' database with known figures: citizens, their subscriptions, consents,
replies and three announcements with every outcome a delivery can have, so the
reports' tests can assert exact counts, rates and waits.

Written row by row through runner.db, unlike every other test's data (log lines ->
sync -> send): the figures span two weeks of send runs at given minutes, a refusal
with no webhook, a skipped and a still-queued delivery, Meta skipping «delivered».
Bringing each through the real path is work still to do; the tables are the
store's own, so a schema change breaks here first.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from runner.db import connect
from runner.subscribers.privacy import citizen_id

ROME = ZoneInfo("Europe/Rome")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ROME)


def number(i: int) -> str:
    """Invented numbers in the 39 333 000 range, as the samples use."""
    return f"39333000{i:04d}"


C = {i: citizen_id(number(i)) for i in range(1, 13)}

# (citizen, when, from, to[, cause]); the cause defaults to a message's wamid
EVENTS = [
    (1, "2024-03-18 10:00", None, "active"),
    (2, "2024-03-18 11:00", None, "active"),
    (9, "2024-03-18 12:00", None, "active"),
    (3, "2024-03-19 09:00", None, "active"),
    (4, "2024-03-20 09:00", None, "active"),
    (7, "2024-03-20 10:00", None, "pending"),
    (7, "2024-03-21 10:00", "pending", "active", "decision:approve"),  # after 24 h
    (10, "2024-03-22 08:00", None, "pending"),
    (10, "2024-03-22 14:00", "pending", "rejected", "decision:reject"),  # 6 h
    (9, "2024-03-22 15:00", "active", "blocked", "decision:block"),
    (5, "2024-03-25 08:00", None, "active"),
    (6, "2024-03-26 08:00", None, "active"),
    (2, "2024-03-26 12:00", "active", "unsubscribed"),  # 26 h after announcement 1
    (8, "2024-03-27 09:00", None, "pending"),          # still waiting
    (4, "2024-03-29 09:00", "active", "pending"),      # asks to leave (moderated)...
    (4, "2024-03-29 12:00", "pending", "active", "decision:reject"),  # ...and stays
]

# (citizen, when, text, kind, keyword, captured name)
INBOUND = [
    (1, "2024-03-18 10:00", "mi iscrivo", "subscribe", "MI ISCRIVO", None),
    (2, "2024-03-18 11:00", "MI ISCRIVO", "subscribe", "MI ISCRIVO", None),
    (9, "2024-03-18 12:00", "MI ISCRIVO", "subscribe", "MI ISCRIVO", None),
    (3, "2024-03-19 09:00", "Mi iscrivo", "subscribe", "MI ISCRIVO", None),
    (4, "2024-03-20 09:00", "MI ISCRIVO", "subscribe", "MI ISCRIVO", None),
    (7, "2024-03-20 10:00", "Servizio Info ON Paolo Rossi", "subscribe", "SERVIZIO INFO ON",
     "Paolo Rossi"),
    (10, "2024-03-22 08:00", "servizio info on Luca Verdi", "subscribe", "SERVIZIO INFO ON",
     "Luca Verdi"),
    (5, "2024-03-25 08:00", "mi iscrivo", "subscribe", "MI ISCRIVO", None),
    (6, "2024-03-26 08:00", "MI ISCRIVO", "subscribe", "MI ISCRIVO", None),
    (2, "2024-03-26 12:00", "mi cancello", "unsubscribe", "MI CANCELLO", None),
    (8, "2024-03-27 09:00", "Servizio Info ON Maria Bianchi", "subscribe", "SERVIZIO INFO ON",
     "Maria Bianchi"),
    (11, "2024-03-21 18:00", "mi iscrvo", "near_miss", "MI ISCRIVO", None),
    (12, "2024-03-23 18:00", "mi iscrvo", "near_miss", "MI ISCRIVO", None),
    (11, "2024-03-24 18:00", "iscrivetemi per favore", "near_miss", "MI ISCRIVO", None),
    (12, "2024-03-24 19:00", "mi iscrivo al +39 347 1234567 grazie", "near_miss", "MI ISCRIVO",
     None),
    (6, "2024-03-24 19:30", "\u00a0MI\u00a0ISCRIVO ", "near_miss", "MI ISCRIVO", None),
    (11, "2024-03-24 20:00", "buongiorno", "ignored", None, None),
]

ANNOUNCEMENTS = [
    ("2024-03-25-servizio-whatsapp", "Nasce il servizio WhatsApp", "info-comune", "normal",
     "2024-03-25 10:00"),
    ("2024-03-28-allerta-meteo", "Allerta meteo arancione", "allerta-meteo", "emergency",
     "2024-03-28 07:00"),
    ("2024-04-02-scadenza-tari", "Scadenza TARI", "scadenze", "normal", "2024-04-02 09:00"),
]

# Per announcement and citizen: (delivery state, status webhook or None).
# A status is (status, minutes to delivered, minutes to read, error code).
OUTCOMES = {
    "2024-03-25-servizio-whatsapp": {
        1: ("read", ("read", 1, 30, None)),
        2: ("delivered", ("delivered", 2, None, None)),
        3: ("read", ("read", 3, 60, None)),
        4: ("delivered", ("delivered", 4, None, None)),
        5: ("read", ("read", 5, 120, None)),
        7: ("failed", ("failed", None, None, 131026)),
    },
    "2024-03-28-allerta-meteo": {
        1: ("read", ("read", 1, 10, None)),
        3: ("read", ("read", 2, 10, None)),
        4: ("read", ("read", 3, 10, None)),
        5: ("read", ("read", 4, 10, None)),
        6: ("read", ("read", None, 6, None)),   # Meta skipped «delivered»: read implies it
        7: ("delivered", ("delivered", 5, None, None)),
    },
    "2024-04-02-scadenza-tari": {
        1: ("delivered", ("delivered", 10, None, None)),
        3: ("read", ("read", 20, 60, None)),
        4: ("failed", None),                    # refused at send time, no webhook
        5: ("sent", ("sent", None, None, None)),
        6: ("queued", None),
        7: ("skipped", None),                   # in the audience, not reached
    },
}


def insert_status(con, wamid, callback, sent, status, to_delivered, to_read, code):
    delivered = sent + timedelta(minutes=to_delivered) if to_delivered is not None else None
    read = sent + timedelta(minutes=to_read) if to_read is not None else None
    failed = sent + timedelta(minutes=1) if status == "failed" else None
    con.execute(
        "INSERT INTO statuses (wamid, status, ts, sent_at, delivered_at, read_at, failed_at,"
        " callback, error_code, error_title) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [wamid, status, read or delivered or failed or sent,
         None if status == "failed" else sent, delivered, read, failed, callback, code,
         "Message undeliverable." if code else None])


def build_db(path):
    """A database with the figures the tests expect, written through runner.db."""
    con = connect(path)
    for i in C:
        con.execute("INSERT INTO citizens (citizen_id, wa_id) VALUES (?, ?)", [C[i], number(i)])
    states = {}
    for i, when, before, after, *cause in EVENTS:
        con.execute("INSERT INTO subscriber_events VALUES (?, ?, ?, ?, ?)",
                    [C[i], at(when), before, after, cause[0] if cause else f"wamid.e{i}{when}"])
        states[i] = (after, at(when))
    for i, (state, since) in states.items():
        con.execute("INSERT INTO subscribers (citizen_id, state, since) VALUES (?, ?, ?)",
                    [C[i], state, since])
    con.execute("INSERT INTO notices VALUES ('v2-bbbb', ?)", [at("2024-03-21 00:00")])
    for n, (i, when, text, kind, keyword, name) in enumerate(INBOUND):
        con.execute("INSERT INTO inbound (wamid, citizen_id, ts, type, text, kind, keyword,"
                    " captured_name) VALUES (?, ?, ?, 'text', ?, ?, ?, ?)",
                    [f"wamid.in{n}", C[i], at(when), text, kind, keyword, name])
        if kind == "subscribe" and i not in (8, 10):
            version = "v1-aaaa" if at(when) < at("2024-03-21 00:00") else "v2-bbbb"
            con.execute("INSERT INTO consents (citizen_id, wamid, ts, text, keyword,"
                        " notice_version) VALUES (?, ?, ?, ?, ?, ?)",
                        [C[i], f"wamid.in{n}", at(when), text, keyword, version])
            # the welcome reply; the one to citizen 9 failed outside the 24-hour window
            delivery = f"w:wamid.in{n}"
            con.execute("INSERT INTO deliveries (delivery_id, kind, citizen_id, state, wamid,"
                        " created_at, sent_at) VALUES (?, 'welcome', ?, ?, ?, ?, ?)",
                        [delivery, C[i], "failed" if i == 9 else "sent", f"wamid.w{n}",
                         at(when), at(when) + timedelta(seconds=5)])
            if i == 9:
                insert_status(con, f"wamid.w{n}", f"banditore:{delivery}",
                               at(when) + timedelta(seconds=5), "failed", None, None, 131047)
    con.execute("INSERT INTO deliveries (delivery_id, kind, citizen_id, state, wamid, created_at,"
                " sent_at) VALUES ('g:wamid.in9', 'goodbye', ?, 'sent', 'wamid.g9', ?, ?)",
                [C[2], at("2024-03-26 12:00"), at("2024-03-26 12:00")])
    for announcement_id, title, category, urgency, publish in ANNOUNCEMENTS:
        con.execute("INSERT INTO announcements (announcement_id, path, title, category, urgency,"
                    " publish_at) VALUES (?, ?, ?, ?, ?, ?)",
                    [announcement_id, f"announcements/2024/{announcement_id}.md", title,
                     category, urgency, at(publish)])
        sent = at(publish)
        for i, (state, status) in OUTCOMES[announcement_id].items():
            delivery = f"a:{announcement_id}:{C[i]}"
            wamid = f"wamid.{announcement_id}.{i}" if status else None
            con.execute(
                "INSERT INTO deliveries (delivery_id, kind, announcement_id, citizen_id, state,"
                " wamid, error_code, created_at, sent_at) VALUES (?, 'announcement', ?, ?, ?, ?,"
                " ?, ?, ?)",
                [delivery, announcement_id, C[i], state, wamid,
                 131049 if state == "failed" and not status else None, sent,
                 sent if status else None])
            if status:
                insert_status(con, wamid, f"banditore:{delivery}", sent, *status)
    con.execute("INSERT INTO malformed VALUES ('webhook-logs/x.jsonl', 7, 'not_json', NULL)")
    con.execute("INSERT INTO webhook_errors VALUES ('webhook-logs/x.jsonl', 9, 130429,"
                " 'Rate limit hit')")
    con.close()
    return path
