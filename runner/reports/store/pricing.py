"""What each message cost, as Meta priced it on its status webhooks (the rule:
:mod:`runner.reports.costs`), and whether anything went out or came back at all
(why a chart of the deliveries report is empty).
"""

from __future__ import annotations

import duckdb
import pandas as pd

from ...db import one
from ...vocabulary import NOT_MADE, QUEUED, sql
from ...whatsapp.bodies import callback_delivery_id_sql
from ..period import Period
from .connection import execute, frame, has_columns

PRICED_COLUMNS = ["delivery_id", "kind", "announcement_id", "title", "month", "category",
                  "billable"]


def priced_messages(con: duckdb.DuckDBPyConnection, period: Period) -> pd.DataFrame:
    """The columns :data:`PRICED_COLUMNS`: one row per message sent in the period that a
    status webhook priced; none from a database synced before pricing was kept."""
    if not has_columns(con, "statuses", {"pricing_type", "billable"}):
        return pd.DataFrame(columns=PRICED_COLUMNS)
    return frame(con, f"""
        WITH priced AS (
            SELECT coalesce({callback_delivery_id_sql("s.callback")}, d.delivery_id, s.wamid)
                       AS delivery_id,
                   max(lower(s.pricing_category)) AS category,
                   bool_or(CASE WHEN s.pricing_type IS NOT NULL THEN s.pricing_type = 'regular'
                                ELSE s.billable END) AS billable,
                   min(coalesce(s.sent_at, s.ts)) AS sent_at
            FROM statuses s LEFT JOIN deliveries d ON d.wamid = s.wamid
            WHERE s.pricing_category IS NOT NULL OR s.pricing_type IS NOT NULL
               OR s.billable IS NOT NULL
            GROUP BY 1)
        SELECT p.delivery_id, coalesce(d.kind, 'announcement') AS kind, d.announcement_id,
               coalesce(a.title, d.announcement_id) AS title,
               date_trunc('month', p.sent_at)::DATE AS month, p.category,
               coalesce(p.billable, false) AS billable
        FROM priced p LEFT JOIN deliveries d USING (delivery_id)
        LEFT JOIN announcements a USING (announcement_id)
        WHERE p.sent_at >= $start AND p.sent_at < $end
    """, period)


def sent_and_failed(con: duckdb.DuckDBPyConnection, period: Period) -> tuple[int, int]:
    """(announcements with a delivery that went out, deliveries failed) in the period,
    from ``deliveries`` alone."""
    went_out, failed = one(execute(con, f"""
        SELECT count(DISTINCT announcement_id) FILTER (kind = 'announcement'),
               count(*) FILTER (state = 'failed')
        FROM deliveries
        WHERE state NOT IN {sql((QUEUED, *NOT_MADE))}
          AND coalesce(sent_at, created_at) >= $start AND coalesce(sent_at, created_at) < $end
    """, period))
    return went_out, failed


def statuses_back(con: duckdb.DuckDBPyConnection, period: Period) -> tuple[int, int]:
    """(status webhooks of announcements, failed status webhooks) in the period, from
    ``statuses`` alone (no join of deliveries to statuses: each table is counted apart)."""
    back, failed = one(execute(con, f"""
        SELECT count(*) FILTER (starts_with({callback_delivery_id_sql("callback")}, 'a:')),
               count(*) FILTER (status = 'failed')
        FROM statuses WHERE ts >= $start AND ts < $end
    """, period))
    return back, failed
