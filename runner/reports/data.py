"""The reports' common ground: the read-only connection, the period, and query helpers.

Every query returns timestamps as naive local times in the town's timezone
(the connection's ``TimeZone``): that is what a chart's date axis and a
reader expect, and pandas gets plain ``datetime64`` columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd

from .. import db
from ..errors import ConfigError, StoreError
from ..messages import t

# The tables the reports read (migration 0001_core).
TABLES = frozenset({
    "citizens", "inbound", "subscribers", "subscriber_events", "consents",
    "statuses", "announcements", "deliveries", "malformed",
})


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

    def params(self) -> dict:
        """Named query parameters: $start, $end, $as_of (timestamps), $first, $last (dates)."""
        return {"start": self.start, "end": self.end, "as_of": self.as_of,
                "first": self.first_day, "last": self.last_day}


def open_db(path: str | Path, timezone: str = "Europe/Rome") -> duckdb.DuckDBPyConnection:
    """Open the database read-only, with the town's timezone for dates and times."""
    ZoneInfo(timezone)  # an unknown zone fails here, before it reaches SQL
    con = db.connect(path, read_only=True)
    found = {row[0] for row in con.execute(
        "SELECT table_name FROM information_schema.tables").fetchall()}
    if TABLES - found:
        con.close()
        raise StoreError(t("reports.db-not-ready", path=path,
                           tables=", ".join(sorted(TABLES - found))))
    con.execute(f"SET TimeZone = '{timezone}'")
    return con


def resolve_period(con, since=None, until=None, timezone: str = "Europe/Rome",
                   now: datetime | str | None = None) -> Period:
    """The period asked for; a missing bound defaults to the first or last day with data."""
    first, last = con.execute(_BOUNDS).fetchone()
    today = (_as_datetime(now, timezone) or datetime.now(ZoneInfo(timezone))).date()
    first_day = _as_date(since) or min(first or today, today)
    # announcements planned for after «now» have not happened yet
    last_day = _as_date(until) or min(last or today, today)
    if last_day < first_day:
        raise StoreError(t("reports.period-reversed", since=first_day, until=last_day))
    return Period(first_day, last_day, timezone, _as_datetime(now, timezone))


_BOUNDS = """
SELECT min(lo)::DATE, max(hi)::DATE FROM (
    SELECT min(ts), max(ts) FROM subscriber_events
    UNION ALL SELECT min(ts), max(ts) FROM inbound
    UNION ALL SELECT min(created_at), max(coalesce(sent_at, created_at)) FROM deliveries
    UNION ALL SELECT min(ts), max(ts) FROM statuses
    UNION ALL SELECT min(publish_at), max(publish_at) FROM announcements
) AS bounds(lo, hi)
"""


def _as_date(value) -> date | None:
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


def _as_datetime(value, timezone: str) -> datetime | None:
    if value is None or value == "":
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(timezone))


def execute(con, sql: str, period: Period | None = None, **params):
    """Run a query with the period's parameters (plus ``params``) that it uses."""
    values = {**(period.params() if period else {}), **params}
    return con.execute(sql, {k: v for k, v in values.items() if f"${k}" in sql})


def frame(con, sql: str, period: Period | None = None, **params) -> pd.DataFrame:
    """Run a query (see :func:`execute`) and return a data frame."""
    return execute(con, sql, period, **params).df()


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
