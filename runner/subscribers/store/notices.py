"""The privacy notices' dates, and the replies sync queues once and never withdraws: a
new notice for those who consented to an older one, a hint for a near miss. (The
replies a keyword earns are the state machine's: :mod:`.subscriber_states` stores them.)"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from ...vocabulary import KEYWORDS, NEAR_MISS, sql

if TYPE_CHECKING:
    import duckdb

# The version in force at a consent's time (SQL, ``ts`` being the consent's column; the
# parameter is the version in force now, for a time before any).
VERSION_AT = """coalesce((SELECT arg_max(n.version, n.in_force_from) FROM notices n
                          WHERE n.in_force_from <= {ts}), ?)"""


def any_notice(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether a notice was ever dated."""
    return bool(con.execute("SELECT count(*) FROM notices").fetchall()[0][0])


def first_event(con: duckdb.DuckDBPyConnection) -> datetime | None:
    """When the first message or imported consent is dated, if any."""
    return con.execute("SELECT min(ts) FROM (SELECT ts FROM inbound UNION ALL "
                       "SELECT ts FROM imports)").fetchall()[0][0]


def date_notice(con: duckdb.DuckDBPyConnection, version: str, start: datetime) -> None:
    """Record that ``version`` is in force from ``start``, unless it was dated before."""
    con.execute("INSERT OR IGNORE INTO notices VALUES (?, ?)", [version, start])


def queue_notices(con: duckdb.DuckDBPyConnection, version: str, now: datetime) -> int:
    """A 'notice' reply to each active subscriber whose latest consent was given under
    another notice than ``version``, once per version (the delivery id names it)."""
    return con.execute("""
        INSERT INTO deliveries (delivery_id, kind, citizen_id, state, created_at)
        SELECT 'n:' || s.citizen_id || ':' || $version, 'notice', s.citizen_id, 'queued', $now
        FROM subscribers s
        JOIN (SELECT citizen_id, arg_max(notice_version, ts) AS version
              FROM consents GROUP BY citizen_id) c USING (citizen_id)
        WHERE s.state = 'active' AND c.version <> $version
          AND 'n:' || s.citizen_id || ':' || $version NOT IN (SELECT delivery_id FROM deliveries)
        """, {"version": version, "now": now}).fetchall()[0][0]


def queue_hints(con: duckdb.DuckDBPyConnection, since: datetime, still_open: datetime) -> int:
    """A 'hint' reply to each near miss from ``still_open`` on that is a citizen's first in
    24 hours (looking back to ``since``), unless a keyword followed or the citizen is
    blocked."""
    return con.execute(f"""
        INSERT INTO deliveries (delivery_id, kind, citizen_id, state, created_at)
        WITH recent AS (SELECT wamid, citizen_id, ts, kind FROM inbound WHERE ts >= $since),
        near AS (
            SELECT wamid, citizen_id, ts,
                   lag(ts) OVER (PARTITION BY citizen_id ORDER BY ts, wamid) AS previous
            FROM recent WHERE kind = '{NEAR_MISS}'),
        keyworded AS (
            SELECT citizen_id, max(ts) AS last_keyword FROM recent
            WHERE kind IN {sql(KEYWORDS)} GROUP BY citizen_id)
        SELECT 'h:' || n.wamid, 'hint', n.citizen_id, 'queued', n.ts
        FROM near n LEFT JOIN keyworded k USING (citizen_id)
        WHERE n.ts >= $open
          AND (n.previous IS NULL OR n.previous < n.ts - INTERVAL 24 HOUR)
          AND (k.last_keyword IS NULL OR k.last_keyword < n.ts)
          AND n.citizen_id NOT IN (SELECT citizen_id FROM subscribers WHERE state = 'blocked')
          AND 'h:' || n.wamid NOT IN (SELECT delivery_id FROM deliveries)
        """, {"since": since, "open": still_open}).fetchall()[0][0]
