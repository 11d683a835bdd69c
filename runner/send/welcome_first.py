"""Welcome first: no citizen receives an announcement before the welcome, which
carries the privacy notice and how to leave. The SQL of that rule, in one place.

An announcement waits while the citizen's latest welcome has not gone (queued, in
flight, or failed with a code a later run retries). When that welcome can never
arrive (skipped, or failed for good), the announcements are skipped with the
reason instead of waiting for ever. A citizen with no welcome row (subscribed
before replies were recorded) is not held.
"""

from __future__ import annotations

from datetime import datetime

import duckdb

from ..vocabulary import REACHED, WELCOME_NOT_DELIVERED, sql
from ..whatsapp.answers import RETRY_LATER_CODES, TRANSIENT_CODES

WELCOME_GONE = sql(REACHED)

# A condition on deliveries ``d``: the citizen's latest welcome has not gone yet.
AWAITS_WELCOME = f"""d.citizen_id IN (
    SELECT w.citizen_id FROM deliveries w
    WHERE w.kind = 'welcome' AND w.state NOT IN {WELCOME_GONE}
      AND NOT EXISTS (SELECT 1 FROM deliveries v
                      WHERE v.kind = 'welcome' AND v.citizen_id = w.citizen_id
                        AND v.state IN {WELCOME_GONE} AND v.created_at > w.created_at))"""


def skip_lost(con: duckdb.DuckDBPyConnection, now: datetime) -> int:
    """Skip (reason ``welcome_not_delivered``) the queued announcements of citizens whose
    latest welcome was skipped or failed with a code no later run retries."""
    return con.execute(
        """
        UPDATE deliveries SET state = 'skipped', error_title = $reason,
               updated_at = $now
        WHERE state = 'queued' AND kind = 'announcement' AND citizen_id IN (
            SELECT citizen_id FROM deliveries WHERE kind = 'welcome'
            QUALIFY row_number() OVER (PARTITION BY citizen_id
                                       ORDER BY created_at DESC, delivery_id DESC) = 1
                AND (state = 'skipped' OR (state = 'failed' AND coalesce(error_code, 0)
                     NOT IN (SELECT unnest($retried::INTEGER[])))))
        """,
        {"now": now, "reason": WELCOME_NOT_DELIVERED,
         "retried": sorted(TRANSIENT_CODES | RETRY_LATER_CODES)},
    ).fetchone()[0]
