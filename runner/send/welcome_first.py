"""Welcome first is an order, not a gate: the SQL of that rule, in one place.

The welcome carries the privacy notice and how to leave, so a citizen's
announcement waits while a welcome of theirs can still go *in this run*: queued
(and welcomes are being sent) or in the engine's hands. Once the API accepts it
(journaled ``sent`` and folded before the next chunk; no status webhook, which
only a later run would read) the announcement goes, in the same run: the engine
asks the queue again for what the welcomes released. A welcome that cannot go
(the 24-hour window closed and there is no welcome template; failed, whatever
the code; a body Meta refused) is recorded with its reason and holds nothing.
An emergency (and a correction or withdrawal of one) never waits, and goes first.

Older versions skipped announcements behind a welcome that could not go
(``welcome_not_delivered``): :func:`release_held_back` puts those of announcements
still current back in the queue.
"""

from __future__ import annotations

from datetime import datetime

import duckdb

from ..vocabulary import NO_PHONE_NUMBER, WELCOME_NOT_DELIVERED
from .audience import address

# The announcements that never wait for a welcome and go before everything else: the
# emergencies, their corrections and withdrawals.
URGENT = """
    SELECT a.announcement_id FROM announcements a
    LEFT JOIN announcements o ON o.announcement_id = coalesce(a.updates, a.cancels)
    WHERE a.urgency = 'emergency' OR o.urgency = 'emergency'"""

# A condition on deliveries ``d`` (an announcement): it waits for a welcome that can
# still go in this run. ``sendable_kinds`` (the reply kinds the run sends: a kind
# whose body Meta refused is taken out), ``held`` (in a worker's hands or waiting
# for a retry) and ``urgent`` are the run's temporary tables (Queue.prepare).
AWAITS_WELCOME = """(d.announcement_id NOT IN (SELECT announcement_id FROM urgent)
    AND d.citizen_id IN (
        SELECT w.citizen_id FROM deliveries w
        WHERE w.kind = 'welcome'
          AND ((w.state = 'queued' AND 'welcome' IN (SELECT kind FROM sendable_kinds))
               OR w.delivery_id IN (SELECT delivery_id FROM held))))"""


def release_held_back(con: duckdb.DuckDBPyConnection, now: datetime) -> int:
    """Announcements an older version skipped behind a welcome that could not go, or for
    want of a number where the citizen is now reachable (a business-scoped id is an
    address): back in the queue, if the announcement is still current."""
    return con.execute(
        f"""
        UPDATE deliveries SET state = 'queued', error_title = NULL, updated_at = $now
        WHERE kind = 'announcement' AND state = 'skipped'
          AND (error_title = $lost OR (error_title = $no_address AND citizen_id IN (
                  SELECT citizen_id FROM citizens c WHERE {address()} IS NOT NULL)))
          AND announcement_id IN (
              SELECT announcement_id FROM announcements
              WHERE NOT cancelled AND publish_at <= $now
                AND (expires_at IS NULL OR expires_at > $now))
        """,
        {"now": now, "lost": WELCOME_NOT_DELIVERED, "no_address": NO_PHONE_NUMBER},
    ).fetchone()[0]
