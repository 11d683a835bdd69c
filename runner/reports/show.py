"""How the notebooks present figures: headings, headline numbers, tables and
charts as IPython display objects, with every word from the message catalogue
and numbers written the way the reader's language writes them."""

from __future__ import annotations

import html
import io
import math
from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from IPython.display import HTML, Image
from pandas.api.typing import NaTType, NAType

from ..messages import t
from .period import Period

if TYPE_CHECKING:
    from .figure import Chart

# What a data frame's cell holds, as pandas hands it over: a number (Python's or
# numpy's), a day or a time (a Timestamp is a datetime), text; missing as None, NaN,
# NaT or pd.NA.
Number = float | np.integer | np.floating | NAType | None
Moment = date | NaTType | None
Cell = Number | Moment | str

_STYLE = """
<style>
.bnd-cards{display:flex;flex-wrap:wrap;gap:12px;margin:8px 0 18px}
.bnd-card{border:1px solid #d0d7de;border-radius:8px;padding:10px 16px;min-width:130px;
  background:#f6f8fa}
.bnd-card .v{font-size:28px;font-weight:700;color:#1f2328}
.bnd-card .l{font-size:13px;color:#57606a}
.bnd-sub{color:#57606a;margin-top:-6px}
.bnd-note{color:#57606a;font-size:13px;max-width:60em}
table.bnd{border-collapse:collapse;font-size:13px;margin:6px 0 16px}
table.bnd th.t{background:#f6f8fa;text-align:left;padding:4px 10px;border-bottom:2px solid #d0d7de}
table.bnd td.t{text-align:left;padding:3px 10px;border-bottom:1px solid #eaeef2}
table.bnd td.n{text-align:right;padding:3px 10px;border-bottom:1px solid #eaeef2;
  font-variant-numeric:tabular-nums}
</style>
"""


def number(value: Number, decimals: int = 0) -> str:
    """1234.5 -> «1.234,5» in Italian, «1,234.5» in English; missing -> «—»."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "—"
    text = f"{value:,.{decimals}f}"
    marks = {",": t("reports.thousands-separator"), ".": t("reports.decimal-separator")}
    return "".join(marks.get(char, char) for char in text)


def percent(value: Number) -> str:
    if value is None or pd.isna(value):
        return "—"
    return number(value * 100, 1 if 0 < value * 100 < 10 else 0) + "%"


def minutes(value: Number) -> str:
    """Minutes as «45 s», «12 min», «2 h 5 min», «3 g 4 h»."""
    if value is None or pd.isna(value):
        return t("reports.duration.never")
    if value < 1:
        return t("reports.duration.seconds", s=int(round(value * 60)))
    whole = int(round(value))
    days, rest = divmod(whole, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return t("reports.duration.days", d=days, h=hours)
    if hours:
        return t("reports.duration.hours" if mins else "reports.duration.whole-hours",
                 h=hours, m=mins)
    return t("reports.duration.minutes", m=mins)


def hours(value: Number) -> str:
    return minutes(None if value is None or pd.isna(value) else value * 60)


def moment(value: Moment) -> str:
    if value is None or pd.isna(value):
        return "—"
    if isinstance(value, datetime | pd.Timestamp):
        return value.strftime("%d/%m/%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return str(value)


def day(value: Moment) -> str:
    """A date, without the midnight a data frame gives it."""
    if value is None or pd.isna(value):
        return "—"
    return value.strftime("%d/%m/%Y")


def month(value: Moment) -> str:
    return "—" if value is None or pd.isna(value) else value.strftime("%m/%Y")


_currency = "EUR"


def set_currency(code: str) -> None:
    """The town's currency for :func:`money` (the notebook sets it from the settings)."""
    global _currency
    _currency = code


def money(value: Number) -> str:
    """12.3456 -> «12,35 EUR»; unknown -> «—»."""
    if value is None or pd.isna(value):
        return "—"
    return f"{number(value, 2)} {_currency}"


def error_code(value: Number) -> str:
    """A Cloud API error code as a whole number; none -> «—»."""
    return "—" if value is None or pd.isna(value) else str(int(value))


def tier(value: Number) -> str:
    return t("reports.tier.unlimited") if value is None or pd.isna(value) else number(value)


# How each kind of value is written; a column or metric's name says its kind.
def _formatter(name: str) -> Callable[[Number], str] | Callable[[Moment], str] | None:
    if name == "error_code":
        return error_code
    if name.endswith("rate"):
        return percent
    if name.startswith("tier_"):
        return tier
    if name.startswith("minutes_") or name.endswith("_minutes"):
        return minutes
    if name.endswith("hours"):
        return hours
    if name in ("day", "week", "notice"):
        return day
    if name.endswith("_at"):
        return moment
    if name == "month":
        return month
    if name == "cost":
        return money
    return None


def _cell(name: str, value: Cell) -> tuple[str, bool]:
    fmt = _formatter(name)
    if fmt:
        # The column's name says which kind its cells are (the query's promise, which
        # no type can carry through a data frame: pandas types a cell as Any).
        return fmt(value), fmt not in (moment, day, month, error_code)  # type: ignore[arg-type]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return number(value), True
    if name == "outcome":
        return t(f"reports.state.{value}"), False
    if name == "kind":
        return t(f"reports.legend.{value}"), False
    if name == "step":
        return t(f"reports.step.{value}"), False
    if name == "topic" and value in ("*", "-"):  # every topic; only the mandatory ones
        return t(f"reports.topic.{'every' if value == '*' else 'none'}"), False
    return ("—" if value is None or pd.isna(value) else str(value)), False


def title(report: str, period: Period, town: str = "") -> HTML:
    """The report's title, the town and the period it covers."""
    sub = t("reports.period", first=moment(period.first_day), last=moment(period.last_day),
            as_of=moment(period.as_of.astimezone(ZoneInfo(period.timezone)).replace(tzinfo=None)))
    heading = t(f"reports.{report}.title")
    town_line = f" — {html.escape(town)}" if town else ""
    return HTML(f"{_STYLE}<h1>{html.escape(heading)}{town_line}</h1>"
                f"<p class='bnd-sub'>{html.escape(sub)}</p>")


def heading(key: str, **values: object) -> HTML:
    return HTML(f"<h2>{html.escape(t(key, **values))}</h2>")


def note(key: str, **values: object) -> HTML:
    return HTML(f"<p class='bnd-note'>{html.escape(t(key, **values))}</p>")


def headline(df: pd.DataFrame) -> HTML:
    """metric/value rows as big numbers with their label underneath."""
    cards = []
    for metric, value in zip(df["metric"], df["value"], strict=True):
        text, _ = _cell(metric, value)
        cards.append(f"<div class='bnd-card'><div class='v'>{html.escape(text)}</div>"
                     f"<div class='l'>{html.escape(t(f'reports.metric.{metric}'))}</div></div>")
    return HTML(f"{_STYLE}<div class='bnd-cards'>{''.join(cards)}</div>")


def table(df: pd.DataFrame, columns: list[str] | None = None, limit: int = 50,
          why: str | None = None) -> HTML:
    """A list worth reading row by row, with translated headers; «no data yet» (and
    ``why``) if empty."""
    if df.empty:
        reason = f": {html.escape(why)}" if why else ""
        return HTML(f"<p class='bnd-note'><em>{html.escape(t('reports.no-data'))}</em>"
                    f"{reason}</p>")
    columns = columns or list(df.columns)
    # a class on every cell: JupyterLab's CSS right-aligns td/th with a stronger selector
    head = "".join(f"<th class=t>{html.escape(t(f'reports.col.{c}'))}</th>" for c in columns)
    body = []
    for _, row in df.head(limit).iterrows():
        cells = []
        for c in columns:
            text, numeric = _cell(c, row[c])
            cells.append(f"<td class={'n' if numeric else 't'}>{html.escape(text)}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    more = (f"<p class='bnd-note'>{html.escape(t('reports.more-rows', shown=limit, total=len(df)))}"
            "</p>" if len(df) > limit else "")
    return HTML(f"<table class='bnd'><thead><tr>{head}</tr></thead>"
                f"<tbody>{''.join(body)}</tbody></table>{more}")


def figure(fig: Chart) -> Image:
    """The chart as an embedded PNG (the HTML export then carries it inline), with
    its alt text in the output's metadata, where the report's template finds it."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    return Image(data=buffer.getvalue(), format="png", alt=fig.alt)
