"""The figures a send reads back: how many are queued, went out or are in doubt, the
table of a run, and what a run left an emergency's audience without.

The left-out snapshot is two temporary tables (``left_out_watched``,
``left_out_before``: the store's contract, :mod:`runner.send.store`), made by
:func:`watch_emergencies` before the run changes anything and dropped by
:func:`forget_watched` once read.
"""

from __future__ import annotations

import duckdb

from ...db import count
from ...vocabulary import (
    ACTIVE,
    ANNOUNCEMENT,
    ARRIVED,
    FAILED,
    NOT_MADE,
    OPEN,
    QUEUED,
    REACHED,
    REPLY_KINDS,
    SENDING,
    SENT,
    SKIPPED,
    sql,
)
from .fragments import URGENT, drill


def in_flight(con: duckdb.DuckDBPyConnection) -> int:
    """Deliveries left ``sending``: their request went out, the answer is not known."""
    return count(con.execute(f"SELECT count(*) FROM deliveries WHERE state = '{SENDING}'"))


def queued_per_announcement(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Queued deliveries per announcement."""
    return dict(con.execute(
        f"SELECT announcement_id, count(*) FROM deliveries "
        f"WHERE state = '{QUEUED}' AND kind = '{ANNOUNCEMENT}' GROUP BY ALL").fetchall())


def reached_per_announcement(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Per announcement, the deliveries that reached a citizen (Meta accepted them)."""
    return dict(con.execute(
        f"SELECT announcement_id, count(*) FROM deliveries WHERE kind = '{ANNOUNCEMENT}' "
        f"AND state IN {sql(REACHED)} GROUP BY ALL ORDER BY ALL").fetchall())


def run_table(con: duckdb.DuckDBPyConnection, ids: list[str]) -> list[tuple]:
    """Per announcement of ``ids`` (and per reply kind): audience, sent, delivered/read,
    failed, queued or in flight, skipped or cancelled."""
    replies = sql(REPLY_KINDS)
    return con.execute(
        f"""
        SELECT CASE WHEN kind = '{ANNOUNCEMENT}' THEN announcement_id ELSE kind END AS name,
               count(*), count_if(state = '{SENT}'),
               count_if(state IN {sql(ARRIVED)}), count_if(state = '{FAILED}'),
               count_if(state IN {sql(OPEN)}),
               count_if(state IN {sql(NOT_MADE)})
        FROM deliveries
        WHERE announcement_id IN (SELECT unnest($ids::VARCHAR[]))
           OR kind IN {replies}
        GROUP BY 1 ORDER BY (name IN {replies}), name
        """,
        {"ids": ids},
    ).fetchall()


# --- what a run left an emergency's audience without ----------------------------------------

def watch_emergencies(con: duckdb.DuckDBPyConnection, due: list[str]) -> None:
    """Snapshot the deliveries of the announcements ``due`` and of the urgent ones still
    queued or in flight, as they are now: their state and attempts.

    By a 64-bit hash of the id, not the id: an emergency to a million then fits the
    send's memory cap (a collision could only hide one change of state)."""
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE left_out_watched AS
        SELECT unnest($due::VARCHAR[]) AS announcement_id
        UNION
        SELECT DISTINCT announcement_id FROM deliveries
        WHERE kind = '{ANNOUNCEMENT}' AND state IN {sql(OPEN)}
          AND announcement_id IN ({URGENT})
        """, {"due": due})
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE left_out_before AS
        SELECT hash(delivery_id) AS h, state, attempts FROM deliveries
        WHERE kind = '{ANNOUNCEMENT}'
          AND announcement_id IN (SELECT announcement_id FROM left_out_watched)
        """)


def left_out_rows(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """Since the snapshot: the watched deliveries newly skipped or failed (or skipped or
    failed again) for citizens still active, of announcements that are not drills, by
    announcement and reason: (announcement, state, skip reason, error code, error title,
    count), most first within an announcement."""
    return con.execute(
        f"""
        SELECT d.announcement_id, d.state,
               CASE WHEN d.state = '{SKIPPED}' THEN d.error_title END AS reason,
               d.error_code, max(d.error_title), count(*)
        FROM deliveries d
        JOIN subscribers s ON s.citizen_id = d.citizen_id AND s.state = '{ACTIVE}'
        JOIN announcements a ON a.announcement_id = d.announcement_id
        LEFT JOIN left_out_before b ON b.h = hash(d.delivery_id)
        WHERE d.kind = '{ANNOUNCEMENT}' AND d.state IN {sql((SKIPPED, FAILED))}
          AND d.announcement_id IN (SELECT announcement_id FROM left_out_watched)
          AND NOT {drill('a')}
          AND (b.h IS NULL OR b.state <> d.state
               OR b.attempts IS DISTINCT FROM d.attempts)
        GROUP BY d.announcement_id, d.state, reason, d.error_code
        ORDER BY d.announcement_id, count(*) DESC
        """).fetchall()


def forget_watched(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the left-out snapshot."""
    con.execute("DROP TABLE IF EXISTS left_out_watched")
    con.execute("DROP TABLE IF EXISTS left_out_before")
