"""What a sync read and what it remembers between runs: how far each log file was read
(``log_files``), the lines it could not use (``malformed``), the webhooks' own errors
(``webhook_errors``), and its own record (``sync_meta``: what every event meant the
last time, when the file was last rewritten).

Temporary tables, made and dropped here: ``stage_reads`` (file, first: the ranges read
again, whose malformed lines are replaced) and ``stage_problems`` (the lines the reader
found unusable before DuckDB saw them).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from ...db import temp_table

if TYPE_CHECKING:
    import duckdb


def offsets(con: duckdb.DuckDBPyConnection) -> list[tuple[str, int, int, int]]:
    """(path, size, lines, tail) of every log file read before."""
    return con.execute("SELECT path, size, lines, tail FROM log_files").fetchall()


def record_offsets(con: duckdb.DuckDBPyConnection,
                   rows: Sequence[tuple[str, int, int, int, float]]) -> None:
    """How far each file was read now: (path, size, lines, tail, mtime)."""
    con.executemany(
        "INSERT OR REPLACE INTO log_files (path, size, lines, tail, mtime, synced_at) "
        "VALUES (?, ?, ?, ?, ?, now())", [list(row) for row in rows])


def forget_files(con: duckdb.DuckDBPyConnection, paths: Sequence[str]) -> None:
    """Forget how far these files were read (rewritten shorter: the next sync reads them
    again from the start)."""
    con.execute("DELETE FROM log_files WHERE path IN (SELECT unnest(?::VARCHAR[]))",
                [list(paths)])


def record_malformed(con: duckdb.DuckDBPyConnection, reread: Sequence[tuple[str, int]],
                     problems: Sequence[tuple[str, int, str, str]]) -> None:
    """The malformed lines of what was read: a range read again (``reread``: file and
    first line) replaces what was recorded for it; then the staged lines DuckDB found
    unusable and the ``problems`` the reader found (file, line, reason, detail)."""
    con.execute("CREATE OR REPLACE TEMP TABLE stage_reads (file VARCHAR, first BIGINT)")
    con.executemany("INSERT INTO stage_reads VALUES (?, ?)", [list(r) for r in reread])
    con.execute("DELETE FROM malformed m USING stage_reads r "
                "WHERE m.file = r.file AND m.line >= r.first")
    con.execute("DROP TABLE stage_reads")
    con.execute("""
        INSERT OR REPLACE INTO malformed
        SELECT file, line, arg_min(reason, item), arg_min(detail, item)
        FROM stage.stage_items WHERE reason IS NOT NULL GROUP BY file, line
        """)
    if problems:
        # One statement for all (executemany costs milliseconds a row).
        file, line, reason, detail = zip(*problems, strict=True)
        temp_table(con, "stage_problems", file=("VARCHAR", file), line=("BIGINT", line),
                   reason=("VARCHAR", reason), detail=("VARCHAR", detail))
        con.execute("INSERT OR REPLACE INTO malformed SELECT * FROM stage_problems")
        con.execute("DROP TABLE stage_problems")


def record_webhook_errors(con: duckdb.DuckDBPyConnection) -> int:
    """The staged ``value.errors[]`` items into ``webhook_errors``; how many were new."""
    return con.execute("""
        INSERT OR IGNORE INTO webhook_errors
        SELECT DISTINCT file, line, error_code, error_title FROM stage.stage_items
        WHERE item = 'error' AND error_code IS NOT NULL""").fetchall()[0][0]


def malformed_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Every malformed line recorded, by reason."""
    return dict(con.execute(
        "SELECT reason, count(*) FROM malformed GROUP BY ALL").fetchall())


def meta(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """What the last sync recorded about itself."""
    return dict(con.execute("SELECT key, value FROM sync_meta").fetchall())


def record_compaction(con: duckdb.DuckDBPyConnection, now: datetime) -> None:
    """The file is rewritten now."""
    con.execute("INSERT OR REPLACE INTO sync_meta VALUES ('compacted_at', ?)",
                [now.isoformat()])


def record_meaning(con: duckdb.DuckDBPyConnection, fingerprint: str, decisions: str) -> None:
    """What every event meant in this sync (the settings' and decisions' hashes)."""
    con.execute("INSERT OR REPLACE INTO sync_meta VALUES ('fingerprint', ?), "
                "('decisions', ?)", [fingerprint, decisions])
