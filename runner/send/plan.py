"""Planning: due announcements x their audience become deliveries, in SQL
(:mod:`.store.planning`: one statement per announcement and range of about 100,000
citizens). The audience
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

from datetime import datetime
from typing import TYPE_CHECKING

import duckdb

# One definition of quiet hours for sending and for the reviewer's "when it goes out".
from ..announcements.schedule import in_quiet_hours  # noqa: F401 (re-exported)
from ..subscribers.lifecycle.topics import Topics
from ..whatsapp.answers import PAYLOAD_CODES
from .audience import audience, reach
from .results import PlanSummary
from .store import audiences, planning, transitions

if TYPE_CHECKING:
    from ..announcements.model import Announcement
    from ..config import Settings


def snapshot(con: duckdb.DuckDBPyConnection, announcements: list[Announcement],
             now: datetime) -> None:
    """Record each announcement's front matter as it is now (a later commit may cancel it)."""
    planning.record_announcements(con, [
        (a.id, a.file, a.title, a.category, a.urgency, a.effective_publish_at,
         a.effective_expires_at, a.cancelled, now, a.updates, a.cancels, a.status)
        for a in announcements
        if a.effective_publish_at is not None
    ])


def plan(con: duckdb.DuckDBPyConnection, settings: Settings,
         announcements: list[Announcement], now: datetime) -> PlanSummary:
    """Snapshot ``announcements`` and create the deliveries of those due at ``now``."""
    summary = PlanSummary()
    snapshot(con, announcements, now)
    # A correction or withdrawal whose quoted sends Meta refused as malformed, and not one
    # of which went out, goes on without the quote. Whether Meta takes a quote on a
    # template is not documented; a correction must reach people either way. The send
    # that met the refusal halted the announcement after a few (its deliveries stayed
    # queued): this, at the next run's planning, sends the rest.
    summary.unquoted = transitions.drop_refused_quotes(con, now, PAYLOAD_CODES)
    due = [a for a in announcements if a.is_due(now)]
    # Withdrawn announcements are cancelled for good: their queued deliveries are closed
    # below, in this same planning, and none is planned again.
    planning.cancel_announcements(con, [a.cancels for a in due if a.cancels])
    stopped = planning.cancelled_announcements(con)
    due = [a for a in due if a.id not in stopped]
    if due:
        bounds = _citizen_bounds(con)
        topics = Topics(settings)
        for a in due:
            who = audience(con, settings, a, topics)
            summary.planned[a.id] = sum(planning.create_deliveries(con, a.id, who, lo, hi, now)
                                        for lo, hi in bounds)
            summary.reach[a.id] = figures = reach(con, who)
            planning.record_reach(con, a.id, figures.members, figures.reachable)
        audiences.forget(con)
    # A withdrawn announcement is owed to nobody: cancelled first, whatever its audience
    # did meanwhile (or the reports would count a citizen who paused as not reached).
    summary.cancelled = transitions.close_cancelled(con, now)
    # Sending stops at once for a citizen who is no longer active: one who left, asked
    # staff to leave (a moderated unsubscription, pending), was blocked, or paused.
    summary.left = transitions.close_left(con, now)
    summary.expired = transitions.close_expired(con, now)
    return summary


# Deliveries created per INSERT. DuckDB holds an INSERT's rows in memory until it
# commits: one statement for a whole million-citizen audience held them all
# (docs/measurements.md).
BATCH = 100_000


def _citizen_bounds(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str | None]]:
    """Ranges of citizen ids of about BATCH active subscribers each, from a sample."""
    parts = -(-audiences.active_count(con) // BATCH)
    if parts <= 1:
        return [("", None)]
    sample = audiences.active_sample(con, 10_000)
    cuts = sorted({sample[len(sample) * k // parts] for k in range(1, parts)} - {""})
    return list(zip(["", *cuts], [*cuts, None], strict=True))
