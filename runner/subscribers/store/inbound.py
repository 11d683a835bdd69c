"""Inbound messages from the stage into ``inbound`` and ``citizens``: who sent each
(citizen ids), what it is (the verdicts on its text, or a pick from the topic menu),
and each stored once (by wamid).

Temporary tables, each made here and dropped by :func:`forget` (or, for
``stage_identities``, once the new messages are known):

- ``stage_links`` (user_id, wa_id): business-scoped ids whose number is known;
- ``stage_identities`` (view over ``stage_messages``): each message's identity, the
  number when known, else the business-scoped id;
- ``new_ids`` (identity, citizen_id): the pseudonyms of identities not seen before,
  hashed in Python; ``stage_ids``: every identity's citizen id;
- ``stage_verdicts`` (text, kind, keyword, captured_name, topic, form): each distinct
  text classified in Python; ``stage_picks`` (reply_id, topic): the menu picks;
- ``stage_new``: the messages not stored before, one row per wamid;
- ``stage_citizens``: their senders, as the new messages describe them.

The senders whose state must be replayed go into ``stage_affected`` (:mod:`.subscriber_states`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from ...db import temp_table
from ...vocabulary import IGNORED, REPLAYED_KINDS, TOPIC
from .erasure import Forget, drop_forgotten

if TYPE_CHECKING:
    import duckdb

# Message types whose text is classified (keywords); any other is ignored.
CLASSIFIED_TYPES = ("text", "button", "interactive")


def link_identities(con: duckdb.DuckDBPyConnection) -> None:
    """Each staged message's identity: the number when Meta sends it, else the number
    learnt from a message carrying both, else the business-scoped id."""
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


def unknown_identities(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The identities of staged messages the database has no citizen for."""
    return [r[0] for r in con.execute("""
        SELECT DISTINCT identity FROM stage_identities WHERE identity NOT IN (
            SELECT coalesce(wa_id, user_id) FROM citizens)""").fetchall()]


def stage_ids(con: duckdb.DuckDBPyConnection, identities: Sequence[str],
              citizen_ids: Sequence[str]) -> None:
    """Every staged identity's citizen id: the known ones, and these new ones."""
    temp_table(con, "new_ids", identity=("VARCHAR", identities),
               citizen_id=("VARCHAR", citizen_ids))
    con.execute("""
        CREATE OR REPLACE TEMP TABLE stage_ids AS
        SELECT coalesce(wa_id, user_id) AS identity, citizen_id FROM citizens
        UNION ALL SELECT identity, citizen_id FROM new_ids""")


def orphans(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """(citizen id, number) of citizens first seen only by their business-scoped id
    whose number is now known."""
    return con.execute("""
        SELECT c.citizen_id, l.wa_id FROM citizens c JOIN stage_links l USING (user_id)
        WHERE c.wa_id IS NULL""").fetchall()


def rekey(con: duckdb.DuckDBPyConnection, old: str, new: str, wa_id: str) -> None:
    """Move a citizen known by ``old`` (a business-scoped id's pseudonym) to ``new`` (their
    number's): messages and deliveries follow, their state is replayed under ``new``."""
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


def texts(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The distinct texts of the staged messages whose type is classified."""
    return [r[0] for r in con.execute(
        f"SELECT DISTINCT text FROM stage_messages WHERE type IN {CLASSIFIED_TYPES} "
        "AND text IS NOT NULL").fetchall()]


def stage_verdicts(con: duckdb.DuckDBPyConnection, texts: Sequence[str],
                   **columns: Sequence[str | None]) -> None:
    """What each text is: ``kind``, ``keyword``, ``captured_name``, ``topic``, ``form``
    (lists in the order of ``texts``)."""
    temp_table(con, "stage_verdicts", text=("VARCHAR", texts),
               **{name: ("VARCHAR", values) for name, values in columns.items()})


def reply_ids(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The distinct ids of the rows and buttons tapped in the staged messages."""
    return [r[0] for r in con.execute(
        "SELECT DISTINCT reply_id FROM stage_messages WHERE reply_id IS NOT NULL").fetchall()]


def stage_picks(con: duckdb.DuckDBPyConnection, reply_ids: Sequence[str],
                topics: Sequence[str]) -> None:
    """The reply ids that are picks in the topic menu, and the topic each picks."""
    temp_table(con, "stage_picks", reply_id=("VARCHAR", reply_ids),
               topic=("VARCHAR", topics))


def staged_count(con: duckdb.DuckDBPyConnection) -> int:
    """The usable messages staged, repetitions included."""
    return con.execute("SELECT count(*) FROM stage_messages").fetchall()[0][0]


def new_messages(con: duckdb.DuckDBPyConnection, forgotten: Sequence[Forget]) -> None:
    """``stage_new``: one row per wamid (Meta retries) not stored before, at the first
    place it appears in the logs, with its sender and verdict; a message already stored
    keeps the first place it appears in, whatever the reading order. What forgotten
    citizens sent up to their erasure is left out."""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE stage_new AS
        SELECT m.wamid, i.citizen_id, m.ts, m.type, m.text,
               CASE WHEN p.topic IS NOT NULL THEN '{TOPIC}'
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
    con.execute("""
        UPDATE inbound SET file = n.file, line = n.line FROM stage_new n
        WHERE inbound.wamid = n.wamid
          AND (n.file < inbound.file OR (n.file = inbound.file AND n.line < inbound.line))""")
    con.execute("DELETE FROM stage_new WHERE wamid IN (SELECT wamid FROM inbound)")
    con.execute("DROP VIEW stage_identities")
    drop_forgotten(con, "stage_new", forgotten)


def insert_new(con: duckdb.DuckDBPyConnection, cutoff: datetime) -> int:
    """Store the new messages; a text past retention (``cutoff``: an old log read again)
    is never stored, unless the message is replayed (a keyword's text is the consent
    record). Returns how many."""
    return con.execute(f"""
        INSERT INTO inbound BY NAME
        SELECT wamid, citizen_id, ts, type, coalesce(kind, '{IGNORED}') AS kind, keyword,
               captured_name, file, line, topic, form,
               CASE WHEN kind IN {REPLAYED_KINDS} OR ts >= $cutoff THEN text END AS text
        FROM stage_new""", {"cutoff": cutoff}).fetchall()[0][0]


def new_by_kind(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """The new messages by kind."""
    return dict(con.execute(
        f"SELECT coalesce(kind, '{IGNORED}'), count(*) FROM stage_new GROUP BY ALL").fetchall())


def update_senders(con: duckdb.DuckDBPyConnection) -> None:
    """The senders of the new messages into ``citizens``: their identities, their latest
    profile name and when they last wrote."""
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


def affect_replayed(con: duckdb.DuckDBPyConnection) -> int:
    """The citizens who sent a replayed message into ``stage_affected``; how many."""
    return con.execute(f"""
        INSERT INTO stage_affected
        SELECT DISTINCT citizen_id FROM stage_new WHERE kind IN {REPLAYED_KINDS}
        """).fetchall()[0][0]


def forget(con: duckdb.DuckDBPyConnection) -> None:
    """Drop this step's tables."""
    for table in ("stage_links", "new_ids", "stage_ids", "stage_verdicts", "stage_picks",
                  "stage_new", "stage_citizens"):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    con.execute("DROP VIEW IF EXISTS stage_identities")


def drop_old_texts(con: duckdb.DuckDBPyConnection, cutoff: datetime) -> int:
    """Forget the text of messages older than ``cutoff`` that are not replayed (a
    keyword's text is the consent record). Returns how many were dropped."""
    return con.execute(f"""
        UPDATE inbound SET text = NULL
        WHERE text IS NOT NULL AND kind NOT IN {REPLAYED_KINDS} AND ts < ?""",
        [cutoff]).fetchall()[0][0]
