"""Inbound messages from the stage into the database: who sent them (citizen ids),
what they are (keyword classification, or a pick from the topic menu), and each
stored once (by wamid)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from ..db import temp_table
from .keywords import classifier
from .privacy import citizen_id as pseudonym
from .privacy import masked_form
from .replay import REPLAYED_KINDS
from .states import drop_forgotten
from .topics import Topics

if TYPE_CHECKING:
    import duckdb

    from ..config import Settings
    from .decisions import Decision
    from .sync import Summary

CLASSIFIED_TYPES = ("text", "button", "interactive")


def identify(con: duckdb.DuckDBPyConnection, key: bytes | None) -> None:
    """citizen_id for each staged message: the number when Meta sends it, else the
    number learnt from a message carrying both, else the BSUID. Only identities
    the database does not know yet are hashed (in Python, once each)."""
    con.execute("""
        CREATE OR REPLACE TEMP TABLE stage_links AS
        SELECT user_id, min(wa_id) AS wa_id FROM (
            SELECT user_id, wa_id FROM stage_messages
            WHERE user_id IS NOT NULL AND wa_id IS NOT NULL
            UNION ALL
            SELECT user_id, wa_id FROM citizens
            WHERE user_id IS NOT NULL AND wa_id IS NOT NULL)
        GROUP BY user_id""")
    con.execute("""
        CREATE OR REPLACE TEMP VIEW stage_identities AS
        SELECT m.*, coalesce(m.wa_id, l.wa_id, m.user_id) AS identity
        FROM stage_messages m LEFT JOIN stage_links l USING (user_id)""")
    identities = [r[0] for r in con.execute("""
        SELECT DISTINCT identity FROM stage_identities WHERE identity NOT IN (
            SELECT coalesce(wa_id, user_id) FROM citizens)""").fetchall()]
    temp_table(con, "new_ids", identity=("VARCHAR", identities),
               citizen_id=("VARCHAR", [pseudonym(i, key) for i in identities]))
    con.execute("""
        CREATE OR REPLACE TEMP TABLE stage_ids AS
        SELECT coalesce(wa_id, user_id) AS identity, citizen_id FROM citizens
        UNION ALL SELECT identity, citizen_id FROM new_ids""")
    # A citizen first seen only by BSUID whose number is now known: re-key.
    orphans = con.execute("""
        SELECT c.citizen_id, l.wa_id FROM citizens c JOIN stage_links l USING (user_id)
        WHERE c.wa_id IS NULL""").fetchall()
    for old, wa_id in orphans:
        _rekey(con, old, pseudonym(wa_id, key), wa_id)


def _rekey(con: duckdb.DuckDBPyConnection, old: str, new: str, wa_id: str) -> None:
    row = con.execute("SELECT user_id, profile_name, last_inbound_at FROM citizens "
                      "WHERE citizen_id = ?", [old]).fetchall()[0]
    con.execute("UPDATE inbound SET citizen_id = ? WHERE citizen_id = ?", [new, old])
    con.execute("UPDATE deliveries SET citizen_id = ? WHERE citizen_id = ?", [new, old])
    for table in ("subscribers", "subscriber_events", "consents", "citizens"):
        con.execute(f"DELETE FROM {table} WHERE citizen_id = ?", [old])
    con.execute("""
        INSERT INTO citizens VALUES (?, ?, ?, ?, ?) ON CONFLICT (citizen_id) DO UPDATE SET
            user_id = coalesce(citizens.user_id, excluded.user_id),
            last_inbound_at = greatest(citizens.last_inbound_at, excluded.last_inbound_at)
        """, [new, wa_id, *row])
    con.execute("INSERT INTO stage_affected VALUES (?)", [new])


def classify(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """Keywords: Python looks at each distinct text once; DuckDB joins the result.
    A near miss also gets its masked form, which outlives its text."""
    texts = [r[0] for r in con.execute(
        f"SELECT DISTINCT text FROM stage_messages WHERE type IN {CLASSIFIED_TYPES} "
        "AND text IS NOT NULL").fetchall()]
    c = classifier(settings)
    matches = [c.classify(text) for text in texts]
    temp_table(con, "stage_verdicts", text=("VARCHAR", texts),
               kind=("VARCHAR", [m.kind for m in matches]),
               keyword=("VARCHAR", [m.keyword for m in matches]),
               captured_name=("VARCHAR", [m.name for m in matches]),
               topic=("VARCHAR", [m.topic for m in matches]),
               form=("VARCHAR", [masked_form(text, c.known_word) if m.kind == "near_miss"
                                 else None for text, m in zip(texts, matches, strict=True)]))
    # A tap on a row of our topic menu is a pick (kind 'topic'), whatever its title says.
    topics = Topics(settings)
    ids = [r[0] for r in con.execute(
        "SELECT DISTINCT reply_id FROM stage_messages WHERE reply_id IS NOT NULL").fetchall()]
    picks = [(i, topics.picked(i)) for i in ids]
    picks = [(i, topic) for i, topic in picks if topic is not None]
    temp_table(con, "stage_picks", reply_id=("VARCHAR", [i for i, _ in picks]),
               topic=("VARCHAR", [topic for _, topic in picks]))


def insert_inbound(con: duckdb.DuckDBPyConnection, summary: Summary,
                   forgotten: list[Decision], settings: Settings) -> int:
    """Store the new messages and update their senders; returns how many citizens
    sent a keyword (their state must be replayed). A text already past retention
    (an old log read again) is never stored."""
    s = summary
    staged = con.execute("SELECT count(*) FROM stage_messages").fetchall()[0][0]
    # One row per wamid (Meta retries), the first place it appears in the logs.
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE stage_new AS
        SELECT m.wamid, i.citizen_id, m.ts, m.type, m.text,
               CASE WHEN p.topic IS NOT NULL THEN 'topic'
                    WHEN m.type IN {CLASSIFIED_TYPES} THEN v.kind END AS kind,
               CASE WHEN p.topic IS NULL THEN v.keyword END AS keyword,
               CASE WHEN p.topic IS NULL THEN v.captured_name END AS captured_name,
               v.form,
               m.file, m.line, m.wa_id, m.user_id, m.profile_name,
               coalesce(p.topic, v.topic) AS topic
        FROM stage_identities m
        JOIN stage_ids i USING (identity)
        LEFT JOIN stage_verdicts v ON v.text = m.text AND m.type IN {CLASSIFIED_TYPES}
        LEFT JOIN stage_picks p ON p.reply_id = m.reply_id
        QUALIFY row_number() OVER (PARTITION BY m.wamid ORDER BY m.file, m.line) = 1""")
    # Keep the first place a message appears in the logs, whatever the reading order.
    con.execute("""
        UPDATE inbound SET file = n.file, line = n.line FROM stage_new n
        WHERE inbound.wamid = n.wamid
          AND (n.file < inbound.file OR (n.file = inbound.file AND n.line < inbound.line))""")
    con.execute("DELETE FROM stage_new WHERE wamid IN (SELECT wamid FROM inbound)")
    con.execute("DROP VIEW stage_identities")
    drop_forgotten(con, "stage_new", "ts", forgotten)
    new = con.execute(f"""
        INSERT INTO inbound BY NAME
        SELECT wamid, citizen_id, ts, type, coalesce(kind, 'ignored') AS kind, keyword,
               captured_name, file, line, topic, form,
               CASE WHEN kind IN {REPLAYED_KINDS} OR ts >= $cutoff THEN text END AS text
        FROM stage_new""", {"cutoff": retention_cutoff(settings)}).fetchall()[0][0]
    s.messages += new
    s.duplicates += staged - new
    s.kinds = dict(con.execute(
        "SELECT coalesce(kind, 'ignored'), count(*) FROM stage_new GROUP BY ALL").fetchall())
    con.execute("""
        CREATE OR REPLACE TEMP TABLE stage_citizens AS
        SELECT citizen_id, max(wa_id) AS wa_id, max(user_id) AS user_id,
               arg_max(profile_name, (ts, wamid)) AS profile_name, max(ts) AS last_inbound_at
        FROM stage_new GROUP BY citizen_id""")
    con.execute("""
        UPDATE citizens SET
            wa_id = coalesce(citizens.wa_id, n.wa_id),
            user_id = coalesce(citizens.user_id, n.user_id),
            profile_name = CASE WHEN n.last_inbound_at > citizens.last_inbound_at
                THEN n.profile_name ELSE citizens.profile_name END,
            last_inbound_at = greatest(citizens.last_inbound_at, n.last_inbound_at)
        FROM stage_citizens n WHERE citizens.citizen_id = n.citizen_id""")
    con.execute("""
        INSERT INTO citizens SELECT * FROM stage_citizens
        WHERE citizen_id NOT IN (SELECT citizen_id FROM citizens)""")
    return con.execute(f"""
        INSERT INTO stage_affected
        SELECT DISTINCT citizen_id FROM stage_new WHERE kind IN {REPLAYED_KINDS}
        """).fetchall()[0][0]


# Messages that are not keywords: what the citizen wrote is kept this long, then only
# what it was (kind, the keyword it was close to, its masked form) remains.
def retention_cutoff(settings: Settings):
    return settings.current_time() - timedelta(days=settings.retention_days)


def drop_old_texts(con: duckdb.DuckDBPyConnection, settings: Settings) -> int:
    """Forget the text of messages older than ``retention_days`` that are not keywords
    (a keyword's text is the consent record). Returns how many were dropped."""
    cutoff = retention_cutoff(settings)
    return con.execute(f"""
        UPDATE inbound SET text = NULL
        WHERE text IS NOT NULL AND kind NOT IN {REPLAYED_KINDS} AND ts < ?""",
        [cutoff]).fetchall()[0][0]
