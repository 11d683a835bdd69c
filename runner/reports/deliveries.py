"""Figures for the deliveries report: what each announcement reached, and how fast.

What happened to a message is known from two places: the send engine's row in
``deliveries`` and the status webhooks in ``statuses`` (matched through the
echoed ``banditore:<delivery_id>``, or the wamid). A status webhook wins when
there is one: it is Meta's word on delivery.

Every function takes a read-only connection and a :class:`Period`; an
announcement belongs to the period its publication date (or first send) is in.
"""

from __future__ import annotations

import pandas as pd

from ..announcements.weekly_cap import cap_counts
from ..vocabulary import ARRIVED, NOT_MADE, PLAYED, REACHED, READ, SKIPPED, sql
from ..whatsapp.answers import meaning
from ..whatsapp.bodies import callback_delivery_id_sql
from .data import Period, execute, frame

# Meta's messaging limit: unique users a business may reach outside the
# customer-service window in a moving 24 hours (Meta's messaging limits).
# None is the unlimited tier.
REACH_TIERS = (250, 2_000, 10_000, 100_000, None)

_OUTCOMES_TABLE = "report_outcomes"

# One row per delivery with its best known outcome. Built once per connection
# (a temporary table: a read-only database still allows them) because every
# figure below starts from it and it joins a million rows.
_OUTCOMES = f"""
CREATE TEMP TABLE {_OUTCOMES_TABLE} AS
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
    d.state NOT IN {sql(NOT_MADE)} AS in_audience,
    d.state = '{SKIPPED}' AS skipped,
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

# The announcements in the period, with their audience and outcome counts.
_SELECTED = f"""
selected AS (
    SELECT o.announcement_id,
        coalesce(any_value(a.title), o.announcement_id) AS title,
        coalesce(any_value(a.category), '?') AS category,
        coalesce(any_value(a.urgency), 'normal') AS urgency,
        any_value(a.publish_at) AS publish_at,
        min(o.sent_at) AS started_at,
        count(*) FILTER (o.in_audience) AS audience,
        count(*) FILTER (o.in_audience AND o.accepted) AS sent,
        count(o.delivered_at) FILTER (o.in_audience) AS delivered,
        count(o.read_at) FILTER (o.in_audience) AS read,
        count(*) FILTER (o.in_audience AND o.failed) AS failed,
        count(*) FILTER (o.skipped) AS skipped
    FROM {_OUTCOMES_TABLE} o LEFT JOIN announcements a USING (announcement_id)
    WHERE o.kind = 'announcement'
    GROUP BY o.announcement_id
    HAVING coalesce(any_value(a.publish_at), min(o.sent_at), min(o.created_at)) >= $start
       AND coalesce(any_value(a.publish_at), min(o.sent_at), min(o.created_at)) < $end
)"""


def _outcomes(con) -> None:
    exists = con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary "
                         "AND table_name = ?", [_OUTCOMES_TABLE]).fetchone()[0]
    if not exists:
        con.execute(_OUTCOMES)


def outcomes_table(con) -> str:
    """The name of the temporary table of every delivery's best known outcome (made
    once per connection): delivery_id, kind, announcement_id, citizen_id, created_at,
    in_audience, accepted, sent_at, delivered_at, read_at, failed, failed_at, error_code."""
    _outcomes(con)
    return _OUTCOMES_TABLE


def announcements(con, period: Period) -> pd.DataFrame:
    """Per announcement: announcement_id, title, category, urgency, publish_at,
    started_at, audience, sent, delivered, read, failed, pending (neither
    delivered nor failed yet), skipped (never sent: reasons.skip_reasons says why),
    oldest first."""
    _outcomes(con)
    df = frame(con, f"""
        WITH {_SELECTED}
        SELECT announcement_id, title, category, urgency,
               publish_at::TIMESTAMP AS publish_at, started_at::TIMESTAMP AS started_at,
               audience, sent, delivered, read, failed,
               audience - delivered - failed AS pending, skipped
        FROM selected ORDER BY coalesce(publish_at, started_at), announcement_id
    """, period)
    return df


def failure_reasons(con, period: Period) -> pd.DataFrame:
    """error_code, title (Meta's), meaning (plain language), failures, announcements:
    every failed message of the period (announcements and welcome/goodbye replies)."""
    _outcomes(con)
    df = frame(con, f"""
        SELECT error_code, max(error_title) AS title, count(*) AS failures,
               count(DISTINCT announcement_id) AS announcements
        FROM {_OUTCOMES_TABLE}
        WHERE failed AND in_audience AND failed_at >= $start AND failed_at < $end
        GROUP BY error_code ORDER BY failures DESC, error_code
    """, period)
    df.insert(2, "meaning", [meaning(code) for code in df["error_code"]])
    return df


def webhook_errors(con, period: Period) -> pd.DataFrame:
    """error_code, title, meaning, errors: problems Meta reported for the whole
    account rather than one message (``value.errors[]``, e.g. 130429 rate limit).
    They carry no time of their own, so this covers every one on record."""
    exists = con.execute("SELECT count(*) FROM information_schema.tables "
                         "WHERE table_name = 'webhook_errors'").fetchone()[0]
    if not exists:  # a database from before migration 0003_sync
        return pd.DataFrame(columns=["error_code", "title", "meaning", "errors"])
    df = frame(con, """
        SELECT code AS error_code, max(title) AS title, count(*) AS errors
        FROM webhook_errors GROUP BY code ORDER BY errors DESC, code
    """)
    df.insert(2, "meaning", [meaning(code) for code in df["error_code"]])
    return df


def reach_times(con, period: Period) -> pd.DataFrame:
    """announcement_id, title, audience, minutes_50, minutes_95, minutes_100: minutes
    from the first message sent until 50%, 95% and all of the audience had it
    delivered (empty when that share was never reached)."""
    _outcomes(con)
    return frame(con, f"""
        WITH {_SELECTED},
        ranked AS (
            SELECT announcement_id, delivered_at,
                   row_number() OVER (PARTITION BY announcement_id ORDER BY delivered_at) AS n
            FROM {_OUTCOMES_TABLE}
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


def read_rate_by_category(con, period: Period) -> pd.DataFrame:
    """category, announcements, delivered, read, read_rate (read / delivered)."""
    df = announcements(con, period)
    grouped = df.groupby("category", as_index=False).agg(
        announcements=("announcement_id", "count"),
        delivered=("delivered", "sum"), read=("read", "sum"))
    grouped["read_rate"] = (grouped["read"] / grouped["delivered"].where(grouped["delivered"] > 0))
    return grouped.sort_values("read_rate", ascending=False, na_position="last").reset_index(
        drop=True)


def unsubscriptions_after(con, period: Period, hours: int = 48) -> pd.DataFrame:
    """announcement_id, title, started_at, sent, unsubscribed, rate: recipients who
    left within ``hours`` of receiving each announcement (a sign of fatigue)."""
    _outcomes(con)
    return frame(con, f"""
        WITH {_SELECTED},
        left_after AS (
            SELECT o.announcement_id, count(DISTINCT o.citizen_id) AS unsubscribed
            FROM {_OUTCOMES_TABLE} o
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


def weekly_cap_use(con, period: Period, cap: int) -> pd.DataFrame:
    """week (its Monday), regular, emergency, cap: the announcements the send stage took
    up, per ISO week of publication in the town's timezone. ``regular`` is what the
    weekly cap counts, by the one definition validate uses
    (:func:`~runner.announcements.weekly_cap.cap_counts`): cancelled or withdrawn after
    going out, it still counts; ``emergency`` the emergencies and their corrections
    and withdrawals; drills reach staff only and are in neither."""
    weeks = frame(con, """
        SELECT DISTINCT date_trunc('week', day)::DATE AS week
        FROM (SELECT unnest(generate_series($first::DATE, $last::DATE, INTERVAL 1 DAY)) AS day)
        ORDER BY week""", period)
    rows = execute(con, """
        SELECT date_trunc('week', a.publish_at)::DATE AS week, coalesce(a.status, 'actual'),
               a.urgency, o.urgency
        FROM announcements a
        LEFT JOIN announcements o ON o.announcement_id = coalesce(a.updates, a.cancels)
        WHERE a.publish_at >= $start AND a.publish_at < $end""", period).fetchall()
    regular: dict = {}
    emergency: dict = {}
    for week, status, urgency, original in rows:
        if cap_counts(status, urgency, original):
            regular[week] = regular.get(week, 0) + 1
        elif status == "actual":
            emergency[week] = emergency.get(week, 0) + 1
    days = [w.date() if hasattr(w, "date") else w for w in weeks["week"]]
    weeks["regular"] = [regular.get(d, 0) for d in days]
    weeks["emergency"] = [emergency.get(d, 0) for d in days]
    weeks["cap"] = cap
    return weeks


def daily_reach(con, period: Period) -> pd.DataFrame:
    """day, citizens: distinct citizens sent an announcement each calendar day."""
    _outcomes(con)
    return frame(con, f"""
        WITH days AS (
            SELECT unnest(generate_series($first::DATE, $last::DATE, INTERVAL 1 DAY))::DATE
                AS day
        ),
        reached AS (
            SELECT sent_at::DATE AS day, count(DISTINCT citizen_id) AS citizens
            FROM {_OUTCOMES_TABLE}
            WHERE kind = 'announcement' AND accepted AND sent_at >= $start AND sent_at < $end
            GROUP BY 1
        )
        SELECT day, coalesce(citizens, 0) AS citizens
        FROM days LEFT JOIN reached USING (day) ORDER BY day
    """, period)


def peak_24h(con, period: Period) -> int:
    """The most distinct citizens sent an announcement within any 24 hours: what
    Meta's messaging limit counts (a moving window, not a calendar day).

    Each citizen counts from a send until 24 hours after their last send that
    follows within 24 hours (their sends merged into spans); a sweep over the
    span ends finds the largest number of citizens counting at once.
    """
    _outcomes(con)
    return execute(con, f"""
        WITH sends AS (
            SELECT citizen_id, sent_at,
                   coalesce(sent_at - lag(sent_at) OVER w > INTERVAL 24 HOUR, true) AS starts
            FROM {_OUTCOMES_TABLE}
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
    """, period).fetchone()[0]


def tier_for(users: int) -> int | None:
    """The smallest messaging-limit tier that lets ``users`` citizens be reached in 24 hours."""
    return next(tier for tier in REACH_TIERS if tier is None or users <= tier)


def reach_tier(con, period: Period) -> pd.DataFrame:
    """metric, value: audience (active subscribers at the report's date), peak_24h
    (most citizens reached within 24 hours), tier_seen (the smallest tier that
    allows that peak: the town has at least this one) and tier_needed (to reach
    the whole audience at once). ``None`` is the unlimited tier."""
    audience = execute(con, """
        SELECT count(*) FROM (
            SELECT arg_max(to_state, ts) AS state FROM subscriber_events
            WHERE ts < $as_of GROUP BY citizen_id
        ) WHERE state = 'active'
    """, period).fetchone()[0]
    peak = int(peak_24h(con, period))
    return pd.DataFrame({
        "metric": ["audience", "peak_24h", "tier_seen", "tier_needed"],
        "value": [audience, peak, tier_for(peak), tier_for(audience)],
    })


def headline(con, period: Period) -> pd.DataFrame:
    """metric, value: announcements, messages, delivered_rate, read_rate, failed (every
    failed message of the period, as in :func:`failure_reasons`), replies."""
    df = announcements(con, period)
    _outcomes(con)
    replies = execute(con, f"""
        SELECT count(*) FROM {_OUTCOMES_TABLE}
        WHERE kind <> 'announcement' AND accepted AND sent_at >= $start AND sent_at < $end
    """, period).fetchone()[0]
    audience, delivered = int(df["audience"].sum()), int(df["delivered"].sum())
    # The same count as the failures chart and table below it: every message of the
    # period that failed, announcements and replies alike.
    failed = int(failure_reasons(con, period)["failures"].sum())
    return pd.DataFrame({
        "metric": ["announcements", "messages", "delivered_rate", "read_rate", "failed",
                   "replies"],
        "value": [len(df), audience,
                  delivered / audience if audience else None,
                  int(df["read"].sum()) / delivered if delivered else None,
                  failed, replies],
    }, dtype=object)


def template_changes(con, period: Period) -> pd.DataFrame:
    """template_name, template_language, template_status, template_category, changed_at:
    the latest status and category Meta announced by webhook for each template (a
    MARKETING or not APPROVED template changes what announcements cost or whether
    they go out at all). Every one on record: a change is news until it is undone."""
    exists = con.execute("SELECT count(*) FROM information_schema.tables "
                         "WHERE table_name = 'template_state'").fetchone()[0]
    if not exists:  # a database from before migration 0007_templates
        return pd.DataFrame(columns=["template_name", "template_language", "template_status",
                                     "template_category", "changed_at"])
    return frame(con, """
        SELECT name AS template_name, language AS template_language,
               coalesce(status, '-') AS template_status,
               coalesce(category, '-') AS template_category,
               strftime(changed_at, '%Y-%m-%d %H:%M') AS changed_at
        FROM template_state ORDER BY changed_at DESC, name""")
