"""Figures for topics and the alert lifecycle: who chose which topic, each chain of
corrections and withdrawals with its reach, and the time from publication to first
delivery.

Time to alert runs from ``publish_at``, when the town said citizens should know,
to the first delivery: a send job that starts late is late for citizens, and
shows. How much of it the send stage was not yet at work is its own figure, the
job's delay: from ``publish_at`` to ``planned_at``, when the send job first saw
the file (a merge after its publication time, or a job that started late; zero
for a file merged ahead of its time). The reports read the database alone, and
the CI checkout is shallow (a file's commit is not there to read): ``planned_at``
is the closest the database holds to the merge. A first delivery before
publication is not a measurement, nor is a ``planned_at`` after the first delivery
(a database rebuilt after the fact): left empty.
"""

from __future__ import annotations

import pandas as pd

from ..subscribers.lifecycle.topics import counts
from .data import Period, frame
from .deliveries import outcomes_table


def topics(con) -> pd.DataFrame:
    """topic, receiving, chose: active subscribers now, per topic named in anyone's
    choice (receiving counts those with every topic too), and the two special
    choices, every topic and only the mandatory categories, as ``*`` and ``-``."""
    found = counts(con)
    rows = [(topic, found.receiving(topic), n) for topic, n in (found.chose or {}).items()]
    rows.sort(key=lambda row: (-row[1], row[0]))
    rows += [("*", found.every, found.every), ("-", found.none, found.none)]
    return pd.DataFrame(rows, columns=["topic", "receiving", "chose"])


def chains(con, period: Period) -> pd.DataFrame:
    """chain (the original's id), step (alert, update, cancel), announcement_id, title,
    publish_at, audience, sent, delivered, read: each original that was corrected or
    withdrawn, then its corrections and withdrawal, in order; reach from the
    deliveries and the status webhooks. Chains whose original is in the period."""
    table = outcomes_table(con)
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
            SELECT announcement_id, count(*) FILTER (in_audience) AS audience,
                   count(*) FILTER (in_audience AND accepted) AS sent,
                   count(delivered_at) FILTER (in_audience) AS delivered,
                   count(read_at) FILTER (in_audience) AS read
            FROM {table} WHERE kind = 'announcement' GROUP BY announcement_id
        )
        SELECT l.root AS chain,
               CASE WHEN a.cancels IS NOT NULL THEN 'cancel'
                    WHEN a.updates IS NOT NULL THEN 'update' ELSE 'alert' END AS step,
               l.announcement_id, a.title, a.publish_at::TIMESTAMP AS publish_at,
               coalesce(r.audience, 0) AS audience, coalesce(r.sent, 0) AS sent,
               coalesce(r.delivered, 0) AS delivered, coalesce(r.read, 0) AS read
        FROM linked l JOIN announcements a USING (announcement_id)
        LEFT JOIN reach r USING (announcement_id)
        WHERE l.root IN (SELECT announcement_id FROM announcements
                         WHERE publish_at >= $start AND publish_at < $end)
        ORDER BY (SELECT publish_at FROM announcements WHERE announcement_id = l.root), l.root,
                 l.depth, a.publish_at, l.announcement_id
    """, period)


def time_to_alert(con, period: Period) -> pd.DataFrame:
    """announcement_id, title, urgency, status, publish_at, planned_at,
    first_delivered_at, minutes_to_alert (publish_at to the first delivery),
    job_delay_minutes (publish_at to planned_at, zero if planned before): per
    announcement published in the period and sent, newest last (see the module
    docstring)."""
    table = outcomes_table(con)
    return frame(con, f"""
        WITH first AS (
            SELECT announcement_id, min(delivered_at) AS first_delivered_at
            FROM {table} WHERE kind = 'announcement' GROUP BY announcement_id
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
