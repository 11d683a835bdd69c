"""The house style every chart is drawn in: one width and palette, a title on the
left, day/month dates, counts with the reader's thousands separator, the legend
below, and «no data yet» with the reason instead of an empty frame.
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
from matplotlib.ticker import MaxNLocator  # noqa: E402

from ..messages import t  # noqa: E402
from . import alt_text  # noqa: E402
from .figure import Chart  # noqa: E402

WIDTH = 9.0
COLORS = {"read": "#1b7837", "delivered": "#7fbf7b", "pending": "#d9d9d9", "failed": "#d6604d",
          "skipped": "#8073ac", "main": "#2166ac", "second": "#d6604d", "third": "#f4a582",
          "limit": "#762a83"}
# Numeric day/month labels read the same in Italian and English; the year goes
# once in the axis label. At most this many, so they never overlap.
_MAX_TICKS = 8
MAX_BARS = 20


def figure(title: str, height: float = 3.6) -> tuple[Chart, Axes]:
    fig = Chart(figsize=(WIDTH, height), layout="constrained")
    ax = fig.subplots()
    ax.set_title(title, loc="left", fontsize=13, fontweight="bold")
    ax.spines[["top", "right"]].set_visible(False)
    return fig, ax


def no_data(fig: Chart, ax: Axes, why: str | None = None) -> Chart:
    """«No data yet», and why, so an empty chart is never a puzzle."""
    fig.alt = alt_text.no_data(why)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.spines[["left", "bottom"]].set_visible(False)
    ax.text(0.5, 0.58 if why else 0.5, t("reports.no-data"), ha="center", va="center",
            fontsize=14, color="#777777", transform=ax.transAxes)
    if why:
        ax.text(0.5, 0.38, textwrap.fill(why, 90), ha="center", va="center", fontsize=9,
                color="#777777", transform=ax.transAxes)
    return fig


def date_axis(ax: Axes, days: list[datetime], label: str | None = None,
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


def legend(fig: Chart, ax: Axes, ncols: int = 4,
            handles: Sequence[Artist] | None = None) -> None:
    """Below the chart, where it never covers a bar or a line."""
    # an artist's label is typed object (anything str() can print); ours are text
    handles, labels = (handles, [str(h.get_label()) for h in handles]) if handles else \
        ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=min(ncols, len(handles)),
               frameon=False, fontsize=9)


def thousands(value: float, _pos: float | None = None) -> str:
    return f"{int(value):,}".replace(",", t("reports.thousands-separator"))


def latest(title: str, df: pd.DataFrame) -> str:
    """The title, saying so when only the latest announcements fit."""
    return title if len(df) <= MAX_BARS else f"{title} — {t('reports.chart.latest', n=MAX_BARS)}"


def short(text: str, width: int = 38) -> str:
    text = str(text)
    return text if len(text) <= width else text[: width - 1] + "…"


def count_axis(ax: Axes, label: str, axis: str = "y") -> None:
    getattr(ax, f"{axis}axis").set_major_locator(MaxNLocator(integer=True))
    getattr(ax, f"{axis}axis").set_major_formatter(thousands)
    getattr(ax, f"set_{axis}label")(label)


def bar_days(span_days: int) -> float:
    """Bar width in days: most of a day on short periods, still visible over a year."""
    return max(0.7, span_days / 150)


# The days as Python datetimes, for a date axis. matplotlib's date converter takes
# them, but its stubs type data as numpy's ArrayLike, which has no room for dates
# (matplotlib/matplotlib#27140): each call that plots them ignores that one arg-type.
def days(series: pd.Series) -> list[datetime]:
    return list(pd.to_datetime(series).dt.to_pydatetime())
