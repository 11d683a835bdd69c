"""Figures for the deliveries report: what each announcement reached, and how fast.

What happened to a message is known from two places: the send engine's row in
``deliveries`` and the status webhooks in ``statuses``; a status webhook wins when
there is one (:mod:`.store.outcomes` holds the rule and the queries).

Every function takes a read-only connection and a :class:`Period`; an
announcement belongs to the period its publication date (or first send) is in.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from ..announcements.weekly_cap import cap_counts
from ..whatsapp.answers import meaning
from .period import Period
from .store import account, outcomes, subscriptions
from .store.announcements import published_for_cap, weeks_of

# Meta's messaging limit: unique users a business may reach outside the
# customer-service window in a moving 24 hours (Meta's messaging limits).
# None is the unlimited tier.
REACH_TIERS = (250, 2_000, 10_000, 100_000, None)


def announcements(con: duckdb.DuckDBPyConnection, period: Period) -> pd.DataFrame:
    """Per announcement: announcement_id, title, category, urgency, publish_at,
    started_at, audience (every citizen it was planned for, reached or not:
    :data:`.store.outcomes.IN_AUDIENCE`), sent, delivered, read, failed, pending
    (neither delivered nor failed yet), skipped (in the audience but not reached, never
    sent: :func:`.reasons.unreached` says why), oldest first."""
    return outcomes.per_announcement(con, period)


def failure_reasons(con: duckdb.DuckDBPyConnection, period: Period) -> pd.DataFrame:
    """error_code, title (Meta's), meaning (plain language), failures, announcements:
    every failed message of the period (announcements and welcome/goodbye replies)."""
    df = outcomes.failures(con, period)
    df.insert(2, "meaning", [meaning(code) for code in df["error_code"]])
    return df


def webhook_errors(con: duckdb.DuckDBPyConnection, period: Period) -> pd.DataFrame:
    """error_code, title, meaning, errors: problems Meta reported for the whole
    account rather than one message (``value.errors[]``, e.g. 130429 rate limit).
    They carry no time of their own, so this covers every one on record."""
    df = account.webhook_errors(con)
    df.insert(2, "meaning", pd.Series([meaning(code) for code in df["error_code"]],
                                      index=df.index, dtype=object))
    return df


def reach_times(con: duckdb.DuckDBPyConnection, period: Period) -> pd.DataFrame:
    """announcement_id, title, audience, minutes_50, minutes_95, minutes_100: minutes
    from the first message sent until 50%, 95% and all of the audience had it
    delivered (empty when that share was never reached)."""
    return outcomes.reach_times(con, period)


def read_rate_by_category(con: duckdb.DuckDBPyConnection, period: Period) -> pd.DataFrame:
    """category, announcements, delivered, read, read_rate (read / delivered)."""
    df = announcements(con, period)
    grouped = df.groupby("category", as_index=False).agg(
        announcements=("announcement_id", "count"),
        delivered=("delivered", "sum"), read=("read", "sum"))
    grouped["read_rate"] = (grouped["read"] / grouped["delivered"].where(grouped["delivered"] > 0))
    return grouped.sort_values("read_rate", ascending=False, na_position="last").reset_index(
        drop=True)


def unsubscriptions_after(con: duckdb.DuckDBPyConnection, period: Period,
                          hours: int = 48) -> pd.DataFrame:
    """announcement_id, title, started_at, sent, unsubscribed, rate: recipients who
    left within ``hours`` of receiving each announcement (a sign of fatigue)."""
    return outcomes.unsubscriptions_after(con, period, hours)


def weekly_cap_use(con: duckdb.DuckDBPyConnection, period: Period, cap: int) -> pd.DataFrame:
    """week (its Monday), regular, emergency, cap: the announcements the send stage took
    up, per ISO week of publication in the town's timezone. ``regular`` is what the
    weekly cap counts, by the one definition validate uses
    (:func:`~runner.announcements.weekly_cap.cap_counts`): cancelled or withdrawn after
    going out, it still counts; ``emergency`` the emergencies and their corrections
    and withdrawals; drills reach staff only and are in neither."""
    weeks = weeks_of(con, period)
    regular: dict = {}
    emergency: dict = {}
    for week, status, urgency, original in published_for_cap(con, period):
        if cap_counts(status, urgency, original):
            regular[week] = regular.get(week, 0) + 1
        elif status == "actual":
            emergency[week] = emergency.get(week, 0) + 1
    days = [w.date() if hasattr(w, "date") else w for w in weeks["week"]]
    weeks["regular"] = [regular.get(d, 0) for d in days]
    weeks["emergency"] = [emergency.get(d, 0) for d in days]
    weeks["cap"] = cap
    return weeks


def daily_reach(con: duckdb.DuckDBPyConnection, period: Period) -> pd.DataFrame:
    """day, citizens: distinct citizens sent an announcement each calendar day."""
    return outcomes.daily_reach(con, period)


def peak_24h(con: duckdb.DuckDBPyConnection, period: Period) -> int:
    """The most distinct citizens sent an announcement within any 24 hours: what
    Meta's messaging limit counts (a moving window, not a calendar day)."""
    return outcomes.peak_24h(con, period)


def tier_for(users: int) -> int | None:
    """The smallest messaging-limit tier that lets ``users`` citizens be reached in 24 hours."""
    return next(tier for tier in REACH_TIERS if tier is None or users <= tier)


def reach_tier(con: duckdb.DuckDBPyConnection, period: Period) -> pd.DataFrame:
    """metric, value: audience (active subscribers at the report's date: whom an
    announcement to everyone would be planned for, not one announcement's), peak_24h
    (most citizens reached within 24 hours), tier_seen (the smallest tier that
    allows that peak: the town has at least this one) and tier_needed (to reach
    the whole audience at once). ``None`` is the unlimited tier."""
    audience = subscriptions.active_at(con, period)
    peak = int(peak_24h(con, period))
    return pd.DataFrame({
        "metric": ["audience", "peak_24h", "tier_seen", "tier_needed"],
        "value": [audience, peak, tier_for(peak), tier_for(audience)],
    })


def headline(con: duckdb.DuckDBPyConnection, period: Period) -> pd.DataFrame:
    """metric, value: announcements, messages (their audiences), delivered_rate (of the
    audiences), unreached (of the audiences, skipped: never sent, the reasons in
    :func:`.reasons.unreached`), read_rate, failed (every failed message of the period,
    as in :func:`failure_reasons`), replies."""
    df = announcements(con, period)
    replies = outcomes.replies_sent(con, period)
    audience, delivered = int(df["audience"].sum()), int(df["delivered"].sum())
    # The same count as the failures chart and table below it: every message of the
    # period that failed, announcements and replies alike.
    failed = int(failure_reasons(con, period)["failures"].sum())
    return pd.DataFrame({
        "metric": ["announcements", "messages", "delivered_rate", "unreached", "read_rate",
                   "failed", "replies"],
        "value": [len(df), audience,
                  delivered / audience if audience else None, int(df["skipped"].sum()),
                  int(df["read"].sum()) / delivered if delivered else None,
                  failed, replies],
    }, dtype=object)


def template_changes(con: duckdb.DuckDBPyConnection, period: Period) -> pd.DataFrame:
    """template_name, template_language, template_status, template_category, changed_at:
    the latest status and category Meta announced by webhook for each template (a
    MARKETING or not APPROVED template changes what announcements cost or whether
    they go out at all). Every one on record: a change is news until it is undone."""
    return account.template_changes(con)
