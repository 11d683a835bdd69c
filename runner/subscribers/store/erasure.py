"""Erasure in the database: a citizen's rows, and what forgotten citizens sent that a
sync stages again from logs not yet rewritten.

The lines of the files (logs, outbox) are :mod:`runner.subscribers.rights.erase_lines`';
the copies out of reach, :mod:`runner.subscribers.rights.out_of_reach`'.

``forgotten`` (citizen_id, until): the forget decisions, made by :func:`drop_forgotten`
and dropped by it once used.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from ...db import temp_table

if TYPE_CHECKING:
    import duckdb


class Forget(Protocol):
    """A forget decision: everything about ``citizen_id`` up to ``ts`` goes."""

    @property
    def citizen_id(self) -> str: ...

    @property
    def ts(self) -> datetime: ...


def erase(con: duckdb.DuckDBPyConnection, citizen_id: str,
          before: datetime | None = None) -> int:
    """Remove a citizen's number and events from the database: all of them, or those
    up to ``before`` (a forget decision: what the citizen wrote later stays).
    Returns how many rows went."""
    found = con.execute("SELECT wa_id FROM citizens WHERE citizen_id = ?",
                        [citizen_id]).fetchall()
    number = found[0][0] if found else None

    def delete(sql: str, params: list) -> int:
        return con.execute(sql, params).fetchall()[0][0]

    # An imported consent up to then goes too (the record's line leaves the logs).
    gone = delete("DELETE FROM imports WHERE citizen_id = ? AND (? IS NULL OR ts <= ?)",
                  [citizen_id, before, before])
    if before is not None:
        gone += delete("DELETE FROM inbound WHERE citizen_id = ? AND ts <= ?", [citizen_id, before])
        later = con.execute("SELECT count(*) FROM inbound WHERE citizen_id = ?",
                            [citizen_id]).fetchall()[0][0]
        if later:
            con.execute("UPDATE citizens SET profile_name = NULL WHERE citizen_id = ?",
                        [citizen_id])
            gone += delete("DELETE FROM statuses WHERE recipient_id = ? AND ts <= ?",
                           [number, before])
            return gone + delete("DELETE FROM deliveries WHERE citizen_id = ? AND created_at <= ?",
                                 [citizen_id, before])
    if number:
        gone += delete("DELETE FROM statuses WHERE recipient_id = ?", [number])
    for table in ("inbound", "subscribers", "subscriber_events", "consents", "citizens",
                  "deliveries"):
        gone += delete(f"DELETE FROM {table} WHERE citizen_id = ?", [citizen_id])
    return gone


def drop_forgotten(con: duckdb.DuckDBPyConnection, table: str, forgotten: Sequence[Forget]) -> None:
    """Delete from a staged ``table`` (columns citizen_id, ts: one of the store's own
    stage tables) what forgotten citizens sent up to their erasure."""
    if forgotten:
        temp_table(con, "forgotten", citizen_id=("VARCHAR", [d.citizen_id for d in forgotten]),
                   until=("TIMESTAMPTZ", [d.ts for d in forgotten]))
        con.execute(f"""
            DELETE FROM {table} WHERE EXISTS (
                SELECT 1 FROM forgotten f
                WHERE f.citizen_id = {table}.citizen_id AND {table}.ts <= f.until)""")
        con.execute("DROP TABLE forgotten")
