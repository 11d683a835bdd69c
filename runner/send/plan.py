"""Planning: due announcements x their audience become deliveries, in SQL (one
statement per announcement and range of about 100,000 citizens). The audience
(:mod:`.audience`) is the subscribers of the announcement's topic, the
recipients of the original for a correction or withdrawal, or the staff test
group for a drill; its figures at this planning are kept with the announcement
(``announcements.audience``, ``reachable``): what the dry run shows, and how the
public channels tell "nobody to send to" from "not sent". A withdrawal cancels
what the original still had queued, before anything is sent.

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
from ..subscribers.lifecycle.topics import Topics
from ..vocabulary import CITIZEN_PAUSED, EXPIRED, NOT_SUBSCRIBED, PAUSED, REACHED, SENDING, sql
from ..whatsapp.answers import PAYLOAD_CODES
from .audience import ACTIVE_SUBSCRIBERS, Audience, Reach, active_count, audience, reach

if TYPE_CHECKING:
    from ..announcements.model import Announcement
    from ..config import Settings


@dataclass
class PlanSummary:
    planned: dict[str, int] = field(default_factory=dict)  # announcement id -> new deliveries
    reach: dict[str, Reach] = field(default_factory=dict)  # announcement id -> its audience
    cancelled: int = 0  # queued deliveries of cancelled announcements
    expired: int = 0    # queued deliveries of announcements that expired before going out
    left: int = 0       # queued to citizens no longer active (left, asked to leave,
                        # blocked, paused)
    unquoted: int = 0   # deliveries of corrections going on without the quote Meta refused


def snapshot(con: duckdb.DuckDBPyConnection, announcements: list[Announcement],
             now: datetime) -> None:
    """Record each announcement's front matter as it is now (a later commit may cancel it)."""
    rows = [
        (a.id, a.file, a.title, a.category, a.urgency, a.effective_publish_at,
         a.effective_expires_at, a.cancelled, now, a.updates, a.cancels, a.status)
        for a in announcements
        if a.effective_publish_at is not None
    ]
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


def plan(con: duckdb.DuckDBPyConnection, settings: Settings,
         announcements: list[Announcement], now: datetime) -> PlanSummary:
    """Snapshot ``announcements`` and create the deliveries of those due at ``now``."""
    summary = PlanSummary()
    snapshot(con, announcements, now)
    summary.unquoted = _unquote_refused(con, now)
    due = [a for a in announcements if a.is_due(now)]
    _withdraw(con, [a.cancels for a in due if a.cancels])
    stopped = {row[0] for row in con.execute(
        "SELECT announcement_id FROM announcements WHERE cancelled").fetchall()}
    due = [a for a in due if a.id not in stopped]
    if due:
        bounds = _citizen_bounds(con)
        topics = Topics(settings)
        for a in due:
            who = audience(con, settings, a, topics)
            summary.planned[a.id] = sum(_create(con, a.id, who, lo, hi, now) for lo, hi in bounds)
            summary.reach[a.id] = figures = reach(con, who)
            con.execute("UPDATE announcements SET audience = ?, reachable = ? "
                        "WHERE announcement_id = ?", [figures.members, figures.reachable, a.id])
    summary.left = _close_left(con, now)
    summary.cancelled = _close(con, "cancelled", "a.cancelled", now)
    summary.expired = _close(con, "skipped", "a.expires_at <= $now", now, reason=EXPIRED)
    return summary


# Deliveries created per INSERT. DuckDB holds an INSERT's rows in memory until it
# commits: one statement for a 1,000,000 audience peaked at 455 MB.
BATCH = 100_000


def _citizen_bounds(con) -> list[tuple[str, str | None]]:
    """Ranges of citizen ids of about BATCH active subscribers each, from a sample."""
    parts = -(-active_count(con) // BATCH)
    if parts <= 1:
        return [("", None)]
    sample = sorted(row[0] for row in con.execute(
        f"SELECT citizen_id FROM ({ACTIVE_SUBSCRIBERS}) USING SAMPLE reservoir(10000 ROWS)"
        ).fetchall())
    cuts = sorted({sample[len(sample) * k // parts] for k in range(1, parts)} - {""})
    return list(zip(["", *cuts], [*cuts, None], strict=True))


def _create(con, announcement_id: str, who: Audience, lo: str, hi: str | None,
            now: datetime) -> int:
    """One delivery per citizen of the audience in [lo, hi) who has none for this
    announcement yet (with the wamid it quotes, for a correction or withdrawal).

    The anti-join on (announcement, citizen) is what keeps planning from creating a
    second row; ``ON CONFLICT`` on the key would hold every new key in memory (+137 MB
    at 1,000,000). Rows go in citizen order: the range filters then skip whole blocks.
    """
    source, params = who
    upper = "AND citizen_id < $hi" if hi is not None else ""
    return con.execute(
        f"""
        INSERT INTO deliveries (delivery_id, kind, announcement_id, citizen_id, state,
                                created_at, updated_at, reply_to)
        SELECT 'a:' || $ann || ':' || citizen_id, 'announcement', $ann, citizen_id,
               'queued', $now, $now, reply_to
        FROM ({source}) s
        WHERE citizen_id >= $lo {upper}
          AND NOT EXISTS (SELECT 1 FROM deliveries x
                          WHERE x.announcement_id = $ann AND x.citizen_id = s.citizen_id
                            AND x.citizen_id >= $lo {upper.replace("citizen_id", "x.citizen_id")})
        ORDER BY citizen_id
        """,
        {"ann": announcement_id, "lo": lo, "now": now, **params,
         **({"hi": hi} if hi is not None else {})},
    ).fetchone()[0]


def _close_left(con, now: datetime) -> int:
    """Sending stops at once for a citizen who is no longer active: one who left, asked
    staff to leave (a moderated unsubscription, pending), was blocked, or paused."""
    return con.execute(
        """
        UPDATE deliveries SET state = 'skipped', updated_at = $now,
               error_title = CASE WHEN s.state = $paused THEN $pause_reason ELSE $reason END
        FROM subscribers s
        WHERE deliveries.citizen_id = s.citizen_id AND s.state <> 'active'
          AND deliveries.kind = 'announcement' AND deliveries.state = 'queued'
          -- a drill goes to the staff test group, subscribed or not
          AND deliveries.announcement_id NOT IN (
              SELECT announcement_id FROM announcements WHERE status IN ('exercise', 'test'))
        """,
        {"now": now, "reason": NOT_SUBSCRIBED, "paused": PAUSED,
         "pause_reason": CITIZEN_PAUSED},
    ).fetchone()[0]


def _unquote_refused(con, now: datetime) -> int:
    """A correction or withdrawal whose quoted sends Meta refused as malformed, and not one
    of which went out: its other deliveries go without the quote, and the refused ones
    are queued again (once: they no longer quote). Whether Meta takes a quote on a
    template is not documented; a correction must reach people either way.

    The send that met the refusal halted the announcement after a few (its deliveries
    stayed queued): this, at the next run's planning, sends the rest."""
    refused = "state = 'failed' AND list_contains($codes::INTEGER[], error_code)"
    return con.execute(
        f"""
        UPDATE deliveries SET reply_to = NULL, updated_at = $now,
               state = CASE WHEN state = 'failed' THEN 'queued' ELSE state END
        WHERE kind = 'announcement' AND reply_to IS NOT NULL
          AND (state = 'queued' OR ({refused}))
          AND announcement_id IN (
              SELECT announcement_id FROM deliveries
              WHERE kind = 'announcement' AND reply_to IS NOT NULL
              GROUP BY announcement_id
              HAVING count_if({refused}) > 0
                 AND count_if(state IN {sql((SENDING, *REACHED))}) = 0)
        """,
        {"now": now, "codes": sorted(PAYLOAD_CODES)},
    ).fetchone()[0]


def _withdraw(con, originals: list[str]) -> None:
    """Withdrawn announcements are cancelled for good: their queued deliveries are
    closed below, in this same planning, and none is planned again."""
    if originals:
        con.execute("UPDATE announcements SET cancelled = true "
                    "WHERE announcement_id IN (SELECT unnest($ids::VARCHAR[]))",
                    {"ids": originals})


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
