"""What a notebook opens first: the database, read-only in the town's timezone, and the
period its figures cover (:class:`~runner.reports.period.Period`).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from .period import DayAsked, MomentAsked, Period, resolve
from .store import connection

__all__ = ["Period", "open_db", "resolve_period"]


def open_db(path: str | Path, timezone: str = "Europe/Rome") -> duckdb.DuckDBPyConnection:
    """Open the database read-only, with the town's timezone for dates and times; a
    database not synced yet is reported, with the tables it lacks."""
    return connection.open_read_only(path, timezone)


def resolve_period(con: duckdb.DuckDBPyConnection, since: DayAsked = None,
                   until: DayAsked = None, timezone: str = "Europe/Rome",
                   now: MomentAsked = None) -> Period:
    """The period asked for; a missing bound defaults to the first or last day with data."""
    return resolve(connection.data_bounds(con), since, until, timezone, now)
