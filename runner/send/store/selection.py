"""Which queued deliveries go next: the run's temporary tables (``sendable``,
``sendable_kinds``, ``held``, ``urgent``: the store's contract, :mod:`runner.send.store`)
and the queries the :class:`~runner.send.queue.Queue` takes its chunks with.

Welcome first is an order, not a gate (:mod:`runner.send.welcome_first`): a queued
announcement waits while a welcome of that citizen's can still go in this run, queued
(and welcomes are sendable) or in the engine's hands (``held``); an urgent one never
waits, and goes first.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

import duckdb

from ...db import count
from ...vocabulary import ANNOUNCEMENT, QUEUED, REPLY_KINDS, WELCOME, sql
from .fragments import URGENT, address

# A queued delivery as the engine takes it: delivery_id, citizen_id, address (the number,
# or the business-scoped id of a citizen known only by it), payload key, and the wamid
# its body quotes (None: no quote).
Row = tuple[str, str, str, str, str | None]

# A condition on deliveries ``d`` (an announcement): it waits for a welcome that can
# still go in this run.
_AWAITS_WELCOME = f"""(d.announcement_id NOT IN (SELECT announcement_id FROM urgent)
    AND d.citizen_id IN (
        SELECT w.citizen_id FROM deliveries w
        WHERE w.kind = '{WELCOME}'
          AND ((w.state = '{QUEUED}' AND '{WELCOME}' IN (SELECT kind FROM sendable_kinds))
               OR w.delivery_id IN (SELECT delivery_id FROM held))))"""

# Queued deliveries the run may send, not held by the engine (in a worker's hands or
# waiting for a retry), and no announcement before the citizen's welcome while that
# welcome can still go.
_QUEUED_SENDABLE = f"""d.state = '{QUEUED}' AND (d.kind IN (SELECT kind FROM sendable_kinds)
    OR (d.kind = '{ANNOUNCEMENT}' AND d.announcement_id IN (SELECT announcement_id FROM sendable)
        AND NOT {_AWAITS_WELCOME}))
    AND d.delivery_id NOT IN (SELECT delivery_id FROM held)"""

_REPLY_KINDS = sql(REPLY_KINDS)


def prepare(con: duckdb.DuckDBPyConnection, announcement_ids: list[str],
            kinds: list[str]) -> None:
    """Make the run's tables: these announcements and reply ``kinds`` sendable, nothing
    held, the urgent announcements as they are now."""
    con.execute("CREATE OR REPLACE TEMP TABLE sendable AS "
                "SELECT unnest(?::VARCHAR[]) AS announcement_id", [announcement_ids])
    con.execute("CREATE OR REPLACE TEMP TABLE sendable_kinds AS "
                "SELECT unnest(?::VARCHAR[]) AS kind", [kinds])
    con.execute("CREATE OR REPLACE TEMP TABLE held (delivery_id VARCHAR)")
    con.execute(f"CREATE OR REPLACE TEMP TABLE urgent AS {URGENT}")


def forget(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the run's tables."""
    for table in ("sendable", "sendable_kinds", "held", "urgent"):
        con.execute(f"DROP TABLE IF EXISTS {table}")


def queued_replies(con: duckdb.DuckDBPyConnection) -> int:
    """Queued replies, of every kind."""
    return count(con.execute(f"SELECT count(*) FROM deliveries WHERE state = '{QUEUED}' "
                             f"AND kind IN {_REPLY_KINDS}"))


def queued_sendable(con: duckdb.DuckDBPyConnection) -> int:
    """Queued replies and queued deliveries of the sendable announcements."""
    return count(con.execute(
        f"""
        SELECT count(*) FROM deliveries
        WHERE state = '{QUEUED}' AND (kind IN {_REPLY_KINDS}
              OR announcement_id IN (SELECT announcement_id FROM sendable))
        """))


def stop_kind(con: duckdb.DuckDBPyConnection, kind: str) -> None:
    """Select no more replies of ``kind`` in this run."""
    con.execute("DELETE FROM sendable_kinds WHERE kind = ?", [kind])


def stop_announcement(con: duckdb.DuckDBPyConnection, announcement_id: str) -> None:
    """Select no more deliveries of this announcement in this run."""
    con.execute("DELETE FROM sendable WHERE announcement_id = ?", [announcement_id])


def hold(con: duckdb.DuckDBPyConnection, held: Collection[str]) -> None:
    """The deliveries in the engine's hands now (``held``), replacing the last ones."""
    con.execute("DELETE FROM held")
    if held:
        con.execute("INSERT INTO held SELECT unnest(?::VARCHAR[])", [list(held)])


def next_group(con: duckdb.DuckDBPyConnection) -> tuple[str | None, int] | None:
    """The group to send next and its sendable deliveries: an announcement's id, or None
    for the replies. Urgent announcements first, then replies, then the rest by the time
    they were due; None when nothing is sendable."""
    group = con.execute(
        f"""
        SELECT d.announcement_id, count(*)
        FROM deliveries d LEFT JOIN announcements a USING (announcement_id)
        WHERE {_QUEUED_SENDABLE}
        GROUP BY ALL
        ORDER BY min(CASE WHEN d.kind <> '{ANNOUNCEMENT}' THEN 1
                          WHEN d.announcement_id IN (SELECT announcement_id FROM urgent)
                          THEN 0 ELSE 2 END),
                 min(a.publish_at), d.announcement_id NULLS FIRST
        LIMIT 1
        """).fetchall()
    return group[0] if group else None


def _of_group(announcement_id: str | None) -> tuple[str, dict]:
    if announcement_id is None:
        return "d.kind IN (SELECT kind FROM sendable_kinds)", {}
    return f"d.kind = '{ANNOUNCEMENT}' AND d.announcement_id = $ann", {"ann": announcement_id}


def group_sample(con: duckdb.DuckDBPyConnection, announcement_id: str | None,
                 size: int) -> list[str]:
    """The citizen ids of about ``size`` sendable deliveries of the group, in order."""
    where, params = _of_group(announcement_id)
    return sorted(row[0] for row in con.execute(
        f"SELECT citizen_id FROM (SELECT d.citizen_id FROM deliveries d "
        f"WHERE {_QUEUED_SENDABLE} AND {where}) USING SAMPLE reservoir({size} ROWS)",
        params).fetchall())


def chunk(con: duckdb.DuckDBPyConnection, announcement_id: str | None, size: int, *,
          upto: str | None, window: datetime, templated: list[str]) -> list[Row]:
    """Up to ``size`` sendable deliveries of the group, by citizen (up to ``upto``, when
    given): their rows as the engine takes them. A payload of ``templated`` kinds goes as
    its template (``<payload>-template``) to a citizen who last wrote before ``window``.

    The number is looked up for the chosen rows only: joining every queued delivery to
    citizens costs more than the sort.
    """
    where, params = _of_group(announcement_id)
    bound = ""
    if upto is not None:
        bound = "AND d.citizen_id <= $upto"
        params["upto"] = upto
    return con.execute(
        f"""
        WITH next AS (
            SELECT d.delivery_id, d.citizen_id, d.reply_to,
                   coalesce(d.payload, CASE WHEN d.kind = '{ANNOUNCEMENT}'
                                            THEN d.announcement_id ELSE d.kind END)
                       AS payload
            FROM deliveries d
            WHERE {_QUEUED_SENDABLE} AND {where} {bound}
            ORDER BY d.citizen_id
            LIMIT $n)
        SELECT next.delivery_id, next.citizen_id, {address()},
               CASE WHEN next.payload IN (SELECT unnest($templated::VARCHAR[]))
                     AND (c.last_inbound_at IS NULL OR c.last_inbound_at < $window)
                    THEN next.payload || '-template' ELSE next.payload END,
               next.reply_to
        FROM next JOIN citizens c ON c.citizen_id = next.citizen_id
        ORDER BY next.citizen_id
        """,
        {**params, "n": size, "window": window, "templated": templated},
    ).fetchall()
