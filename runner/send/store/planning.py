"""Planning's SQL: the announcements as the repository has them now, and the deliveries
created for their audiences. Closing deliveries (cancelled, expired, left) changes
their state: that is :mod:`.transitions`'.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import duckdb

from ...db import count
from ...vocabulary import ANNOUNCEMENT, QUEUED
from .audiences import Audience


def record_announcements(con: duckdb.DuckDBPyConnection, rows: Sequence[tuple]) -> None:
    """Each announcement's front matter as it is now: (id, path, title, category, urgency,
    publish_at, expires_at, cancelled, planned_at, updates, cancels, status)."""
    if not rows:
        return
    con.executemany(
        """
        INSERT INTO announcements (announcement_id, path, title, category, urgency,
                                   publish_at, expires_at, cancelled, planned_at,
                                   updates, cancels, status)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (announcement_id) DO UPDATE SET
            path = excluded.path, title = excluded.title, category = excluded.category,
            urgency = excluded.urgency, publish_at = excluded.publish_at,
            expires_at = excluded.expires_at, updates = excluded.updates,
            cancels = excluded.cancels, status = excluded.status,
            -- once cancelled, always cancelled: un-cancelling must not resume a broadcast
            cancelled = announcements.cancelled OR excluded.cancelled
        """,
        rows,
    )


def cancel_announcements(con: duckdb.DuckDBPyConnection, ids: list[str]) -> None:
    """Mark these announcements cancelled, for good."""
    if ids:
        con.execute("UPDATE announcements SET cancelled = true "
                    "WHERE announcement_id IN (SELECT unnest($ids::VARCHAR[]))", {"ids": ids})


def cancelled_announcements(con: duckdb.DuckDBPyConnection) -> set[str]:
    """The ids of every announcement ever cancelled or withdrawn."""
    return {row[0] for row in con.execute(
        "SELECT announcement_id FROM announcements WHERE cancelled").fetchall()}


def create_deliveries(con: duckdb.DuckDBPyConnection, announcement_id: str, who: Audience,
                      lo: str, hi: str | None, now: datetime) -> int:
    """One queued delivery per citizen of the audience in [lo, hi) who has none for this
    announcement yet (with the wamid it quotes, for a correction or withdrawal).

    The anti-join on (announcement, citizen) is what keeps planning from creating a
    second row; ``ON CONFLICT`` on the key would hold every new key in memory. Rows go
    in citizen order: the range filters then skip whole blocks.
    """
    source, params = who
    upper = "AND citizen_id < $hi" if hi is not None else ""
    return count(con.execute(
        f"""
        INSERT INTO deliveries (delivery_id, kind, announcement_id, citizen_id, state,
                                created_at, updated_at, reply_to)
        SELECT 'a:' || $ann || ':' || citizen_id, '{ANNOUNCEMENT}', $ann, citizen_id,
               '{QUEUED}', $now, $now, reply_to
        FROM ({source}) s
        WHERE citizen_id >= $lo {upper}
          AND NOT EXISTS (SELECT 1 FROM deliveries x
                          WHERE x.announcement_id = $ann AND x.citizen_id = s.citizen_id
                            AND x.citizen_id >= $lo {upper.replace("citizen_id", "x.citizen_id")})
        ORDER BY citizen_id
        """,
        {"ann": announcement_id, "lo": lo, "now": now, **params,
         **({"hi": hi} if hi is not None else {})},
    ))


def record_reach(con: duckdb.DuckDBPyConnection, announcement_id: str, members: int,
                 reachable: int) -> None:
    """Keep an announcement's audience figures at this planning with it."""
    con.execute("UPDATE announcements SET audience = ?, reachable = ? WHERE announcement_id = ?",
                [members, reachable, announcement_id])
