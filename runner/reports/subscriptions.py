"""Figures for the subscribers report: growth, moderation, keywords, consents.

Every function takes a read-only connection and a :class:`Period` and returns
a data frame. Citizens appear only by their pseudonymous ``citizen_id``.
"""

from __future__ import annotations

import pandas as pd

from ..subscribers.lifecycle.keywords import Classifier
from ..subscribers.privacy import masked_form
from ..vocabulary import SUBSCRIBED, sql
from .data import Period, execute, frame, scrubbed, word_count

# Each state change with the state before it. lag() rather than trusting
# from_state alone, so the series stays right even if events were recorded
# out of order; from_state covers a citizen's first recorded event.
# A moderated unsubscription is also «pending» (runner.subscribers): active (or paused)
# -> pending asks to leave, so its rejection is no new subscription; nor is a resume
# (paused -> active): the consent stood all along.
_EVENTS = """
events AS (
    SELECT citizen_id, ts, to_state, cause,
           coalesce(lag(to_state) OVER w, from_state) AS prev_state,
           lag(to_state, 2) OVER w AS prev2_state,
           lead(ts) OVER w AS next_ts,
           lead(to_state) OVER w AS next_state,
           lead(cause) OVER w AS next_cause
    FROM subscriber_events
    WINDOW w AS (PARTITION BY citizen_id ORDER BY ts)
)"""

_JOINS = f"""(to_state = 'active' AND coalesce(prev_state, '') NOT IN {sql(SUBSCRIBED)}
    AND NOT (prev_state = 'pending' AND coalesce(prev2_state, '') IN {sql(SUBSCRIBED)}))"""

_DAYS = """
days AS (SELECT unnest(generate_series($first::DATE, $last::DATE, INTERVAL 1 DAY))::DATE AS day)
"""

# Each citizen's state at the moment the report is "as of".
_STATES = """
states AS (
    SELECT citizen_id, arg_max(to_state, ts) AS state, max(ts) AS since
    FROM subscriber_events WHERE ts < $as_of GROUP BY citizen_id
)"""


def active_over_time(con, period: Period) -> pd.DataFrame:
    """day, active, paused: subscribers in state ``active`` and ``paused`` (their pause
    keyword: they receive nothing until they resume) at the end of each day."""
    return frame(con, f"""
        WITH {_EVENTS}, {_DAYS},
        daily AS (  -- earlier history folds into the first day: the starting count
            SELECT greatest(ts::DATE, $first::DATE) AS day,
                   sum((to_state = 'active')::INT
                       - (coalesce(prev_state, '') = 'active')::INT) AS delta,
                   sum((to_state = 'paused')::INT
                       - (coalesce(prev_state, '') = 'paused')::INT) AS paused_delta
            FROM events WHERE ts < $end GROUP BY 1
        )
        SELECT days.day, sum(coalesce(delta, 0)) OVER (ORDER BY days.day)::BIGINT AS active,
               sum(coalesce(paused_delta, 0)) OVER (ORDER BY days.day)::BIGINT AS paused
        FROM days LEFT JOIN daily USING (day) ORDER BY days.day
    """, period)


def daily_changes(con, period: Period) -> pd.DataFrame:
    """day, subscribed, unsubscribed, requested: state changes per day."""
    return frame(con, f"""
        WITH {_EVENTS}, {_DAYS},
        daily AS (
            SELECT ts::DATE AS day,
                count(*) FILTER ({_JOINS}) AS subscribed,
                count(*) FILTER (to_state = 'unsubscribed'
                                 AND prev_state IS DISTINCT FROM 'unsubscribed') AS unsubscribed,
                count(*) FILTER (to_state = 'pending'
                                 AND prev_state IS DISTINCT FROM 'pending') AS requested
            FROM events WHERE ts >= $start AND ts < $end GROUP BY 1
        )
        SELECT days.day,
               coalesce(subscribed, 0)::BIGINT AS subscribed,
               coalesce(unsubscribed, 0)::BIGINT AS unsubscribed,
               coalesce(requested, 0)::BIGINT AS requested
        FROM days LEFT JOIN daily USING (day) ORDER BY days.day
    """, period)


def moderation(con, period: Period) -> pd.DataFrame:
    """Requests that waited for staff in the period (state ``pending``): citizen_id,
    kind (subscribe or unsubscribe), requested_at, decided_at, outcome (approved,
    rejected, blocked, withdrawn by the citizen, or still ``pending``) and
    wait_hours (until the outcome, or until the report's date)."""
    return frame(con, f"""
        WITH {_EVENTS}
        SELECT citizen_id,
               CASE WHEN prev_state IN {sql(SUBSCRIBED)} THEN 'unsubscribe'
                    ELSE 'subscribe' END AS kind,
               ts::TIMESTAMP AS requested_at,
               CASE WHEN next_ts < $as_of THEN next_ts::TIMESTAMP END AS decided_at,
               CASE WHEN next_ts IS NULL OR next_ts >= $as_of THEN 'pending'
                    WHEN next_cause = 'decision:approve' THEN 'approved'
                    WHEN next_cause = 'decision:reject' THEN 'rejected'
                    WHEN next_cause = 'decision:block' THEN 'blocked'
                    ELSE 'withdrawn' END AS outcome,
               -- epoch() of each end, not of their difference: an interval across
               -- a DST change counts calendar days, not elapsed hours
               round((epoch(least(coalesce(next_ts, $as_of), $as_of)) - epoch(ts)) / 3600, 1)
                   AS wait_hours
        FROM events
        WHERE to_state = 'pending' AND prev_state IS DISTINCT FROM 'pending'
          AND ts < $as_of AND (ts >= $start OR next_ts IS NULL OR next_ts >= $start)
        ORDER BY ts
    """, period)


def moderation_queue(con, period: Period) -> pd.DataFrame:
    """The requests still waiting at the report's date, oldest first."""
    waits = moderation(con, period)
    queue = waits[waits["outcome"] == "pending"]
    return queue[["citizen_id", "kind", "requested_at", "wait_hours"]].sort_values(
        "requested_at").reset_index(drop=True)


def keyword_spellings(con, period: Period) -> pd.DataFrame:
    """kind, keyword, spelling, messages, citizens: how citizens actually wrote each
    keyword. Only as many words as the keyword has are shown, so a name written
    after it (Cerveno's «Servizio Info ON Paolo Rossi») never reaches a report."""
    return frame(con, f"""
        SELECT kind, keyword, {scrubbed('text', word_count('keyword'))} AS spelling,
               count(*) AS messages, count(DISTINCT citizen_id) AS citizens
        FROM inbound
        WHERE kind IN ('subscribe', 'unsubscribe') AND ts >= $start AND ts < $end
        GROUP BY 1, 2, 3 ORDER BY kind = 'unsubscribe', messages DESC, spelling
    """, period)


def near_misses(con, period: Period, limit: int = 30) -> pd.DataFrame:
    """keyword, form, messages, citizens: messages that nearly matched a keyword (the
    words to add as accepted spellings), most frequent first, each as its masked form
    (keyword-like words kept; names, numbers, e-mails, codici fiscali masked). A row
    synced before forms were stored is masked here, the same way."""
    df = frame(con, """
        SELECT keyword, form, text, citizen_id FROM inbound
        WHERE kind = 'near_miss' AND ts >= $start AND ts < $end
    """, period)
    if df.empty:
        return pd.DataFrame(columns=["keyword", "form", "messages", "citizens"])
    keywords = [k for (k,) in con.execute(
        "SELECT DISTINCT keyword FROM inbound WHERE keyword IS NOT NULL").fetchall()]
    known = Classifier(keywords, []).known_word
    df["form"] = [form if isinstance(form, str) else masked_form(text, known) or "…"
                  for form, text in zip(df["form"], df["text"], strict=True)]
    grouped = df.groupby(["keyword", "form"], dropna=False, as_index=False).agg(
        messages=("citizen_id", "size"), citizens=("citizen_id", "nunique"))
    return grouped.sort_values(["messages", "form"], ascending=[False, True]).head(
        limit).reset_index(drop=True)


def consents_by_notice(con, period: Period) -> pd.DataFrame:
    """notice (the day it came into force), notice_version, consents, citizens,
    first_at, last_at: consent records by the privacy notice in force when they were
    given (all time up to the period's end: the data protection officer needs every
    consent, not only recent ones)."""
    dated = con.execute("SELECT count(*) FROM information_schema.tables "
                        "WHERE table_name = 'notices'").fetchone()[0]
    in_force = ("(SELECT min(n.in_force_from) FROM notices n WHERE n.version = notice_version)"
                if dated else "NULL")
    df = frame(con, f"""
        SELECT coalesce({in_force}, min(ts))::DATE AS notice, notice_version,
               count(*) AS consents, count(DISTINCT citizen_id) AS citizens,
               min(ts)::TIMESTAMP AS first_at, max(ts)::TIMESTAMP AS last_at
        FROM consents WHERE ts < $end
        GROUP BY notice_version ORDER BY min(ts)
    """, period)
    return df


def headline(con, period: Period) -> pd.DataFrame:
    """metric, value: the numbers at the top of the report."""
    row = execute(con, f"""
        WITH {_EVENTS}, {_STATES}
        SELECT
          (SELECT count(*) FROM states WHERE state = 'active'),
          (SELECT count(*) FROM states WHERE state = 'paused'),
          (SELECT count(*) FROM events WHERE ts >= $start AND ts < $end AND {_JOINS}),
          (SELECT count(*) FROM events WHERE ts >= $start AND ts < $end
              AND to_state = 'unsubscribed' AND prev_state IS DISTINCT FROM 'unsubscribed'),
          (SELECT count(*) FROM states WHERE state = 'pending'),
          (SELECT count(*) FROM states WHERE state = 'blocked'),
          (SELECT count(*) FROM inbound WHERE kind = 'near_miss'
              AND ts >= $start AND ts < $end)
    """, period).fetchone()
    names = ["active", "paused", "subscribed", "unsubscribed", "pending", "blocked",
             "near_misses"]
    return pd.DataFrame({"metric": names, "value": [int(v) for v in row]})


def unreadable_log_lines(con) -> int:
    """Lines of the webhook logs sync could not use (kept in ``malformed`` for review)."""
    return con.execute("SELECT count(*) FROM malformed").fetchone()[0]
