"""Dates as people write them, in the town's language: «3 aprile 2024», «3 aprile 2024
alle 10:00», «settimana da lunedì 1 a domenica 7 aprile 2024». Staff read these in problems and
in the reviewer's block; ISO forms (2024-04-03T10:00:00+02:00, 2024-W14) are for files."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from . import t


def _month(number: int) -> str:
    return t("date.months").split()[number - 1]


def day(value: date) -> str:
    """«3 aprile 2024» / «3 April 2024»."""
    return t("date.day", d=value.day, month=_month(value.month), year=value.year)


def day_month(value: date) -> str:
    """«3 aprile» / «3 April»: a day whose year the reader already has."""
    return t("date.day-month", d=value.day, month=_month(value.month))


def moment(value: datetime, tz: ZoneInfo | None = None) -> str:
    """«3 aprile 2024 alle 10:00» / «3 April 2024 at 10:00» (in ``tz`` when given)."""
    local = value.astimezone(tz) if tz is not None else value
    return t("date.moment", day=day(local.date()), time=local.strftime("%H:%M"))


def week(iso: str) -> str:
    """``2024-W14`` -> «settimana da lunedì 1 a domenica 7 aprile 2024» (the message
    around it puts the article)."""
    year, number = iso.split("-W")
    first = date.fromisocalendar(int(year), int(number), 1)
    last = first + timedelta(days=6)
    if first.year != last.year:
        start = day(first)
    elif first.month != last.month:
        start = day_month(first)
    else:
        start = str(first.day)
    return t("date.week", first=start, last=day(last))
