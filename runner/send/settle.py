"""Settling: before any send, believe the status webhooks and the outbox over the database.

A run killed mid-send leaves deliveries ``sending``. Those whose last attempt Meta
refused (an error code in the journal) never went out: back to the queue. The
others were in flight: whether Meta took them is not known. The status webhooks
(``biz_opaque_callback_data`` = ``banditore:<delivery_id>``) and the outbox know:
what they show went out is marked so. An emergency with no trace is sent again at
once (a duplicate is better than a citizen left out); a normal or high one waits
for its status webhooks, and goes again only after ``AMBIGUOUS_WAIT`` without one
(the next run after that).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import duckdb

from ..whatsapp.answers import NO_ANSWER_CODES
from .results import Settled
from .store import figures, transitions

# How long a normal or high send whose answer was lost waits for its status webhooks
# before it is sent again. Meta posts `sent` within seconds of accepting a message;
# half an hour covers a receiver that was briefly down (Meta retries its webhooks).
AMBIGUOUS_WAIT = timedelta(minutes=30)


def settle(con: duckdb.DuckDBPyConnection, now: datetime, outbox_path: Path | None, *,
           at_once: bool = False) -> Settled:
    """Before any send: believe the status webhooks and the outbox over the database.

    Every delivery whose ``banditore:<delivery_id>`` came back in a status
    webhook takes that status (a queued one after a rebuild, an ambiguous
    ``sending`` one after a crash, a sent one now delivered or failed). Then
    ``sending`` ones found in the outbox are sent. Of the rest, those Meta refused,
    emergencies, and those older than ``AMBIGUOUS_WAIT`` go back to the queue; the
    others wait for their statuses. ``at_once``: every one goes back (the transport
    is the outbox, which is the whole truth about what left).
    """
    result = Settled()
    result.ambiguous = figures.in_flight(con)
    result.from_statuses = transitions.settle_from_statuses(con, now)
    if outbox_path is not None:
        result.from_outbox = transitions.settle_from_outbox(con, now, outbox_path)
    result.requeued = transitions.requeue_ambiguous(
        con, now, at_once=at_once, no_answer=NO_ANSWER_CODES, patience=now - AMBIGUOUS_WAIT)
    result.awaiting = figures.in_flight(con)
    return result
