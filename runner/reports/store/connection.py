"""The reports' connection and what every query of the store shares: the database
opened read-only in the town's timezone, whether an older database has a table or a
column yet, the days with data, and running a query with the period's parameters.

Every query returns timestamps as naive local times in the town's timezone (the
connection's ``TimeZone``): that is what a chart's date axis and a reader expect,
and pandas gets plain ``datetime64`` columns.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd

from ... import db
from ...errors import StoreError
from ...messages import t
from ..period import Period

# A value a query binds to one of its $names besides the period's (a table's name, a
# number of hours).
Param = str | int | date

# The tables the reports read (migration 0001_core).
TABLES = frozenset({
    "citizens", "inbound", "subscribers", "subscriber_events", "consents",
    "statuses", "announcements", "deliveries", "malformed",
})


def open_read_only(path: str | Path, timezone: str = "Europe/Rome") -> duckdb.DuckDBPyConnection:
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


def has_table(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether the database has ``table`` (a table or a view) yet: a database from
    before the migration that made it is read as it is (read-only)."""
    return bool(db.count(con.execute("SELECT count(*) FROM information_schema.tables "
                                     "WHERE table_name = ?", [table])))


def has_columns(con: duckdb.DuckDBPyConnection, table: str, columns: set[str]) -> bool:
    """Whether ``table`` has every one of ``columns`` yet."""
    have = {row[0] for row in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ?",
        [table]).fetchall()}
    return columns <= have


def data_bounds(con: duckdb.DuckDBPyConnection) -> tuple[date | None, date | None]:
    """The first and last day anything happened: an event, a message, a delivery, a
    status webhook, an announcement's publication (None, None: nothing yet)."""
    first, last = db.one(con.execute(_BOUNDS))
    return first, last


_BOUNDS = """
SELECT min(lo)::DATE, max(hi)::DATE FROM (
    SELECT min(ts), max(ts) FROM subscriber_events
    UNION ALL SELECT min(ts), max(ts) FROM inbound
    UNION ALL SELECT min(created_at), max(coalesce(sent_at, created_at)) FROM deliveries
    UNION ALL SELECT min(ts), max(ts) FROM statuses
    UNION ALL SELECT min(publish_at), max(publish_at) FROM announcements
) AS bounds(lo, hi)
"""


def execute(con: duckdb.DuckDBPyConnection, sql: str, period: Period | None = None,
            **params: Param) -> duckdb.DuckDBPyConnection:
    """Run a query with the period's parameters (plus ``params``) that it uses."""
    values = {**(period.params() if period else {}), **params}
    return con.execute(sql, {k: v for k, v in values.items() if f"${k}" in sql})


def frame(con: duckdb.DuckDBPyConnection, sql: str, period: Period | None = None,
          **params: Param) -> pd.DataFrame:
    """Run a query (see :func:`execute`) and return a data frame."""
    return execute(con, sql, period, **params).df()


def count(con: duckdb.DuckDBPyConnection, sql: str, period: Period | None = None,
          **params: Param) -> int:
    """Run a query of one number (see :func:`execute`) and return it."""
    return db.count(execute(con, sql, period, **params))
