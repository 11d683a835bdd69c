"""Charts a person reads at a glance: a title that says what is shown, labelled
axes, dates along the x axis, and «no data yet» with the reason (``why``)
instead of an empty frame.

Each function takes a data frame from :mod:`.subscriptions` or :mod:`.deliveries`
and returns a :class:`matplotlib.figure.Figure`. Figures are built without
pyplot (no global state, nothing kept alive between charts) and render with
Agg, so they work the same in a kernel, a test or a headless CI job.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # before anything imports pyplot: no display in CI or kernels

import textwrap  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from datetime import datetime  # noqa: E402

import matplotlib.dates as mdates  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.artist import Artist  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import MaxNLocator, PercentFormatter  # noqa: E402

from ..messages import t  # noqa: E402

WIDTH = 9.0
COLORS = {"read": "#1b7837", "delivered": "#7fbf7b", "pending": "#d9d9d9", "failed": "#d6604d",
          "skipped": "#8073ac", "main": "#2166ac", "second": "#d6604d", "third": "#f4a582",
          "limit": "#762a83"}
# Numeric day/month labels read the same in Italian and English; the year goes
# once in the axis label. At most this many, so they never overlap.
_MAX_TICKS = 8
MAX_BARS = 20


def _figure(title: str, height: float = 3.6) -> tuple[Figure, Axes]:
    fig = Figure(figsize=(WIDTH, height), layout="constrained")
    ax = fig.subplots()
    ax.set_title(title, loc="left", fontsize=13, fontweight="bold")
    ax.spines[["top", "right"]].set_visible(False)
    return fig, ax


def _no_data(fig: Figure, ax: Axes, why: str | None = None) -> Figure:
    """«No data yet», and why, so an empty chart is never a puzzle."""
    ax.set_xticks([])
    ax.set_yticks([])
    ax.spines[["left", "bottom"]].set_visible(False)
    ax.text(0.5, 0.58 if why else 0.5, t("reports.no-data"), ha="center", va="center",
            fontsize=14, color="#777777", transform=ax.transAxes)
    if why:
        ax.text(0.5, 0.38, textwrap.fill(why, 90), ha="center", va="center", fontsize=9,
                color="#777777", transform=ax.transAxes)
    return fig


def _date_axis(ax: Axes, days: list[datetime], label: str | None = None,
               locator: mdates.DateLocator | None = None) -> None:
    """Day/month ticks evenly spaced from the first day (never two labels side by side
    where a month begins), the year once in the axis label."""
    first, last = min(days), max(days)
    span = (last - first).days + 1
    if locator is None and span > 150:
        locator, fmt = mdates.MonthLocator(interval=max(1, span // 300 + 1)), "%m/%Y"
    else:
        fmt = "%d/%m"
        locator = locator or mdates.RRuleLocator(mdates.rrulewrapper(
            mdates.DAILY, interval=max(1, -(-span // _MAX_TICKS)), dtstart=first))
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.DateFormatter(fmt))
    years = sorted({first.year, last.year})
    ax.set_xlabel(t("reports.axis.year", label=label or t("reports.axis.date"),
                    year="–".join(map(str, years))) if fmt == "%d/%m"
                  else label or t("reports.axis.date"))


def _legend(fig: Figure, ax: Axes, ncols: int = 4,
            handles: Sequence[Artist] | None = None) -> None:
    """Below the chart, where it never covers a bar or a line."""
    # an artist's label is typed object (anything str() can print); ours are text
    handles, labels = (handles, [str(h.get_label()) for h in handles]) if handles else \
        ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=min(ncols, len(handles)),
               frameon=False, fontsize=9)


def _thousands(value: float, _pos: float | None = None) -> str:
    return f"{int(value):,}".replace(",", t("reports.thousands-separator"))


def _latest(title: str, df: pd.DataFrame) -> str:
    """The title, saying so when only the latest announcements fit."""
    return title if len(df) <= MAX_BARS else f"{title} — {t('reports.chart.latest', n=MAX_BARS)}"


def _short(text: str, width: int = 38) -> str:
    text = str(text)
    return text if len(text) <= width else text[: width - 1] + "…"


def _count_axis(ax: Axes, label: str, axis: str = "y") -> None:
    getattr(ax, f"{axis}axis").set_major_locator(MaxNLocator(integer=True))
    getattr(ax, f"{axis}axis").set_major_formatter(_thousands)
    getattr(ax, f"set_{axis}label")(label)


def _bar_days(span_days: int) -> float:
    """Bar width in days: most of a day on short periods, still visible over a year."""
    return max(0.7, span_days / 150)


# The days as Python datetimes, for a date axis. matplotlib's date converter takes
# them, but its stubs type data as numpy's ArrayLike, which has no room for dates
# (matplotlib/matplotlib#27140): each call that plots them ignores that one arg-type.
def _days(series: pd.Series) -> list[datetime]:
    return list(pd.to_datetime(series).dt.to_pydatetime())


# --- subscribers -------------------------------------------------------------

def active_subscribers(df: pd.DataFrame, why: str | None = None) -> Figure:
    """Active subscribers at the end of each day, and those paused where any were."""
    fig, ax = _figure(t("reports.chart.active"))
    paused = df["paused"] if "paused" in df else pd.Series(0, index=df.index)
    if df.empty or not (df["active"].any() or paused.any()):
        return _no_data(fig, ax, why)
    days = _days(df["day"])
    lines = [("active", df["active"], COLORS["main"])]
    if paused.any():
        lines.append(("paused", paused, COLORS["third"]))
    for name, values, color in lines:
        ax.plot(days,  # type: ignore[arg-type]  # dates: see _days
                values, color=color, linewidth=2.2, label=t(f"reports.legend.{name}"),
                marker="o" if len(df) <= 45 else None, markersize=3)
        ax.fill_between(days, values, color=color, alpha=0.08)  # type: ignore[arg-type]  # dates: see _days
        last = int(values.iloc[-1])
        ax.annotate(f"{last}", (days[-1], last), textcoords="offset points", xytext=(6, 0),
                    va="center", fontweight="bold", color=color)
    ax.set_ylim(bottom=0)
    _count_axis(ax, t("reports.axis.subscribers"))
    _date_axis(ax, days)
    if len(lines) > 1:
        _legend(fig, ax)
    ax.grid(axis="y", alpha=0.3)
    return fig


def daily_changes(df: pd.DataFrame, why: str | None = None) -> Figure:
    """Subscriptions above the line, unsubscriptions below, per day."""
    fig, ax = _figure(t("reports.chart.daily-changes"))
    if df.empty or not (df["subscribed"].any() or df["unsubscribed"].any()):
        return _no_data(fig, ax, why)
    days = _days(df["day"])
    ax.bar(days, df["subscribed"],  # type: ignore[arg-type]  # dates: see _days
           color=COLORS["main"], label=t("reports.legend.subscribed"))
    ax.bar(days, -df["unsubscribed"], color=COLORS["second"],  # type: ignore[arg-type]  # dates: see _days
           label=t("reports.legend.unsubscribed"))
    ax.axhline(0, color="#444444", linewidth=0.8)
    _count_axis(ax, t("reports.axis.per-day"))
    ax.yaxis.set_major_formatter(lambda value, _pos: _thousands(abs(value)))
    _date_axis(ax, days)
    _legend(fig, ax)
    ax.grid(axis="y", alpha=0.3)
    return fig


WAIT_BUCKETS = [(0, 1), (1, 6), (6, 24), (24, 48), (48, None)]


def moderation_waits(df: pd.DataFrame, why: str | None = None) -> Figure:
    """How long requests waited for staff, decided ones and those still waiting."""
    fig, ax = _figure(t("reports.chart.waits"), height=3.2)
    if df.empty:
        return _no_data(fig, ax, why)
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
    _count_axis(ax, t("reports.axis.requests"))
    ax.set_xlabel(t("reports.axis.wait"))
    ax.margins(y=0.15)
    _legend(fig, ax)
    ax.grid(axis="y", alpha=0.3)
    return fig


def keyword_spellings(df: pd.DataFrame, why: str | None = None) -> Figure:
    """Messages per spelling of each keyword, the most used on top."""
    rows = df.head(MAX_BARS).iloc[::-1]
    fig, ax = _figure(t("reports.chart.spellings"), height=max(2.6, 0.9 + 0.32 * len(rows)))
    if rows.empty:
        return _no_data(fig, ax, why)
    colors = [COLORS["main"] if kind == "subscribe" else COLORS["second"] for kind in rows["kind"]]
    labels = [f"«{_short(text, 30)}»" for text in rows["spelling"]]
    ax.barh(range(len(rows)), rows["messages"], color=colors)
    ax.set_yticks(range(len(rows)), labels)
    for y, value in enumerate(rows["messages"]):
        ax.text(value, y, f" {_thousands(value)}", va="center", fontsize=9)
    _count_axis(ax, t("reports.axis.messages"), axis="x")
    _legend(fig, ax, handles=[
        Patch(color=COLORS["main"], label=t("reports.legend.subscribe")),
        Patch(color=COLORS["second"], label=t("reports.legend.unsubscribe"))])
    return fig


# --- deliveries ----------------------------------------------------------------

def announcement_outcomes(df: pd.DataFrame, why: str | None = None) -> Figure:
    """For each announcement, what share of its audience read it, had it delivered
    (unread), was still waiting for delivery, failed, or was not reached (skipped:
    :func:`unreached` says why): one bar each for the latest twenty, newest on top."""
    rows = df.tail(MAX_BARS)  # oldest first: bar 0 is drawn at the bottom
    fig, ax = _figure(_latest(t("reports.chart.outcomes"), df),
                      height=max(2.8, 1.3 + 0.36 * len(rows)))
    if rows.empty or not rows["audience"].any():
        return _no_data(fig, ax, why)
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
    labels = [f"{_short(title, 34)} ({n})" for title, n in zip(rows["title"], rows["audience"],
                                                               strict=True)]
    ax.set_yticks(list(y), labels)
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel(t("reports.axis.share-audience"))
    _legend(fig, ax)
    return fig


def failure_reasons(df: pd.DataFrame, why: str | None = None) -> Figure:
    """Failed messages by Cloud API error code, labelled with what the code means."""
    rows = df.head(10).iloc[::-1]
    labels = [f"{'—' if pd.isna(code) else int(code)}: {_short(meaning, 44)}"
              for code, meaning in zip(rows["error_code"], rows["meaning"], strict=True)]
    return _reason_bars(t("reports.chart.failures"), rows["failures"], COLORS["failed"], labels,
                        t("reports.axis.messages"), why)


def unreached(df: pd.DataFrame, why: str | None = None) -> Figure:
    """Who of the audiences was not reached (reasons.unreached), by reason in words."""
    rows = df.groupby("meaning")["citizens"].sum().sort_values().tail(10)
    return _reason_bars(t("reports.chart.unreached"), rows, COLORS["skipped"],
                        [textwrap.fill(meaning, 46) for meaning in rows.index],
                        t("reports.axis.citizens"), why or t("reports.why.none-unreached"))


def _reason_bars(title: str, counts: pd.Series, color: str, labels: list[str], axis: str,
                 why: str | None) -> Figure:
    """One bar per reason, its count at its end; the first is drawn at the bottom."""
    fig, ax = _figure(title, height=max(2.4, 1.0 + 0.55 * len(labels)))
    if counts.empty:
        return _no_data(fig, ax, why)
    ax.barh(range(len(counts)), counts, color=color)
    ax.set_yticks(range(len(counts)), labels, fontsize=9)
    for y, value in enumerate(counts):
        ax.text(value, y, f" {_thousands(value)}", va="center", fontsize=9)
    _count_axis(ax, axis, axis="x")
    return fig


def reach_times(df: pd.DataFrame, why: str | None = None) -> Figure:
    """Minutes until 50%, 95% and all of each announcement's audience had it."""
    rows = df.tail(MAX_BARS)  # oldest first: the newest ends up on top
    fig, ax = _figure(_latest(t("reports.chart.reach-times"), df),
                      height=max(2.8, 1.3 + 0.36 * len(rows)))
    if rows.empty or rows[["minutes_50", "minutes_95", "minutes_100"]].isna().all().all():
        return _no_data(fig, ax, why)
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
    ax.set_yticks(y, [_short(title, 40) for title in rows["title"]])
    ax.set_xlim(left=0)
    ax.set_xlabel(t("reports.axis.minutes-from-start"))
    _legend(fig, ax)
    ax.grid(axis="x", alpha=0.3)
    return fig


def read_rate_by_category(df: pd.DataFrame, why: str | None = None) -> Figure:
    """Share of delivered messages that were read, per category."""
    rows = df.dropna(subset=["read_rate"]).iloc[::-1]
    fig, ax = _figure(t("reports.chart.read-rate"), height=max(2.4, 1.0 + 0.4 * len(rows)))
    if rows.empty:
        return _no_data(fig, ax, why)
    ax.barh(range(len(rows)), rows["read_rate"], color=COLORS["read"])
    ax.set_yticks(range(len(rows)), list(rows["category"]))
    for y, value in enumerate(rows["read_rate"]):
        ax.text(value, y, f" {value:.0%}", va="center", fontsize=9)
    ax.set_xlim(0, 1.08)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel(t("reports.axis.read-share"))
    return fig


def unsubscriptions_after(df: pd.DataFrame, hours: int = 48, why: str | None = None) -> Figure:
    """Share of each announcement's recipients who left within ``hours``: one bar per
    announcement (the latest twenty, newest on top), the count of those who left at
    its end. Announcements are events, not a time series: a date axis put a day's
    sends at one point and labelled hours as days."""
    rows = df.dropna(subset=["started_at"]).tail(MAX_BARS)
    fig, ax = _figure(_latest(t("reports.chart.fatigue", hours=hours), df),
                      height=max(2.6, 1.2 + 0.36 * len(rows)))
    if rows.empty:
        return _no_data(fig, ax, why)
    rates = rows["rate"].fillna(0)
    ax.barh(range(len(rows)), rates, color=COLORS["second"])
    ax.set_yticks(range(len(rows)), [f"{_short(title, 34)} ({sent})" for title, sent in
                                     zip(rows["title"], rows["sent"], strict=True)])
    for y, (rate, count) in enumerate(zip(rates, rows["unsubscribed"], strict=True)):
        ax.text(rate, y, f" {count}", va="center", fontsize=9)
    ax.set_xlim(0, max(0.01, float(rates.max()) * 1.3))
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=1))
    ax.set_xlabel(t("reports.axis.left-share"))
    ax.grid(axis="x", alpha=0.3)
    return fig


def weekly_cap(df: pd.DataFrame, why: str | None = None) -> Figure:
    """Announcements per week against the weekly cap (emergencies do not count).
    One bar per ISO week, starting on its Monday."""
    fig, ax = _figure(t("reports.chart.weekly-cap"), height=3.2)
    if df.empty or not (df["regular"].any() or df["emergency"].any()):
        return _no_data(fig, ax, why)
    weeks, cap = _days(df["week"]), int(df["cap"].iloc[0])
    ax.bar(weeks, df["regular"], width=6, align="edge", color=COLORS["main"],  # type: ignore[arg-type]  # dates: see _days
           label=t("reports.legend.regular"))
    ax.bar(weeks, df["emergency"], width=6, align="edge", bottom=df["regular"],  # type: ignore[arg-type]  # dates: see _days
           color=COLORS["second"], label=t("reports.legend.emergency"))
    ax.axhline(cap, color=COLORS["limit"], linestyle="--", label=t("reports.legend.cap", cap=cap))
    _count_axis(ax, t("reports.axis.announcements"))
    every = max(1, len(weeks) // 10)
    _date_axis(ax, weeks, t("reports.axis.week"),
               mdates.WeekdayLocator(byweekday=mdates.MO, interval=every))
    ax.set_ylim(0, max(cap, int((df["regular"] + df["emergency"]).max())) + 1)
    _legend(fig, ax)
    return fig


def daily_reach(df: pd.DataFrame, tiers: pd.DataFrame, why: str | None = None) -> Figure:
    """Citizens reached per day against the audience and Meta's messaging-limit tiers
    (the one the town has at least, and the one reaching everyone needs). A log
    scale, so a town of 300 and the 100,000 tier fit on one chart."""
    fig, ax = _figure(t("reports.chart.reach-tier"))
    values = dict(zip(tiers["metric"], tiers["value"], strict=True))
    audience = int(values.get("audience") or 0)
    if df.empty or not (df["citizens"].any() or audience):
        return _no_data(fig, ax, why)
    days = _days(df["day"])
    ax.bar(days, df["citizens"], width=_bar_days(len(days)), color=COLORS["main"],  # type: ignore[arg-type]  # dates: see _days
           label=t("reports.legend.reached"))
    ax.axhline(max(audience, 1), color=COLORS["read"], linewidth=2,
               label=t("reports.legend.audience", count=_thousands(audience)))
    top = max(audience, int(df["citizens"].max()), 1)
    for tier in dict.fromkeys((values.get("tier_seen"), values.get("tier_needed"))):
        if tier is not None and not pd.isna(tier):
            ax.axhline(int(tier), color=COLORS["limit"], linestyle="--", linewidth=1)
            ax.text(days[0], int(tier), t("reports.legend.tier", tier=_thousands(tier)),
                    va="bottom", fontsize=9, color=COLORS["limit"])
            top = max(top, int(tier))
    ax.set_yscale("log")
    ax.set_ylim(0.8, top * 2.5)
    ax.yaxis.set_major_formatter(_thousands)
    ax.set_ylabel(t("reports.axis.citizens-log"))
    _date_axis(ax, days)
    _legend(fig, ax)
    return fig
