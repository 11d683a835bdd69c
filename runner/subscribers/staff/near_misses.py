"""Near misses for staff: messages that nearly were a keyword, grouped by their form.

Each group is a masked form (:func:`runner.subscribers.privacy.masked_form`:
keyword-like words kept, anything personal masked) with how many messages and
citizens, when last seen, and the configured keyword it is close to. Staff
read it to add an accepted spelling, fix the town's web page, or turn on
``near_miss_hint``. It never shows what a citizen wrote beyond that form.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from ... import db
from ...errors import BanditoreError
from ...messages import t
from ..store import citizens

if TYPE_CHECKING:
    from ...config import Settings


@dataclass
class Group:
    form: str
    keyword: str | None  # the configured keyword it is close to, if one
    messages: int
    citizens: int
    last: datetime


def near_misses(settings: Settings, since: str | date | None = None) -> list[Group]:
    """The near misses since a day (default: all), most frequent first."""
    first = _day(since)
    with db.reading(settings.database) as con:
        rows = citizens.near_misses(con, datetime.combine(first, datetime.min.time(),
                                                          settings.tz) if first else None)
    return [Group(*row) for row in rows]


def _day(value: str | date | None) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BanditoreError(t("rights.near-misses.bad-date", value=value)) from None


def report(settings: Settings, since: str | date | None = None, fmt: str = "table") -> str:
    groups = near_misses(settings, since)
    if fmt == "json":
        return json.dumps([{**asdict(g), "last": g.last.isoformat()} for g in groups],
                          ensure_ascii=False, indent=2)
    if not groups:
        return t("rights.near-misses.none")
    lines = [t("rights.near-misses.title", messages=sum(g.messages for g in groups),
               groups=len(groups)),
             t("rights.near-misses.header")]
    for g in groups:
        last = g.last.astimezone(settings.tz).strftime("%d/%m/%Y")
        lines.append(f"{g.messages:8d} {g.citizens:10d}  {last}  {(g.keyword or '-')[:22]:22s}"
                     f"  {g.form}")
    lines.append(t("rights.near-misses.what-to-do",
                   hint=t("rights.near-misses.hint-on" if settings.near_miss_hint
                          else "rights.near-misses.hint-off")))
    return "\n".join(lines)
