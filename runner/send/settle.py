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

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import duckdb

from ..whatsapp import outbox
from ..whatsapp.answers import NO_ANSWER_CODES
from ..whatsapp.bodies import callback_delivery_id_sql

# How long a normal or high send whose answer was lost waits for its status webhooks
# before it is sent again. Meta posts `sent` within seconds of accepting a message;
# half an hour covers a receiver that was briefly down (Meta retries its webhooks).
AMBIGUOUS_WAIT = timedelta(minutes=30)

# Order of a delivery's states: a status webhook only ever moves it forward.
# failed outranks sent (the 200 came first, the failure later) but not delivered/read.
STATE_RANK = "CASE {col} WHEN 'sent' THEN 1 WHEN 'failed' THEN 2 WHEN 'delivered' THEN 3 " \
             "WHEN 'read' THEN 4 WHEN 'played' THEN 4 ELSE 0 END"


_SETTLEABLE = "'queued', 'sending', 'sent', 'failed', 'delivered'"


@dataclass
class Settled:
    ambiguous: int = 0        # left in `sending` by a run that stopped mid-request
    from_statuses: int = 0    # queued/sending deliveries the status webhooks show went out
    from_outbox: int = 0      # ... or that the outbox holds
    requeued: int = 0         # refused, or ambiguous with no trace: sent again
    awaiting: int = 0         # ambiguous, waiting for their status webhooks


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
    # Only the statuses that move a delivery forward are aggregated: the join comes
    # first, on a 64-bit hash of the id (a collision only adds a candidate that the
    # outer join on the id itself drops). Aggregating every status of a year (3,000,000)
    # before joining peaked at 1.1 GB; this, at 220 MB.
    result.ambiguous = con.execute(
        "SELECT count(*) FROM deliveries WHERE state = 'sending'").fetchone()[0]
    rank_d, rank_s = STATE_RANK.format(col="deliveries.state"), STATE_RANK.format(col="s.status")
    result.from_statuses = con.execute(
        f"""
        UPDATE deliveries SET state = s.status, wamid = s.wamid,
               error_code = coalesce(s.error_code, deliveries.error_code),
               error_title = coalesce(s.error_title, deliveries.error_title),
               sent_at = coalesce(deliveries.sent_at, s.sent_at, s.ts), updated_at = $now
        FROM (SELECT st.delivery_id, arg_max(st.status, st.rank) AS status,
                     arg_max(st.wamid, st.rank) AS wamid,
                     max(st.error_code) AS error_code, max(st.error_title) AS error_title,
                     min(st.sent_at) AS sent_at, min(st.ts) AS ts
              FROM (SELECT {callback_delivery_id_sql("callback")} AS delivery_id, status, wamid,
                           error_code, error_title, sent_at, ts,
                           {STATE_RANK.format(col="status")} AS rank
                    FROM statuses) st
              JOIN (SELECT hash(delivery_id) AS h, {STATE_RANK.format(col="state")} AS rank
                    FROM deliveries WHERE state IN ({_SETTLEABLE})) d
                ON d.h = hash(st.delivery_id) AND st.rank > d.rank
              WHERE st.delivery_id IS NOT NULL
              GROUP BY 1) s
        WHERE deliveries.delivery_id = s.delivery_id
          AND deliveries.state IN ({_SETTLEABLE}) AND {rank_s} > {rank_d}
        """,
        {"now": now},
    ).fetchone()[0]
    if outbox_path is not None and outbox.load_callbacks(con, outbox_path) > 0:
        result.from_outbox = con.execute(
            """
            UPDATE deliveries SET state = 'sent', sent_at = coalesce(sent_at, $now),
                   updated_at = $now
            WHERE state IN ('queued', 'sending')
              AND delivery_id IN (SELECT delivery_id FROM outbox_delivered)
            """,
            {"now": now},
        ).fetchone()[0]
    result.requeued = con.execute(
        """
        UPDATE deliveries SET state = 'queued', updated_at = $now
        WHERE state = 'sending' AND ($at_once
            OR (error_code IS NOT NULL AND error_code NOT IN (SELECT unnest($no_answer)))
            OR updated_at <= $patience
            OR (kind = 'announcement' AND announcement_id IN (
                SELECT announcement_id FROM announcements WHERE urgency = 'emergency')))
        """,
        {"now": now, "at_once": at_once, "no_answer": sorted(NO_ANSWER_CODES),
         "patience": now - AMBIGUOUS_WAIT},
    ).fetchone()[0]
    result.awaiting = con.execute(
        "SELECT count(*) FROM deliveries WHERE state = 'sending'").fetchone()[0]
    return result
