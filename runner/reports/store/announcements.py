"""The announcements as the send stage recorded them: each chain of corrections and
withdrawals with its reach, the time from publication to first delivery, and the
ISO weeks of publication the weekly cap counts.

Reach comes from ``report_outcomes`` (made by :func:`.outcomes.ensure`, whose
contract is written there).
"""

from __future__ import annotations

import duckdb
import pandas as pd

from ..period import Period
from .connection import execute, frame
from .outcomes import FIGURES, OUTCOMES, ensure


def chains(con: duckdb.DuckDBPyConnection, period: Period) -> pd.DataFrame:
    """Each original of the period that was corrected or withdrawn, then its corrections
    and withdrawal, in order, with its step and its reach (the audience as the
    deliveries report counts it, :data:`.outcomes.FIGURES`: skipped included)."""
    ensure(con)
    return frame(con, f"""
        WITH RECURSIVE chain(announcement_id, root, depth) AS (
            SELECT announcement_id, announcement_id, 0 FROM announcements
            WHERE updates IS NULL AND cancels IS NULL
            UNION ALL
            SELECT a.announcement_id, c.root, c.depth + 1
            FROM announcements a JOIN chain c ON coalesce(a.updates, a.cancels) = c.announcement_id
        ),
        linked AS (
            SELECT * FROM chain WHERE root IN (SELECT root FROM chain WHERE depth > 0)
        ),
        reach AS (
            SELECT announcement_id,{FIGURES}
            FROM {OUTCOMES} o WHERE kind = 'announcement' GROUP BY announcement_id
        )
        SELECT l.root AS chain,
               CASE WHEN a.cancels IS NOT NULL THEN 'cancel'
                    WHEN a.updates IS NOT NULL THEN 'update' ELSE 'alert' END AS step,
               l.announcement_id, a.title, a.publish_at::TIMESTAMP AS publish_at,
               coalesce(r.audience, 0) AS audience, coalesce(r.sent, 0) AS sent,
               coalesce(r.delivered, 0) AS delivered, coalesce(r.read, 0) AS read,
               coalesce(r.skipped, 0) AS skipped
        FROM linked l JOIN announcements a USING (announcement_id)
        LEFT JOIN reach r USING (announcement_id)
        WHERE l.root IN (SELECT announcement_id FROM announcements
                         WHERE publish_at >= $start AND publish_at < $end)
        ORDER BY (SELECT publish_at FROM announcements WHERE announcement_id = l.root), l.root,
                 l.depth, a.publish_at, l.announcement_id
    """, period)


def time_to_alert(con: duckdb.DuckDBPyConnection, period: Period) -> pd.DataFrame:
    """Per announcement published in the period and delivered: its publication, when the
    send job first saw it (``planned_at``), its first delivery, and the minutes between
    (empty where a measurement is not one: see :mod:`runner.reports.lifecycle`)."""
    ensure(con)
    return frame(con, f"""
        WITH first AS (
            SELECT announcement_id, min(delivered_at) AS first_delivered_at
            FROM {OUTCOMES} WHERE kind = 'announcement' GROUP BY announcement_id
        )
        SELECT a.announcement_id, a.title, a.urgency, coalesce(a.status, 'actual') AS status,
               a.publish_at::TIMESTAMP AS publish_at, a.planned_at::TIMESTAMP AS planned_at,
               f.first_delivered_at::TIMESTAMP AS first_delivered_at,
               CASE WHEN f.first_delivered_at >= a.publish_at THEN
                   round((epoch(f.first_delivered_at) - epoch(a.publish_at)) / 60, 1) END
                   AS minutes_to_alert,
               CASE WHEN a.planned_at <= f.first_delivered_at THEN
                   round(greatest(epoch(a.planned_at) - epoch(a.publish_at), 0) / 60, 1) END
                   AS job_delay_minutes
        FROM announcements a JOIN first f USING (announcement_id)
        WHERE a.publish_at >= $start AND a.publish_at < $end
        ORDER BY a.publish_at, a.announcement_id
    """, period)


def weeks_of(con: duckdb.DuckDBPyConnection, period: Period) -> pd.DataFrame:
    """week: the Monday of each ISO week the period touches, in order."""
    return frame(con, """
        SELECT DISTINCT date_trunc('week', day)::DATE AS week
        FROM (SELECT unnest(generate_series($first::DATE, $last::DATE, INTERVAL 1 DAY)) AS day)
        ORDER BY week""", period)


def published_for_cap(con: duckdb.DuckDBPyConnection, period: Period) -> list[tuple]:
    """(week, status, urgency, the original's urgency) of each announcement published in
    the period: what the weekly cap's rule (one definition, in announcements.policy)
    needs to count it."""
    return execute(con, """
        SELECT date_trunc('week', a.publish_at)::DATE AS week, coalesce(a.status, 'actual'),
               a.urgency, o.urgency
        FROM announcements a
        LEFT JOIN announcements o ON o.announcement_id = coalesce(a.updates, a.cancels)
        WHERE a.publish_at >= $start AND a.publish_at < $end""", period).fetchall()
