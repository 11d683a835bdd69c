"""What staff read about citizens: the subscribers' list, how they chose their topics,
who is known by an id or a captured name, and the near misses. Each reads; none
writes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from ...db import temp_table
from ...vocabulary import ACTIVE, NEAR_MISS

if TYPE_CHECKING:
    import duckdb


def subscribers(con: duckdb.DuckDBPyConnection, state: str | None) -> list[tuple]:
    """(citizen_id, wa_id, user_id, state, pending_action, name, since, subscribed_at,
    topics) of every subscriber, or of those in ``state``, in the order they got there."""
    return con.execute(
        """
        SELECT s.citizen_id, c.wa_id, c.user_id, s.state, s.pending_action, s.name,
               s.since, s.subscribed_at, s.topics
        FROM subscribers s LEFT JOIN citizens c USING (citizen_id)
        WHERE $state IS NULL OR s.state = $state
        ORDER BY s.since, s.citizen_id
        """,
        {"state": state},
    ).fetchall()


def topic_choices(con: duckdb.DuckDBPyConnection) -> tuple[int, int, dict[str, int]]:
    """How the active subscribers chose: every topic, only the mandatory categories, and
    how many chose each topic by name."""
    [(every, none)] = con.execute(
        "SELECT count(*) FILTER (topics IS NULL), count(*) FILTER (len(topics) = 0) "
        f"FROM subscribers WHERE state = '{ACTIVE}'").fetchall()
    chose = dict(con.execute(
        "SELECT topic, count(*) FROM (SELECT unnest(topics) AS topic FROM subscribers "
        f"WHERE state = '{ACTIVE}') GROUP BY ALL ORDER BY ALL").fetchall())
    return every, none, chose


def names(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """(citizen_id, name) of every name a citizen is known by: the subscription's, and
    each captured after a keyword."""
    return con.execute("""
        SELECT DISTINCT citizen_id, name FROM (
            SELECT citizen_id, name FROM subscribers WHERE name IS NOT NULL
            UNION ALL SELECT citizen_id, captured_name FROM inbound
            WHERE captured_name IS NOT NULL)""").fetchall()


def is_known(con: duckdb.DuckDBPyConnection, citizen_id: str) -> bool:
    """Whether the database knows this citizen."""
    return con.execute("SELECT count(*) FROM citizens WHERE citizen_id = ?",
                       [citizen_id]).fetchall()[0][0] > 0


def known_among(con: duckdb.DuckDBPyConnection, citizen_ids: Sequence[str]) -> set[str]:
    """Those of ``citizen_ids`` the database knows."""
    temp_table(con, "decided", citizen_id=("VARCHAR", citizen_ids))
    known = {row[0] for row in con.execute(
        "SELECT citizen_id FROM citizens WHERE citizen_id IN "
        "(SELECT citizen_id FROM decided)").fetchall()}
    con.execute("DROP TABLE decided")
    return known


def numbered(con: duckdb.DuckDBPyConnection) -> tuple[str, str] | None:
    """(citizen_id, number) of one citizen with a number, always the same one."""
    return next(iter(con.execute("SELECT citizen_id, wa_id FROM citizens WHERE wa_id IS NOT "
                                 "NULL ORDER BY citizen_id LIMIT 1").fetchall()), None)


def brief(con: duckdb.DuckDBPyConnection,
          citizen_id: str) -> tuple[str | None, str | None, str | None]:
    """(number, state, name) of a citizen, each None where unknown."""
    return next(iter(con.execute("""
        SELECT c.wa_id, s.state, s.name FROM citizens c LEFT JOIN subscribers s USING (citizen_id)
        WHERE c.citizen_id = ?""", [citizen_id]).fetchall()), (None, None, None))


def state_of(con: duckdb.DuckDBPyConnection, citizen_id: str) -> str | None:
    """A citizen's subscriber state; None when they have none."""
    # (fetchall, not fetchone: DuckDB 2 refuses register() while a result is open)
    row = next(iter(con.execute("SELECT state FROM subscribers WHERE citizen_id = ?",
                                [citizen_id]).fetchall()), None)
    return row[0] if row else None


def identities_of(con: duckdb.DuckDBPyConnection,
                  citizen_id: str) -> tuple[str | None, str | None] | None:
    """(number, business-scoped id) of a citizen; None when the database has no such
    citizen."""
    return next(iter(con.execute(
        "SELECT wa_id, user_id FROM citizens WHERE citizen_id = ?", [citizen_id]).fetchall()),
        None)


def near_misses(con: duckdb.DuckDBPyConnection, since: datetime | None) -> list[tuple]:
    """(form, keyword, messages, citizens, last) of the near misses since a time (None:
    all), grouped by masked form, most frequent first."""
    return con.execute(f"""
        SELECT coalesce(form, '…') AS form, keyword, count(*), count(DISTINCT citizen_id),
               max(ts)
        FROM inbound
        WHERE kind = '{NEAR_MISS}' AND ($since IS NULL OR ts >= $since)
        GROUP BY ALL ORDER BY 3 DESC, 5 DESC, 1""", {"since": since}).fetchall()
