"""Planning: due announcements x active subscribers become deliveries, in SQL (one
statement per announcement and range of about 100,000 citizens).

Deliveries are keyed deterministically (``a:<announcement_id>:<citizen_id>``),
so planning again, or after the database was rebuilt from the logs, adds only
what is missing (an anti-join on announcement and citizen); and before anything
is sent, :func:`runner.send.settle.settle` marks as already sent whatever the
status webhooks or the outbox show went out, whatever the database thought.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import duckdb

# One definition of quiet hours for sending and for the reviewer's "when it goes out".
from ..announcements.schedule import in_quiet_hours  # noqa: F401 (re-exported)

if TYPE_CHECKING:
    from ..announcements.model import Announcement
    from ..settings import Settings

@dataclass
class PlanSummary:
    planned: dict[str, int] = field(default_factory=dict)  # announcement id -> new deliveries
    cancelled: int = 0  # queued deliveries of cancelled announcements
    expired: int = 0    # queued deliveries of announcements that expired before going out
    left: int = 0       # queued to citizens no longer active (left, asked to leave, blocked)


def snapshot(con: duckdb.DuckDBPyConnection, announcements: list[Announcement],
             now: datetime) -> None:
    """Record each announcement's front matter as it is now (a later commit may cancel it)."""
    rows = [
        (a.id, a.file, a.title, a.category, a.urgency, a.effective_publish_at,
         a.effective_expires_at, a.cancelled, now)
        for a in announcements
        if a.effective_publish_at is not None
    ]
    if not rows:
        return
    con.executemany(
        """
        INSERT INTO announcements (announcement_id, path, title, category, urgency,
                                   publish_at, expires_at, cancelled, planned_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (announcement_id) DO UPDATE SET
            path = excluded.path, title = excluded.title, category = excluded.category,
            urgency = excluded.urgency, publish_at = excluded.publish_at,
            expires_at = excluded.expires_at,
            -- once cancelled, always cancelled: un-cancelling must not resume a broadcast
            cancelled = announcements.cancelled OR excluded.cancelled
        """,
        rows,
    )


def plan(con: duckdb.DuckDBPyConnection, settings: Settings,
         announcements: list[Announcement], now: datetime) -> PlanSummary:
    """Snapshot ``announcements`` and create the deliveries of those due at ``now``."""
    summary = PlanSummary()
    snapshot(con, announcements, now)
    due = [a.id for a in announcements if a.is_due(now)]
    if due:
        bounds = _citizen_bounds(con)
        summary.planned = {a: sum(_create(con, a, lo, hi, now) for lo, hi in bounds) for a in due}
    summary.left = _close_left(con, now)
    summary.cancelled = _close(con, "cancelled", "a.cancelled", now)
    summary.expired = _close(con, "skipped", "a.expires_at <= $now", now, reason="expired")
    return summary


# Deliveries created per INSERT. DuckDB holds an INSERT's rows in memory until it
# commits: one statement for a 1,000,000 audience peaked at 455 MB.
BATCH = 100_000


def _citizen_bounds(con) -> list[tuple[str, str | None]]:
    """Ranges of citizen ids of about BATCH active subscribers each, from a sample."""
    active = con.execute("SELECT count(*) FROM subscribers WHERE state = 'active'").fetchone()[0]
    parts = -(-active // BATCH)
    if parts <= 1:
        return [("", None)]
    sample = sorted(row[0] for row in con.execute(
        "SELECT citizen_id FROM (SELECT citizen_id FROM subscribers WHERE state = 'active') "
        "USING SAMPLE reservoir(10000 ROWS)").fetchall())
    cuts = sorted({sample[len(sample) * k // parts] for k in range(1, parts)} - {""})
    return list(zip(["", *cuts], [*cuts, None], strict=True))


def _create(con, announcement_id: str, lo: str, hi: str | None, now: datetime) -> int:
    """One delivery per active subscriber in [lo, hi) who has none for this announcement yet.

    The anti-join on (announcement, citizen) is what keeps planning from creating a
    second row; ``ON CONFLICT`` on the key would hold every new key in memory (+137 MB
    at 1,000,000). Rows go in citizen order: the range filters then skip whole blocks.
    """
    upper = "AND citizen_id < $hi" if hi is not None else ""
    return con.execute(
        f"""
        INSERT INTO deliveries (delivery_id, kind, announcement_id, citizen_id, state,
                                created_at, updated_at)
        SELECT 'a:' || $ann || ':' || citizen_id, 'announcement', $ann, citizen_id,
               'queued', $now, $now
        FROM subscribers s
        WHERE state = 'active' AND citizen_id >= $lo {upper}
          AND NOT EXISTS (SELECT 1 FROM deliveries x
                          WHERE x.announcement_id = $ann AND x.citizen_id = s.citizen_id
                            AND x.citizen_id >= $lo {upper.replace("citizen_id", "x.citizen_id")})
        ORDER BY citizen_id
        """,
        {"ann": announcement_id, "lo": lo, "now": now, **({"hi": hi} if hi is not None else {})},
    ).fetchone()[0]


def _close_left(con, now: datetime) -> int:
    """Sending stops at once for a citizen who is no longer active: one who left, asked
    staff to leave (a moderated unsubscription, pending) or was blocked."""
    return con.execute(
        """
        UPDATE deliveries SET state = 'skipped', error_title = 'not_subscribed', updated_at = $now
        FROM subscribers s
        WHERE deliveries.citizen_id = s.citizen_id AND s.state <> 'active'
          AND deliveries.kind = 'announcement' AND deliveries.state = 'queued'
        """,
        {"now": now},
    ).fetchone()[0]


def _close(con, state: str, condition: str, now: datetime, reason: str | None = None) -> int:
    """Take queued deliveries of cancelled/expired announcements off the queue."""
    return con.execute(
        f"""
        UPDATE deliveries SET state = '{state}', error_title = $reason, updated_at = $now
        FROM announcements a
        WHERE deliveries.announcement_id = a.announcement_id
          AND deliveries.state = 'queued' AND ({condition})
        """,
        {"now": now, "reason": reason},
    ).fetchone()[0]
