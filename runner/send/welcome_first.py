"""Welcome first is an order, not a gate.

The welcome carries the privacy notice and how to leave, so a citizen's
announcement waits while a welcome of theirs can still go *in this run*: queued
(and welcomes are being sent) or in the engine's hands. Once the API accepts it
(journaled ``sent`` and folded before the next chunk; no status webhook, which
only a later run would read) the announcement goes, in the same run: the engine
asks the queue again for what the welcomes released. A welcome that cannot go
(the 24-hour window closed and there is no welcome template; failed, whatever
the code; a body Meta refused) is recorded with its reason and holds nothing.
An emergency (and a correction or withdrawal of one) never waits, and goes first.

The order is a condition of the queue's chunk queries (:mod:`.store.selection`).
Older versions skipped announcements behind a welcome that could not go
(``welcome_not_delivered``): :func:`release_held_back` puts those of announcements
still current back in the queue.
"""

from __future__ import annotations

from datetime import datetime

import duckdb

from .store import transitions


def release_held_back(con: duckdb.DuckDBPyConnection, now: datetime) -> int:
    """Announcements an older version skipped behind a welcome that could not go, or for
    want of a number where the citizen is now reachable (a business-scoped id is an
    address): back in the queue, if the announcement is still current."""
    return transitions.requeue_held_back(con, now)
