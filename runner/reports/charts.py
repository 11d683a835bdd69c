"""Charts a person reads at a glance: a title that says what is shown, labelled
axes, dates along the x axis, and «no data yet» with the reason (``why``)
instead of an empty frame.

Each function takes a data frame from :mod:`.subscriptions` or :mod:`.deliveries`
and returns a :class:`~.figure.Chart`, a matplotlib figure that also says in
words what it shows (:mod:`.alt_text`). Figures are built without
pyplot (no global state, nothing kept alive between charts) and render with
Agg, so they work the same in a kernel, a test or a headless CI job.
"""

from __future__ import annotations

import textwrap

import matplotlib.dates as mdates
import pandas as pd
from matplotlib.patches import Patch
from matplotlib.ticker import PercentFormatter

from ..messages import t
from . import alt_text, show
from . import drawing as draw
from .drawing import COLORS, MAX_BARS
from .figure import Chart, described

# --- subscribers -------------------------------------------------------------

@described(alt_text.active_subscribers)
def active_subscribers(df: pd.DataFrame, why: str | None = None) -> Chart:
    """Active subscribers at the end of each day, and those paused where any were."""
    fig, ax = draw.figure(t("reports.chart.active"))
    paused = df["paused"] if "paused" in df else pd.Series(0, index=df.index)
    if df.empty or not (df["active"].any() or paused.any()):
        return draw.no_data(fig, ax, why)
    days = draw.days(df["day"])
    lines = [("active", df["active"], COLORS["main"])]
    if paused.any():
        lines.append(("paused", paused, COLORS["third"]))
    for name, values, color in lines:
        ax.plot(days,  # type: ignore[arg-type]  # dates: see draw.days
                values, color=color, linewidth=2.2, label=t(f"reports.legend.{name}"),
                marker="o" if len(df) <= 45 else None, markersize=3)
        ax.fill_between(days, values, color=color, alpha=0.08)  # type: ignore[arg-type]  # dates: see draw.days
        last = int(values.iloc[-1])
        ax.annotate(f"{last}", (days[-1], last), textcoords="offset points", xytext=(6, 0),
                    va="center", fontweight="bold", color=color)
    ax.set_ylim(bottom=0)
    draw.count_axis(ax, t("reports.axis.subscribers"))
    draw.date_axis(ax, days)
    if len(lines) > 1:
        draw.legend(fig, ax)
    ax.grid(axis="y", alpha=0.3)
    return fig


@described(alt_text.daily_changes)
def daily_changes(df: pd.DataFrame, why: str | None = None) -> Chart:
    """Subscriptions above the line, unsubscriptions below, per day."""
    fig, ax = draw.figure(t("reports.chart.daily-changes"))
    if df.empty or not (df["subscribed"].any() or df["unsubscribed"].any()):
        return draw.no_data(fig, ax, why)
    days = draw.days(df["day"])
    ax.bar(days, df["subscribed"],  # type: ignore[arg-type]  # dates: see draw.days
           color=COLORS["main"], label=t("reports.legend.subscribed"))
    ax.bar(days, -df["unsubscribed"], color=COLORS["second"],  # type: ignore[arg-type]  # dates: see draw.days
           label=t("reports.legend.unsubscribed"))
    ax.axhline(0, color="#444444", linewidth=0.8)
    draw.count_axis(ax, t("reports.axis.per-day"))
    ax.yaxis.set_major_formatter(lambda value, _pos: draw.thousands(abs(value)))
    draw.date_axis(ax, days)
    draw.legend(fig, ax)
    ax.grid(axis="y", alpha=0.3)
    return fig


WAIT_BUCKETS = [(0, 1), (1, 6), (6, 24), (24, 48), (48, None)]


@described(alt_text.moderation_waits)
def moderation_waits(df: pd.DataFrame, why: str | None = None) -> Chart:
    """How long requests waited for staff, decided ones and those still waiting."""
    fig, ax = draw.figure(t("reports.chart.waits"), height=3.2)
    if df.empty:
        return draw.no_data(fig, ax, why)
    labels = [t("reports.wait-bucket.over", low=lo) if hi is None
              else t("reports.wait-bucket.range", low=lo, high=hi) for lo, hi in WAIT_BUCKETS]
    decided, waiting = [], []
    for lo, hi in WAIT_BUCKETS:
        inside = (df["wait_hours"] >= lo) & ((df["wait_hours"] < hi) if hi else True)
        decided.append(int((inside & (df["outcome"] != "pending")).sum()))
        waiting.append(int((inside & (df["outcome"] == "pending")).sum()))
    ax.bar(labels, decided, color=COLORS["main"], label=t("reports.legend.decided"))
    ax.bar(labels, waiting, bottom=decided, color=COLORS["third"],
           label=t("reports.legend.waiting"))
    draw.count_axis(ax, t("reports.axis.requests"))
    ax.set_xlabel(t("reports.axis.wait"))
    ax.margins(y=0.15)
    draw.legend(fig, ax)
    ax.grid(axis="y", alpha=0.3)
    return fig


@described(alt_text.keyword_spellings)
def keyword_spellings(df: pd.DataFrame, why: str | None = None) -> Chart:
    """Messages per spelling of each keyword, the most used on top."""
    rows = df.head(MAX_BARS).iloc[::-1]
    fig, ax = draw.figure(t("reports.chart.spellings"), height=max(2.6, 0.9 + 0.32 * len(rows)))
    if rows.empty:
        return draw.no_data(fig, ax, why)
    colors = [COLORS["main"] if kind == "subscribe" else COLORS["second"] for kind in rows["kind"]]
    labels = [f"«{draw.short(text, 30)}»" for text in rows["spelling"]]
    ax.barh(range(len(rows)), rows["messages"], color=colors)
    ax.set_yticks(range(len(rows)), labels)
    for y, value in enumerate(rows["messages"]):
        ax.text(value, y, f" {draw.thousands(value)}", va="center", fontsize=9)
    draw.count_axis(ax, t("reports.axis.messages"), axis="x")
    draw.legend(fig, ax, handles=[
        Patch(color=COLORS["main"], label=t("reports.legend.subscribe")),
        Patch(color=COLORS["second"], label=t("reports.legend.unsubscribe"))])
    return fig


# --- deliveries ----------------------------------------------------------------

@described(alt_text.announcement_outcomes)
def announcement_outcomes(df: pd.DataFrame, why: str | None = None) -> Chart:
    """For each announcement, what share of its audience read it, had it delivered
    (unread), was still waiting for delivery, failed, or was not reached (skipped:
    :func:`unreached` says why): one bar each for the latest twenty, newest on top."""
    rows = df.tail(MAX_BARS)  # oldest first: bar 0 is drawn at the bottom
    fig, ax = draw.figure(draw.latest(t("reports.chart.outcomes"), df),
                      height=max(2.8, 1.3 + 0.36 * len(rows)))
    if rows.empty or not rows["audience"].any():
        return draw.no_data(fig, ax, why)
    audience = rows["audience"].where(rows["audience"] > 0)
    parts = [
        ("read", rows["read"]),
        ("delivered", rows["delivered"] - rows["read"]),
        ("pending", rows["pending"].clip(lower=0)),
        ("failed", rows["failed"]),
        ("skipped", rows.get("skipped", pd.Series(0, index=rows.index))),
    ]
    y = range(len(rows))
    left = pd.Series(0.0, index=rows.index)
    for name, count in parts:
        share = (count / audience).fillna(0)
        ax.barh(y, share, left=left, color=COLORS[name], label=t(f"reports.legend.{name}"),
                edgecolor="white", linewidth=0.5)
        left = left + share
    labels = [f"{draw.short(title, 34)} ({n})" for title, n in zip(rows["title"], rows["audience"],
                                                               strict=True)]
    ax.set_yticks(list(y), labels)
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel(t("reports.axis.share-audience"))
    draw.legend(fig, ax)
    return fig


@described(alt_text.failure_reasons)
def failure_reasons(df: pd.DataFrame, why: str | None = None) -> Chart:
    """Failed messages by Cloud API error code, labelled with what the code means."""
    rows = df.head(10).iloc[::-1]
    labels = [f"{show.error_code(code)}: {draw.short(meaning, 44)}"
              for code, meaning in zip(rows["error_code"], rows["meaning"], strict=True)]
    return _reason_bars(t("reports.chart.failures"), rows["failures"], COLORS["failed"], labels,
                        t("reports.axis.messages"), why)


@described(alt_text.unreached)
def unreached(df: pd.DataFrame, why: str | None = None) -> Chart:
    """Who of the audiences was not reached (reasons.unreached), by reason in words."""
    rows = df.groupby("meaning")["citizens"].sum().sort_values().tail(10)
    return _reason_bars(t("reports.chart.unreached"), rows, COLORS["skipped"],
                        [textwrap.fill(meaning, 46) for meaning in rows.index],
                        t("reports.axis.citizens"), why or t("reports.why.none-unreached"))


def _reason_bars(title: str, counts: pd.Series, color: str, labels: list[str], axis: str,
                 why: str | None) -> Chart:
    """One bar per reason, its count at its end; the first is drawn at the bottom."""
    fig, ax = draw.figure(title, height=max(2.4, 1.0 + 0.55 * len(labels)))
    if counts.empty:
        return draw.no_data(fig, ax, why)
    ax.barh(range(len(counts)), counts, color=color)
    ax.set_yticks(range(len(counts)), labels, fontsize=9)
    for y, value in enumerate(counts):
        ax.text(value, y, f" {draw.thousands(value)}", va="center", fontsize=9)
    draw.count_axis(ax, axis, axis="x")
    return fig


@described(alt_text.reach_times)
def reach_times(df: pd.DataFrame, why: str | None = None) -> Chart:
    """Minutes until 50%, 95% and all of each announcement's audience had it."""
    rows = df.tail(MAX_BARS)  # oldest first: the newest ends up on top
    fig, ax = draw.figure(draw.latest(t("reports.chart.reach-times"), df),
                      height=max(2.8, 1.3 + 0.36 * len(rows)))
    if rows.empty or rows[["minutes_50", "minutes_95", "minutes_100"]].isna().all().all():
        return draw.no_data(fig, ax, why)
    y = list(range(len(rows)))
    ax.hlines(y, 0, rows["minutes_100"].fillna(rows["minutes_95"]).fillna(rows["minutes_50"]),
              color="#cccccc", linewidth=2)
    for column, marker, color in (("minutes_50", "o", COLORS["delivered"]),
                                  ("minutes_95", "D", COLORS["read"]),
                                  ("minutes_100", "|", "#000000")):
        share = column.split("_")[1]
        ax.scatter(rows[column], y, marker=marker, s=60, color=color, zorder=3,
                   label=t("reports.legend.reach", share=share))
    for row, reached in zip(y, rows["minutes_50"], strict=True):
        if pd.isna(reached):
            ax.text(0, row, "  " + t("reports.legend.not-reached"), va="center", fontsize=9,
                    color="#777777")
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_yticks(y, [draw.short(title, 40) for title in rows["title"]])
    ax.set_xlim(left=0)
    ax.set_xlabel(t("reports.axis.minutes-from-start"))
    draw.legend(fig, ax)
    ax.grid(axis="x", alpha=0.3)
    return fig


@described(alt_text.read_rate_by_category)
def read_rate_by_category(df: pd.DataFrame, why: str | None = None) -> Chart:
    """Share of delivered messages that were read, per category."""
    rows = df.dropna(subset=["read_rate"]).iloc[::-1]
    fig, ax = draw.figure(t("reports.chart.read-rate"), height=max(2.4, 1.0 + 0.4 * len(rows)))
    if rows.empty:
        return draw.no_data(fig, ax, why)
    ax.barh(range(len(rows)), rows["read_rate"], color=COLORS["read"])
    ax.set_yticks(range(len(rows)), list(rows["category"]))
    for y, value in enumerate(rows["read_rate"]):
        ax.text(value, y, f" {value:.0%}", va="center", fontsize=9)
    ax.set_xlim(0, 1.08)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel(t("reports.axis.read-share"))
    return fig


@described(alt_text.unsubscriptions_after)
def unsubscriptions_after(df: pd.DataFrame, hours: int = 48, why: str | None = None) -> Chart:
    """Share of each announcement's recipients who left within ``hours``: one bar per
    announcement (the latest twenty, newest on top), the count of those who left at
    its end. Announcements are events, not a time series: a date axis put a day's
    sends at one point and labelled hours as days."""
    rows = df.dropna(subset=["started_at"]).tail(MAX_BARS)
    fig, ax = draw.figure(draw.latest(t("reports.chart.fatigue", hours=hours), df),
                      height=max(2.6, 1.2 + 0.36 * len(rows)))
    if rows.empty:
        return draw.no_data(fig, ax, why)
    rates = rows["rate"].fillna(0)
    ax.barh(range(len(rows)), rates, color=COLORS["second"])
    ax.set_yticks(range(len(rows)), [f"{draw.short(title, 34)} ({sent})" for title, sent in
                                     zip(rows["title"], rows["sent"], strict=True)])
    for y, (rate, count) in enumerate(zip(rates, rows["unsubscribed"], strict=True)):
        ax.text(rate, y, f" {count}", va="center", fontsize=9)
    ax.set_xlim(0, max(0.01, float(rates.max()) * 1.3))
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=1))
    ax.set_xlabel(t("reports.axis.left-share"))
    ax.grid(axis="x", alpha=0.3)
    return fig


@described(alt_text.weekly_cap)
def weekly_cap(df: pd.DataFrame, why: str | None = None) -> Chart:
    """Announcements per week against the weekly cap (emergencies do not count).
    One bar per ISO week, starting on its Monday."""
    fig, ax = draw.figure(t("reports.chart.weekly-cap"), height=3.2)
    if df.empty or not (df["regular"].any() or df["emergency"].any()):
        return draw.no_data(fig, ax, why)
    weeks, cap = draw.days(df["week"]), int(df["cap"].iloc[0])
    ax.bar(weeks, df["regular"], width=6, align="edge", color=COLORS["main"],  # type: ignore[arg-type]  # dates: see draw.days
           label=t("reports.legend.regular"))
    ax.bar(weeks, df["emergency"], width=6, align="edge", bottom=df["regular"],  # type: ignore[arg-type]  # dates: see draw.days
           color=COLORS["second"], label=t("reports.legend.emergency"))
    ax.axhline(cap, color=COLORS["limit"], linestyle="--", label=t("reports.legend.cap", cap=cap))
    draw.count_axis(ax, t("reports.axis.announcements"))
    every = max(1, len(weeks) // 10)
    draw.date_axis(ax, weeks, t("reports.axis.week"),
               mdates.WeekdayLocator(byweekday=mdates.MO, interval=every))
    ax.set_ylim(0, max(cap, int((df["regular"] + df["emergency"]).max())) + 1)
    draw.legend(fig, ax)
    return fig


@described(alt_text.daily_reach)
def daily_reach(df: pd.DataFrame, tiers: pd.DataFrame, why: str | None = None) -> Chart:
    """Citizens reached per day against the audience and Meta's messaging-limit tiers
    (the one the town has at least, and the one reaching everyone needs). A log
    scale, so a town of 300 and the 100,000 tier fit on one chart."""
    fig, ax = draw.figure(t("reports.chart.reach-tier"))
    values = dict(zip(tiers["metric"], tiers["value"], strict=True))
    audience = int(values.get("audience") or 0)
    if df.empty or not (df["citizens"].any() or audience):
        return draw.no_data(fig, ax, why)
    days = draw.days(df["day"])
    ax.bar(days, df["citizens"], width=draw.bar_days(len(days)), color=COLORS["main"],  # type: ignore[arg-type]  # dates: see draw.days
           label=t("reports.legend.reached"))
    ax.axhline(max(audience, 1), color=COLORS["read"], linewidth=2,
               label=t("reports.legend.audience", count=draw.thousands(audience)))
    top = max(audience, int(df["citizens"].max()), 1)
    for tier in dict.fromkeys((values.get("tier_seen"), values.get("tier_needed"))):
        if tier is not None and not pd.isna(tier):
            ax.axhline(int(tier), color=COLORS["limit"], linestyle="--", linewidth=1)
            ax.text(days[0], int(tier), t("reports.legend.tier", tier=draw.thousands(tier)),
                    va="bottom", fontsize=9, color=COLORS["limit"])
            top = max(top, int(tier))
    ax.set_yscale("log")
    ax.set_ylim(0.8, top * 2.5)
    ax.yaxis.set_major_formatter(draw.thousands)
    ax.set_ylabel(t("reports.axis.citizens-log"))
    draw.date_axis(ax, days)
    draw.legend(fig, ax)
    return fig
