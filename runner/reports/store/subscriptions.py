"""The subscribers report's queries: state changes over time, moderation, how citizens
wrote the keywords, consents, and the log lines sync could not use.

Citizens appear only by their pseudonymous ``citizen_id``; what they wrote only
scrubbed (:func:`scrubbed`) or as the masked forms sync stored.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from ...db import count, one
from ...vocabulary import SUBSCRIBED, sql
from ..period import Period
from .connection import execute, frame, has_table

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


def scrubbed(column: str, words: str) -> str:
    """SQL for what a citizen wrote with any run of digits that could be a phone
    number replaced by «…» (reports never show numbers), then reduced to its
    first ``words`` words and 40 characters."""
    trimmed = f"regexp_replace({column}, '^[\\s\\pZ]+|[\\s\\pZ]+$', '', 'g')"
    masked = f"regexp_replace({trimmed}, '\\+?\\d[\\d .-]{{4,}}\\d', '…', 'g')"
    # \pZ: a no-break space between the words is still a space to the reader
    return f"left(array_to_string(string_split_regex({masked}, '[\\s\\pZ]+')[1:{words}], ' '), 40)"


def word_count(column: str) -> str:
    """SQL for the number of words in a keyword."""
    return f"len(string_split_regex(trim(coalesce({column}, '')), '[\\s\\pZ]+'))"


def active_over_time(con: duckdb.DuckDBPyConnection, period: Period) -> pd.DataFrame:
    """day, active, paused: subscribers in each state at the end of each day."""
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


def daily_changes(con: duckdb.DuckDBPyConnection, period: Period) -> pd.DataFrame:
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


def moderation(con: duckdb.DuckDBPyConnection, period: Period) -> pd.DataFrame:
    """Each request that waited for staff in the period, with its outcome and wait."""
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


def keyword_spellings(con: duckdb.DuckDBPyConnection, period: Period) -> pd.DataFrame:
    """kind, keyword, spelling, messages, citizens: each keyword as citizens wrote it,
    cut to the keyword's own number of words."""
    return frame(con, f"""
        SELECT kind, keyword, {scrubbed('text', word_count('keyword'))} AS spelling,
               count(*) AS messages, count(DISTINCT citizen_id) AS citizens
        FROM inbound
        WHERE kind IN ('subscribe', 'unsubscribe') AND ts >= $start AND ts < $end
        GROUP BY 1, 2, 3 ORDER BY kind = 'unsubscribe', messages DESC, spelling
    """, period)


def near_misses(con: duckdb.DuckDBPyConnection, period: Period) -> pd.DataFrame:
    """keyword, form, text, citizen_id: each message of the period that nearly matched a
    keyword. ``text`` is there only for a row synced before forms were stored: the
    caller masks it and never shows it."""
    return frame(con, """
        SELECT keyword, form, text, citizen_id FROM inbound
        WHERE kind = 'near_miss' AND ts >= $start AND ts < $end
    """, period)


def keywords(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every keyword a message ever matched, or nearly."""
    return [k for (k,) in con.execute(
        "SELECT DISTINCT keyword FROM inbound WHERE keyword IS NOT NULL").fetchall()]


def consents_by_notice(con: duckdb.DuckDBPyConnection, period: Period) -> pd.DataFrame:
    """notice, notice_version, consents, citizens, first_at, last_at: consent records
    up to the period's end, by the privacy notice in force when they were given."""
    in_force = ("(SELECT min(n.in_force_from) FROM notices n WHERE n.version = notice_version)"
                if has_table(con, "notices") else "NULL")
    return frame(con, f"""
        SELECT coalesce({in_force}, min(ts))::DATE AS notice, notice_version,
               count(*) AS consents, count(DISTINCT citizen_id) AS citizens,
               min(ts)::TIMESTAMP AS first_at, max(ts)::TIMESTAMP AS last_at
        FROM consents WHERE ts < $end
        GROUP BY notice_version ORDER BY min(ts)
    """, period)


HEADLINE = ("active", "paused", "subscribed", "unsubscribed", "pending", "blocked",
            "near_misses")


def headline(con: duckdb.DuckDBPyConnection, period: Period) -> tuple[int, ...]:
    """The counts named by :data:`HEADLINE`, in its order: citizens in each state at the
    report's date; joins, departures and near misses in the period."""
    return one(execute(con, f"""
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
    """, period))


def active_at(con: duckdb.DuckDBPyConnection, period: Period) -> int:
    """Active subscribers at the report's date."""
    return count(execute(con, f"""
        WITH {_STATES} SELECT count(*) FROM states WHERE state = 'active'
    """, period))


def unreadable_log_lines(con: duckdb.DuckDBPyConnection) -> int:
    """Lines of the webhook logs sync could not use."""
    return count(con.execute("SELECT count(*) FROM malformed"))
