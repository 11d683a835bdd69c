"""What became of each delivery: the temporary table ``report_outcomes`` and the
deliveries report's queries over it, plus the deliveries never made (skipped).

What happened to a message is known from two places: the send engine's row in
``deliveries`` and the status webhooks in ``statuses`` (matched through the
echoed ``banditore:<delivery_id>``, or the wamid). A status webhook wins when
there is one: it is Meta's word on delivery.

``report_outcomes`` (temporary; made here by :func:`ensure`, once per connection,
never dropped: it ends with the report's read-only connection). A read-only
database still allows temporary tables; it is built once because every figure of
the deliveries report starts from it and it joins every delivery with every status.
One row per delivery, with its best known outcome:

- ``delivery_id``, ``kind``, ``announcement_id``, ``citizen_id``, ``created_at``:
  the delivery's own;
- ``in_audience``: in the announcement's audience (:data:`IN_AUDIENCE`: every
  delivery but a cancelled one); ``skipped``: in it but not reached, never sent, and
  ``reason`` why (runner.vocabulary's SKIP_REASONS; NULL for any other delivery);
- ``accepted``: Meta took it (a status webhook, a wamid, or a REACHED state);
- ``sent_at``, ``delivered_at``, ``read_at``: the first of each, from the status
  webhooks when there are any (read implies delivered: Meta may skip that webhook),
  else from the delivery's state; NULL when it did not happen;
- ``failed``, ``failed_at``, ``error_code``, ``error_title``: failed for good
  (every status webhook of it says failed, or its state is failed), and Meta's why.

A table of that name already on the connection is taken as it is (a test builds
a small one by hand).
"""

from __future__ import annotations

import duckdb
import pandas as pd

from ...vocabulary import ARRIVED, CANCELLED, PLAYED, REACHED, READ, SKIPPED, sql
from ...whatsapp.bodies import callback_delivery_id_sql
from ..period import Period
from .connection import count, frame

OUTCOMES = "report_outcomes"

# An announcement's audience, the one definition of the reports (on ``deliveries d``):
# every citizen it was planned for, a delivery made for each, reached or not. A skipped
# delivery stays in it: that citizen was owed the announcement and did not get it
# (left or paused after planning, no number, expired before it went out); the report
# counts them as not reached and says why, never shrinks the audience to hide them.
# A cancelled one is the exception. Only close_cancelled (runner.send.store.transitions)
# writes that state, on the still-queued deliveries of an announcement that was itself
# cancelled (``cancelled: true``) or withdrawn (another announcement ``cancels`` it):
# nobody is owed it any more, so they are no longer its audience, and no citizen is
# missing from it. (``announcements.audience`` is another figure: the audience as the
# latest planning saw it, before some left and after others joined.)
IN_AUDIENCE = f"d.state <> '{CANCELLED}'"

_CREATE_OUTCOMES = f"""
CREATE TEMP TABLE {OUTCOMES} AS
WITH tagged AS (
    SELECT coalesce({callback_delivery_id_sql("s.callback")}, d.delivery_id) AS delivery_id,
           s.*
    FROM statuses s LEFT JOIN deliveries d ON d.wamid = s.wamid
),
by_delivery AS (  -- a delivery sent twice (a timeout, then a retry) has two wamids
    SELECT delivery_id,
        min(coalesce(sent_at, delivered_at, read_at,
                     CASE WHEN status <> 'failed' THEN ts END)) AS sent_at,
        -- read implies delivered: Meta may skip the delivered webhook
        min(coalesce(delivered_at, read_at,
                     CASE WHEN status IN {sql(ARRIVED)} THEN ts END))
            AS delivered_at,
        min(coalesce(read_at, CASE WHEN status IN {sql((READ, PLAYED))} THEN ts END)) AS read_at,
        bool_and(status = 'failed') AS failed,
        min(coalesce(failed_at, ts)) FILTER (status = 'failed') AS failed_at,
        max(error_code) FILTER (status = 'failed') AS error_code,
        max(error_title) FILTER (status = 'failed') AS error_title
    FROM tagged WHERE delivery_id IS NOT NULL GROUP BY delivery_id
)
SELECT d.delivery_id, d.kind, d.announcement_id, d.citizen_id, d.created_at,
    {IN_AUDIENCE} AS in_audience,
    d.state = '{SKIPPED}' AS skipped,
    CASE WHEN d.state = '{SKIPPED}' THEN d.error_title END AS reason,
    (s.delivery_id IS NOT NULL OR d.wamid IS NOT NULL
        OR d.state IN {sql(REACHED)}) AS accepted,
    coalesce(s.sent_at, d.sent_at) AS sent_at,
    CASE WHEN s.delivery_id IS NOT NULL THEN s.delivered_at
         WHEN d.state IN {sql(ARRIVED)} THEN coalesce(d.updated_at, d.sent_at) END
        AS delivered_at,
    CASE WHEN s.delivery_id IS NOT NULL THEN s.read_at
         WHEN d.state IN {sql((READ, PLAYED))} THEN coalesce(d.updated_at, d.sent_at) END
        AS read_at,
    coalesce(s.failed, d.state = 'failed') AS failed,
    CASE WHEN coalesce(s.failed, d.state = 'failed')
         THEN coalesce(s.failed_at, d.updated_at, d.sent_at, d.created_at) END AS failed_at,
    CASE WHEN coalesce(s.failed, d.state = 'failed')
         THEN coalesce(s.error_code, d.error_code) END AS error_code,
    CASE WHEN coalesce(s.failed, d.state = 'failed')
         THEN coalesce(s.error_title, d.error_title) END AS error_title
FROM deliveries d LEFT JOIN by_delivery s USING (delivery_id)
"""

# An announcement's figures over its rows of report_outcomes ``o``, grouped by
# announcement: its audience, and of it who was sent it, had it delivered, read it, for
# whom it failed and who was not reached (skipped). Every query that speaks of an
# announcement's reach uses these.
FIGURES = """
        count(*) FILTER (o.in_audience) AS audience,
        count(*) FILTER (o.in_audience AND o.accepted) AS sent,
        count(o.delivered_at) FILTER (o.in_audience) AS delivered,
        count(o.read_at) FILTER (o.in_audience) AS read,
        count(*) FILTER (o.in_audience AND o.failed) AS failed,
        count(*) FILTER (o.in_audience AND o.skipped) AS skipped"""

# The announcements in the period, with their audience and outcome counts: a CTE the
# per-announcement queries share. An announcement belongs to the period its
# publication date (or first send) is in.
SELECTED = f"""
selected AS (
    SELECT o.announcement_id,
        coalesce(any_value(a.title), o.announcement_id) AS title,
        coalesce(any_value(a.category), '?') AS category,
        coalesce(any_value(a.urgency), 'normal') AS urgency,
        any_value(a.publish_at) AS publish_at,
        min(o.sent_at) AS started_at,{FIGURES}
    FROM {OUTCOMES} o LEFT JOIN announcements a USING (announcement_id)
    WHERE o.kind = 'announcement'
    GROUP BY o.announcement_id
    HAVING coalesce(any_value(a.publish_at), min(o.sent_at), min(o.created_at)) >= $start
       AND coalesce(any_value(a.publish_at), min(o.sent_at), min(o.created_at)) < $end
)"""


def ensure(con: duckdb.DuckDBPyConnection) -> str:
    """Make ``report_outcomes`` unless the connection has it; its name."""
    exists = count(con, "SELECT count(*) FROM duckdb_tables() WHERE temporary "
                        "AND table_name = $table", table=OUTCOMES)
    if not exists:
        con.execute(_CREATE_OUTCOMES)
    return OUTCOMES


def per_announcement(con: duckdb.DuckDBPyConnection, period: Period) -> pd.DataFrame:
    """Each announcement of the period with its audience and outcome counts, oldest first:
    pending is the audience neither delivered, failed nor skipped (not reached)."""
    ensure(con)
    return frame(con, f"""
        WITH {SELECTED}
        SELECT announcement_id, title, category, urgency,
               publish_at::TIMESTAMP AS publish_at, started_at::TIMESTAMP AS started_at,
               audience, sent, delivered, read, failed,
               audience - delivered - failed - skipped AS pending, skipped
        FROM selected ORDER BY coalesce(publish_at, started_at), announcement_id
    """, period)


def unreached(con: duckdb.DuckDBPyConnection, period: Period) -> pd.DataFrame:
    """announcement_id, title, reason, citizens: who of each announcement's audience in
    the period was not reached (skipped), by reason, oldest announcement first."""
    ensure(con)
    return frame(con, f"""
        WITH {SELECTED}
        SELECT o.announcement_id, any_value(s.title) AS title, o.reason,
               count(*) AS citizens
        FROM {OUTCOMES} o JOIN selected s USING (announcement_id)
        WHERE o.kind = 'announcement' AND o.in_audience AND o.skipped
        GROUP BY o.announcement_id, o.reason
        ORDER BY any_value(coalesce(s.publish_at, s.started_at)), o.announcement_id,
                 citizens DESC, o.reason
    """, period)


def failures(con: duckdb.DuckDBPyConnection, period: Period) -> pd.DataFrame:
    """error_code, title, failures, announcements: the messages of the audience that
    failed in the period, per Meta's code, most first."""
    ensure(con)
    return frame(con, f"""
        SELECT error_code, max(error_title) AS title, count(*) AS failures,
               count(DISTINCT announcement_id) AS announcements
        FROM {OUTCOMES}
        WHERE failed AND in_audience AND failed_at >= $start AND failed_at < $end
        GROUP BY error_code ORDER BY failures DESC, error_code
    """, period)


def reach_times(con: duckdb.DuckDBPyConnection, period: Period) -> pd.DataFrame:
    """Per announcement of the period: minutes from its first send until 50 %, 95 % and
    all of its audience had it delivered."""
    ensure(con)
    return frame(con, f"""
        WITH {SELECTED},
        ranked AS (
            SELECT announcement_id, delivered_at,
                   row_number() OVER (PARTITION BY announcement_id ORDER BY delivered_at) AS n
            FROM {OUTCOMES}
            WHERE kind = 'announcement' AND in_audience AND delivered_at IS NOT NULL
              AND announcement_id IN (SELECT announcement_id FROM selected)
        )
        SELECT s.announcement_id, any_value(s.title) AS title,
               any_value(s.started_at)::TIMESTAMP AS started_at,
               any_value(s.audience) AS audience,
               {", ".join(
                   f"round((epoch(max(r.delivered_at) FILTER (r.n = ceil({share} * s.audience)))"
                   f" - epoch(any_value(s.started_at))) / 60, 1) AS minutes_{int(share * 100)}"
                   for share in (0.5, 0.95, 1.0))}
        FROM selected s LEFT JOIN ranked r USING (announcement_id)
        GROUP BY s.announcement_id
        ORDER BY any_value(coalesce(s.publish_at, s.started_at)), s.announcement_id
    """, period)


def unsubscriptions_after(con: duckdb.DuckDBPyConnection, period: Period,
                          hours: int) -> pd.DataFrame:
    """Per announcement of the period: its recipients who left within ``hours`` of
    receiving it."""
    ensure(con)
    return frame(con, f"""
        WITH {SELECTED},
        left_after AS (
            SELECT o.announcement_id, count(DISTINCT o.citizen_id) AS unsubscribed
            FROM {OUTCOMES} o
            JOIN subscriber_events e ON e.citizen_id = o.citizen_id
            WHERE o.kind = 'announcement' AND o.accepted
              AND o.announcement_id IN (SELECT announcement_id FROM selected)
              AND e.to_state = 'unsubscribed'
              AND e.ts >= coalesce(o.delivered_at, o.sent_at)
              AND e.ts < coalesce(o.delivered_at, o.sent_at) + to_hours($hours::BIGINT)
            GROUP BY o.announcement_id
        )
        SELECT s.announcement_id, s.title, s.started_at::TIMESTAMP AS started_at, s.sent,
               coalesce(l.unsubscribed, 0) AS unsubscribed,
               coalesce(l.unsubscribed, 0) / nullif(s.sent, 0) AS rate
        FROM selected s LEFT JOIN left_after l USING (announcement_id)
        ORDER BY coalesce(s.publish_at, s.started_at), s.announcement_id
    """, period, hours=hours)


def daily_reach(con: duckdb.DuckDBPyConnection, period: Period) -> pd.DataFrame:
    """day, citizens: distinct citizens sent an announcement each day of the period."""
    ensure(con)
    return frame(con, f"""
        WITH days AS (
            SELECT unnest(generate_series($first::DATE, $last::DATE, INTERVAL 1 DAY))::DATE
                AS day
        ),
        reached AS (
            SELECT sent_at::DATE AS day, count(DISTINCT citizen_id) AS citizens
            FROM {OUTCOMES}
            WHERE kind = 'announcement' AND accepted AND sent_at >= $start AND sent_at < $end
            GROUP BY 1
        )
        SELECT day, coalesce(citizens, 0) AS citizens
        FROM days LEFT JOIN reached USING (day) ORDER BY day
    """, period)


def peak_24h(con: duckdb.DuckDBPyConnection, period: Period) -> int:
    """The most distinct citizens sent an announcement within any 24 hours of the period.

    Each citizen counts from a send until 24 hours after their last send that
    follows within 24 hours (their sends merged into spans); a sweep over the
    span ends finds the largest number of citizens counting at once.
    """
    ensure(con)
    return count(con, f"""
        WITH sends AS (
            SELECT citizen_id, sent_at,
                   coalesce(sent_at - lag(sent_at) OVER w > INTERVAL 24 HOUR, true) AS starts
            FROM {OUTCOMES}
            WHERE kind = 'announcement' AND accepted AND sent_at >= $start AND sent_at < $end
            WINDOW w AS (PARTITION BY citizen_id ORDER BY sent_at)
        ),
        numbered AS (
            SELECT citizen_id, sent_at,
                   count_if(starts) OVER (PARTITION BY citizen_id ORDER BY sent_at) AS span
            FROM sends
        ),
        spans AS (
            SELECT min(sent_at) AS opens, max(sent_at) + INTERVAL 24 HOUR AS closes
            FROM numbered GROUP BY citizen_id, span
        ),
        changes AS (
            SELECT opens AS moment, 1 AS delta FROM spans
            UNION ALL SELECT closes, -1 FROM spans
        )
        SELECT coalesce(max(counting), 0) FROM (
            SELECT sum(delta) OVER (ORDER BY moment, delta ROWS UNBOUNDED PRECEDING)
                AS counting
            FROM changes)
    """, period)


def replies_sent(con: duckdb.DuckDBPyConnection, period: Period) -> int:
    """Replies (welcome, goodbye, ...: every kind but announcements) Meta accepted in
    the period."""
    ensure(con)
    return count(con, f"""
        SELECT count(*) FROM {OUTCOMES}
        WHERE kind <> 'announcement' AND accepted AND sent_at >= $start AND sent_at < $end
    """, period)


def skipped(con: duckdb.DuckDBPyConnection, period: Period) -> pd.DataFrame:
    """kind, reason, skipped, announcements: deliveries skipped in the period (when the
    run skipped them), by message kind and reason (runner.vocabulary's words), most
    first. Read from ``deliveries``: a skip has no status webhook."""
    return frame(con, f"""
        SELECT kind, error_title AS reason, count(*) AS skipped,
               count(DISTINCT announcement_id) AS announcements
        FROM deliveries
        WHERE state = '{SKIPPED}' AND coalesce(updated_at, created_at) >= $start
          AND coalesce(updated_at, created_at) < $end
        GROUP BY ALL ORDER BY skipped DESC, kind, reason
    """, period)
