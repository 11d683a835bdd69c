"""What each chart shows, in words: the alt text of its image (WCAG 1.1.1), in the
reader's language, for whoever cannot see the chart.

One function per chart in :mod:`.charts`, with the chart's own arguments, returning
the figures a sighted reader takes from it: the latest and the highest value, the
largest share, the most frequent reason. :func:`.figure.described` puts the chart's
title in front, and an empty chart says «no data yet» and why instead. Short and
plain, numbers written as the tables write them, and never what a citizen wrote: a
keyword's spellings are counted, not quoted.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from ..messages import dates, t
from .show import error_code, minutes, number, percent, tier
from .show import hours as in_hours  # the 48 hours' chart has an argument «hours»


def _day(value: date) -> str:
    """«8 aprile»: the chart's axis gives the year."""
    return dates.day_month(pd.Timestamp(value).date())


def _top(df: pd.DataFrame, column: str) -> pd.Series:
    """The row with the highest ``column`` (the first, if several tie; missing as 0)."""
    return df.iloc[int(df[column].fillna(0).to_numpy().argmax())]


def no_data(why: str | None = None) -> str:
    return t("reports.alt.no-data-why", why=why) if why else t("reports.alt.no-data")


# --- subscribers -------------------------------------------------------------

def active_subscribers(df: pd.DataFrame, why: str | None = None) -> str:
    last, peak = df.iloc[-1], _top(df, "active")
    text = t("reports.alt.active", active=number(last["active"]), day=_day(last["day"]),
             peak=number(peak["active"]), peak_day=_day(peak["day"]))
    if "paused" in df and df["paused"].any():
        text += "; " + t("reports.alt.paused", paused=number(last["paused"]))
    return text


def daily_changes(df: pd.DataFrame, why: str | None = None) -> str:
    text = t("reports.alt.changes", subscribed=number(df["subscribed"].sum()),
             unsubscribed=number(df["unsubscribed"].sum()))
    if df["subscribed"].any():
        peak = _top(df, "subscribed")
        text += "; " + t("reports.alt.changes-peak", day=_day(peak["day"]),
                         most=number(peak["subscribed"]))
    return text


def moderation_waits(df: pd.DataFrame, why: str | None = None) -> str:
    decided = df[df["outcome"] != "pending"]["wait_hours"]
    parts = []
    if len(decided):
        parts.append(t("reports.alt.decided", decided=number(len(decided)),
                       median=in_hours(decided.median()),
                       longest=in_hours(decided.max())))
    if waiting := int((df["outcome"] == "pending").sum()):
        parts.append(t("reports.alt.waiting", waiting=number(waiting)))
    return "; ".join(parts)


def keyword_spellings(df: pd.DataFrame, why: str | None = None) -> str:
    top = _top(df, "messages")
    return t("reports.alt.spellings", forms=number(len(df)), messages=number(df["messages"].sum()),
             keyword=top["keyword"], top=number(top["messages"]))


# --- deliveries ----------------------------------------------------------------

def announcement_outcomes(df: pd.DataFrame, why: str | None = None) -> str:
    latest = df[df["audience"] > 0].iloc[-1]
    audience = latest["audience"]
    return t("reports.alt.outcomes", count=number(len(df)), title=latest["title"],
             audience=number(audience), read=percent(latest["read"] / audience),
             delivered=percent((latest["delivered"] - latest["read"]) / audience),
             pending=percent(max(0, latest["pending"]) / audience),
             failed=percent(latest["failed"] / audience),
             skipped=percent(latest.get("skipped", 0) / audience))


def failure_reasons(df: pd.DataFrame, why: str | None = None) -> str:
    top = _top(df, "failures")
    return t("reports.alt.failures", total=number(df["failures"].sum()),
             code=error_code(top["error_code"]), meaning=top["meaning"],
             count=number(top["failures"]))


def unreached(df: pd.DataFrame, why: str | None = None) -> str:
    by_reason = df.groupby("meaning")["citizens"].sum().sort_values()
    return t("reports.alt.unreached", total=number(by_reason.sum()), meaning=by_reason.index[-1],
             count=number(by_reason.iloc[-1]))


def reach_times(df: pd.DataFrame, why: str | None = None) -> str:
    columns = ["minutes_50", "minutes_95", "minutes_100"]
    latest = df.dropna(subset=columns, how="all").iloc[-1]
    return t("reports.alt.reach-times", count=number(len(df)), title=latest["title"],
             **{f"m{c.split('_')[1]}": minutes(latest[c]) for c in columns})


def read_rate_by_category(df: pd.DataFrame, why: str | None = None) -> str:
    rows = df.dropna(subset=["read_rate"])
    return "; ".join(f"{category}: {percent(rate)}"
                     for category, rate in zip(rows["category"], rows["read_rate"], strict=True))


def unsubscriptions_after(df: pd.DataFrame, hours: int = 48, why: str | None = None) -> str:
    rows = df.dropna(subset=["started_at"])
    if not rows["rate"].fillna(0).any():
        return t("reports.alt.fatigue-none", count=number(len(rows)))
    top = _top(rows, "rate")
    return t("reports.alt.fatigue", rate=percent(top["rate"]), title=top["title"],
             left=number(top["unsubscribed"]), sent=number(top["sent"]))


def weekly_cap(df: pd.DataFrame, why: str | None = None) -> str:
    top, cap = _top(df, "regular"), int(df["cap"].iloc[0])
    return t("reports.alt.weekly-cap", cap=number(cap), most=number(top["regular"]),
             week=_day(top["week"]), over=number(int((df["regular"] > cap).sum())),
             emergencies=number(df["emergency"].sum()))


def daily_reach(df: pd.DataFrame, tiers: pd.DataFrame, why: str | None = None) -> str:
    values = dict(zip(tiers["metric"], tiers["value"], strict=True))
    text = t("reports.alt.reach-tier", audience=number(values.get("audience") or 0),
             tier=tier(values.get("tier_seen")))
    if df["citizens"].any():
        top = _top(df, "citizens")
        text = t("reports.alt.reach-day", most=number(top["citizens"]),
                 day=_day(top["day"])) + "; " + text
    return text
