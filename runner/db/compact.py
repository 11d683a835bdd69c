"""Rewriting the database into a fresh file, so deleted rows leave no bytes behind.

DuckDB keeps the blocks of deleted rows in the file and reuses them later: an
erased citizen's number or a text past its retention could still be read from
the file with ``strings``. :func:`compact` copies every table into a new file
(schema, data, indexes, the migrations record) and renames it over the old one.
Copying every table costs seconds for a large town's database (docs/measurements.md),
so it runs after an erasure and at most daily for texts past retention, never routinely.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from ..files import fsync_dir


def compact(path: str | Path) -> None:
    """Replace the database at ``path`` with a copy holding only its live rows."""
    path = Path(path)
    fresh = path.with_name(f".{path.name}.compact")
    fresh.unlink(missing_ok=True)
    con = duckdb.connect()
    try:
        con.execute("ATTACH ? AS old (READ_ONLY)", [str(path)])
        con.execute("ATTACH ? AS fresh", [str(fresh)])
        con.execute("COPY FROM DATABASE old TO fresh")
        have = {row[0] for row in con.execute(
            "SELECT index_name FROM duckdb_indexes() WHERE database_name = 'fresh'").fetchall()}
        for name, sql in con.execute(
                "SELECT index_name, sql FROM duckdb_indexes() WHERE database_name = 'old' "
                "AND sql IS NOT NULL").fetchall():
            if name not in have:
                con.execute("USE fresh")
                con.execute(sql)
        con.execute("USE memory")
        con.execute("DETACH old")
        con.execute("DETACH fresh")
    except BaseException:
        fresh.unlink(missing_ok=True)
        raise
    finally:
        con.close()
    os.replace(fresh, path)
    fsync_dir(path.parent)
