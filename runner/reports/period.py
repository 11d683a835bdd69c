"""The days a report covers, in the town's timezone, and how a period asked for is
resolved: a missing bound is the first or last day with data, never after today.

Nothing here reads the database: :func:`resolve` takes the data's first and last days
from the store (:func:`runner.reports.store.connection.data_bounds`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ..errors import ConfigError, StoreError
from ..messages import t

# A day asked for: a date, or its ISO text as the command line and the notebooks'
# parameters give it ("YYYY-MM-DD"); None or "" for the data's own first or last day.
DayAsked = date | str | None
# When the report is made: a time, or its ISO text; None for the real clock.
MomentAsked = datetime | str | None


@dataclass(frozen=True)
class Period:
    """The days a report covers, in the town's timezone: [start, end)."""

    first_day: date
    last_day: date
    timezone: str = "Europe/Rome"
    # When the report is made; figures "as of" are taken at min(now, end).
    now: datetime | None = None

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first_day, time(), ZoneInfo(self.timezone))

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last_day + timedelta(days=1), time(), ZoneInfo(self.timezone))

    @property
    def as_of(self) -> datetime:
        return min(self.now, self.end) if self.now else self.end

    def params(self) -> dict[str, datetime | date]:
        """Named query parameters: $start, $end, $as_of (timestamps), $first, $last (dates)."""
        return {"start": self.start, "end": self.end, "as_of": self.as_of,
                "first": self.first_day, "last": self.last_day}


def resolve(bounds: tuple[date | None, date | None], since: DayAsked = None,
            until: DayAsked = None, timezone: str = "Europe/Rome",
            now: MomentAsked = None) -> Period:
    """The period asked for; a missing bound defaults to the first or last day of
    ``bounds`` (the data's), and neither goes past today."""
    first, last = bounds
    today = (_as_datetime(now, timezone) or datetime.now(ZoneInfo(timezone))).date()
    first_day = _as_date(since) or min(first or today, today)
    # announcements planned for after «now» have not happened yet
    last_day = _as_date(until) or min(last or today, today)
    if last_day < first_day:
        raise StoreError(t("reports.period-reversed", since=first_day, until=last_day))
    return Period(first_day, last_day, timezone, _as_datetime(now, timezone))


def _as_date(value: DayAsked) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(t("reports.bad-date", value=value)) from None


def _as_datetime(value: MomentAsked, timezone: str) -> datetime | None:
    if value is None or value == "":
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(timezone))
