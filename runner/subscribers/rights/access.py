"""Who staff mean, and everything held about them: the right of access.

:func:`find` turns what staff typed into citizens: a ``c_`` id, a phone number
in any common spelling (``+39 347 123 4567``, ``0039…``, ``347/1234567``), or,
where the town captures names, a name. :func:`record` gathers what the database
and the decisions file hold about one citizen (GDPR art. 15): state history,
topics, consents with their notice, messages, deliveries with what became of them.

Two ways to print it: :func:`show` for staff at a terminal (number masked, free
text only as its masked form) and :func:`export`, the copy handed to the citizen
(their number and what they wrote that is still held: it is their data).
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from .. import db
from ..messages import t
from ..vocabulary import SKIPPED
from ..whatsapp.answers import meaning, skip_meaning
from .decisions import DecisionError, load_decisions
from .keywords import classifier, fold
from .privacy import citizen_id as pseudonym
from .privacy import mask_number, masked_form, pseudonym_key
from .repository import decisions_path

if TYPE_CHECKING:
    from ..config import Settings

_ID = re.compile(r"c_[0-9a-f]{16}")
_NUMBER = re.compile(r"\+?[\d\s\-./()]{6,}")


def number_id(settings: Settings, typed: str) -> str | None:
    """The id of a number typed any common way, or None if it is not a number.
    Without a country prefix it is Italian: ``347 1234567`` is ``+39 347 1234567``."""
    text = typed.strip()
    if not _NUMBER.fullmatch(text):
        return None
    digits = re.sub(r"\D", "", text)
    if text.startswith("+"):
        pass
    elif digits.startswith("00"):
        digits = digits[2:]
    elif not (digits.startswith("39") and len(digits) >= 11):
        digits = "39" + digits
    return pseudonym(digits, pseudonym_key(settings))


def shown(typed: str) -> str:
    """What staff typed, as it may be echoed: masked if it holds digits (an id is
    pseudonymous already, and shown as typed)."""
    typed = typed.strip()
    if _ID.fullmatch(typed):
        return typed
    return mask_number(typed) if re.search(r"\d{3}", typed) else typed


def key_matches(con, settings: Settings) -> bool | None:
    """Whether the database's ids were made with this BANDITORE_PSEUDONYM_KEY (None: no
    citizen with a number to tell). Numbers are found by their id, so with another
    key (or none, where CI has one) no number is ever found."""
    row = next(iter(con.execute("SELECT citizen_id, wa_id FROM citizens WHERE wa_id IS NOT "
                                "NULL ORDER BY citizen_id LIMIT 1").fetchall()), None)
    return None if row is None else pseudonym(row[1], pseudonym_key(settings)) == row[0]


def _key_error(settings: Settings) -> DecisionError:
    key = "rights.key-missing" if settings.pseudonym_key is None else "rights.key-other"
    return DecisionError(t(key, database=settings.database))


def find(con, settings: Settings, who: str, *, known_only: bool = False) -> list[str]:
    """The citizen ids ``who`` names: an id or a number (one, even if unknown, unless
    ``known_only``), or every citizen whose captured name holds all the typed words."""
    who = who.strip()
    cid = who if _ID.fullmatch(who) else number_id(settings, who)
    if cid is not None:
        # A number made into an id with the wrong key names no one (or the wrong one).
        if cid != who and key_matches(con, settings) is False:
            raise _key_error(settings)
        if known_only and not _known(con, cid):
            return []
        return [cid]
    words = set(fold(who).split())
    if not words or not re.search(r"[^\W\d_]", who):
        raise DecisionError(t("rights.who-invalid", who=shown(who)))
    rows = con.execute("""
        SELECT DISTINCT citizen_id, name FROM (
            SELECT citizen_id, name FROM subscribers WHERE name IS NOT NULL
            UNION ALL SELECT citizen_id, captured_name FROM inbound
            WHERE captured_name IS NOT NULL)""").fetchall()
    return sorted({cid for cid, name in rows if words <= set(fold(name).split())})


def one(con, settings: Settings, who: str, *, known_only: bool = True) -> str:
    """Exactly one citizen, or an error that echoes what was typed (masked) and, when
    several match, lists them so staff can choose by id."""
    found = find(con, settings, who, known_only=known_only)
    if not found:
        raise DecisionError(t("rights.no-match", who=shown(who)))
    if len(found) > 1:
        lines = [t("rights.several", who=shown(who), count=len(found))]
        lines += [f"  {_summary_line(con, cid)}" for cid in found]
        raise DecisionError("\n".join(lines))
    return found[0]


def _known(con, cid: str) -> bool:
    return con.execute("SELECT count(*) FROM citizens WHERE citizen_id = ?",
                       [cid]).fetchall()[0][0] > 0


def _summary_line(con, cid: str) -> str:
    row = next(iter(con.execute("""
        SELECT c.wa_id, s.state, s.name FROM citizens c LEFT JOIN subscribers s USING (citizen_id)
        WHERE c.citizen_id = ?""", [cid]).fetchall()), (None, None, None))
    return f"{cid}  {mask_number(row[0]) if row[0] else '-':16s}  {row[1] or '-':12s}  " \
           f"{row[2] or '-'}"


# --- the record ------------------------------------------------------------------------

def _rows(con, sql: str, cid: str) -> list[dict]:
    cur = con.execute(sql, [cid])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


_QUERIES = {
    "citizen": """SELECT citizen_id, wa_id AS number, user_id, profile_name, last_inbound_at
                  FROM citizens WHERE citizen_id = ?""",
    "subscription": """SELECT state, pending_action, name, keyword, since, subscribed_at,
                              topics
                       FROM subscribers WHERE citizen_id = ?""",
    "history": """SELECT ts, from_state, to_state, cause FROM subscriber_events
                  WHERE citizen_id = ? ORDER BY ts""",
    "consents": """SELECT c.ts, c.text, c.keyword, c.topics, c.notice_version,
                          n.in_force_from AS notice_in_force_from, c.imported_from
                   FROM consents c LEFT JOIN notices n ON n.version = c.notice_version
                   WHERE c.citizen_id = ? ORDER BY c.ts""",
    "messages": """SELECT ts, type, kind, keyword, captured_name, text, form
                   FROM inbound WHERE citizen_id = ? ORDER BY ts, wamid""",
    # A status is found by the wamid the send recorded, or (a database rebuilt since)
    # by the delivery id it echoes: two equality joins, never an OR join (a scan of
    # every status per delivery).
    "deliveries": """
        WITH mine AS (SELECT * FROM deliveries WHERE citizen_id = ?),
        found AS (
            SELECT m.delivery_id, arg_max(s.status, s.ts) AS status, min(s.sent_at) AS sent_at,
                   min(s.delivered_at) AS delivered_at, min(s.read_at) AS read_at,
                   max(s.error_code) AS error_code, max(s.error_title) AS error_title
            FROM mine m JOIN statuses s ON s.wamid = m.wamid GROUP BY 1
            UNION ALL
            SELECT m.delivery_id, arg_max(s.status, s.ts), min(s.sent_at), min(s.delivered_at),
                   min(s.read_at), max(s.error_code), max(s.error_title)
            FROM mine m JOIN statuses s ON s.callback = 'banditore:' || m.delivery_id
            WHERE m.wamid IS NULL GROUP BY 1)
        SELECT d.kind, d.announcement_id, a.title, coalesce(s.status, d.state) AS state,
               d.created_at, coalesce(d.sent_at, s.sent_at) AS sent_at, s.delivered_at,
               s.read_at, coalesce(s.error_code, d.error_code) AS error_code,
               coalesce(s.error_title, d.error_title) AS error_title
        FROM mine d
        LEFT JOIN announcements a USING (announcement_id)
        LEFT JOIN found s USING (delivery_id)
        ORDER BY d.created_at, d.delivery_id""",
}


def record(settings: Settings, cid: str) -> dict:
    """Everything held about one citizen, as plain values (times in the town's zone)."""
    with db.reading(settings.database) as con:
        con.execute(f"SET TimeZone = '{settings.timezone}'")
        out = {name: _rows(con, sql, cid) for name, sql in _QUERIES.items()}
    citizen = out.pop("citizen")
    out = {"citizen_id": cid, **(citizen[0] if citizen else {"number": None}),
           "subscription": (out.pop("subscription") or [None])[0], **out}
    for delivery in out["deliveries"]:
        if delivery["state"] == SKIPPED:  # why it was not made: the reason's words
            delivery["reason"] = skip_meaning(delivery["error_title"])
        elif delivery["error_code"] is not None:
            delivery["error_meaning"] = meaning(delivery["error_code"])
    out["decisions"] = [{"ts": d.ts, "action": d.action}
                        for d in load_decisions(decisions_path(settings))
                        if d.citizen_id == cid]
    out["retention_days"] = settings.retention_days
    return out


def locate(settings: Settings, who: str) -> str:
    with db.reading(settings.database) as con:
        return one(con, settings, who)


def export(settings: Settings, who: str, fmt: str = "json") -> str:
    """The copy of a citizen's data for an access request (their own number and texts)."""
    data = record(settings, locate(settings, who))
    if fmt == "json":
        return json.dumps(data, ensure_ascii=False, indent=2, default=_iso)
    return _text(settings, data, masked=False)


def show(settings: Settings, who: str) -> str:
    """The same record for staff: number masked, free text only as its masked form."""
    return _text(settings, record(settings, locate(settings, who)), masked=True)


def _iso(value) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _when(value) -> str:
    return value.strftime("%d/%m/%Y %H:%M") if value is not None else "-"


def _text(settings: Settings, data: dict, *, masked: bool) -> str:
    known = classifier(settings).known_word
    number = data.get("number")
    lines = [t("rights.show.citizen", citizen_id=data["citizen_id"],
               number=(mask_number(number) if masked else number) if number
               else t("subscribers.no-number"))]
    if data.get("profile_name") and not masked:
        lines.append(t("rights.show.profile", name=data["profile_name"]))
    sub = data["subscription"]
    lines.append(t("rights.show.state", state=sub["state"], since=_when(sub["since"]),
                   name=sub["name"] or "-") if sub else t("rights.show.no-state"))
    if sub:  # no topics chosen: every topic
        lines.append(t("rights.show.topics", topics=", ".join(sub["topics"] or [])
                       or t("rights.show.all-topics")))
    sections = [
        ("history", lambda r: f"{_when(r['ts'])}  {r['from_state'] or '-'} -> {r['to_state']}"),
        ("consents", lambda r: f"{_when(r['ts'])}  "
                               + (t("rights.show.imported", sha=r["imported_from"][:16])
                                  if r["imported_from"] else f"«{_said(r, masked, known)}»")
                               + "  " + t("rights.show.notice", version=r["notice_version"],
                                   date=_when(r["notice_in_force_from"]))),
        ("messages", lambda r: f"{_when(r['ts'])}  {r['kind']:12s} «{_said(r, masked, known)}»"),
        ("deliveries", lambda r: f"{_when(r['created_at'])}  {r['kind']:12s} "
                                 f"{r['title'] or r['announcement_id'] or ''}  {r['state']}"
                                 + _why(r)),
        ("decisions", lambda r: f"{_when(r['ts'])}  {r['action']}"),
    ]
    for name, line in sections:
        # What a citizen wrote is shown in its masked form here, as export never is:
        # the header says so, so that «grazie» here and "Grazie!" there do not puzzle.
        masked_text = masked and name == "messages" and data[name]
        lines.append(t(f"rights.show.{name}" + ("-masked" if masked_text else ""),
                       count=len(data[name])))
        lines += [f"  {line(row)}" for row in data[name]]
    lines.append(t("rights.show.retention", days=data["retention_days"]))
    return "\n".join(lines)


def _why(delivery: dict) -> str:
    """Why a delivery was not made or failed: the skip reason, or Meta's code."""
    if "reason" in delivery:
        return f" ({delivery['reason']})"
    if "error_meaning" in delivery:
        return f" ({delivery['error_code']}: {delivery['error_meaning']})"
    return ""


def _said(row: dict, masked: bool, known) -> str:
    """What the citizen wrote, as it may be printed here. A keyword (or consent) shows
    as the keyword, with «…» for a name after it; other text as its masked form."""
    text = row.get("text")
    if not masked:
        return text if text is not None else (row.get("form") or t("rights.show.text-gone"))
    if row.get("kind", "subscribe") in ("subscribe", "unsubscribe", "pause", "resume"):
        keyword = row.get("keyword") or ""
        return keyword + (" …" if text and fold(text) != fold(keyword) else "")
    if text is None:
        return row.get("form") or t("rights.show.text-gone")
    return row.get("form") or masked_form(text, known)
