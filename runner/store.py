"""The DuckDB store: opening subscribers.duckdb and keeping its schema current."""

from __future__ import annotations

from pathlib import Path

import duckdb

from .errors import StoreError
from .migrations import MIGRATIONS


def connect(path: str | Path, *, read_only: bool = False,
            memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    """Open the database, creating it and applying pending migrations unless read-only.

    ``memory_limit`` caps DuckDB's buffer pool: by default (80 % of RAM) it keeps every
    block it has read, so memory grows with the tables; under the cap it evicts them
    and large joins spill to ``<database>.tmp``. It is a setting of the whole database
    instance, so it also holds for other connections to the same file in this process.
    """
    path = Path(path)
    if read_only and not path.exists():
        raise StoreError(f"{path} does not exist yet: run `python -m runner sync` first.")
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        raise StoreError(f"cannot open {path}: {exc}") from None
    if memory_limit is not None:
        con.execute(f"SET memory_limit = '{memory_limit}'")
    if not read_only:
        migrate(con)
    return con


def applied_migrations(con: duckdb.DuckDBPyConnection) -> list[str]:
    con.execute(
        "CREATE TABLE IF NOT EXISTS _migrations (name VARCHAR PRIMARY KEY, applied_at TIMESTAMPTZ)"
    )
    return [row[0] for row in con.execute("SELECT name FROM _migrations ORDER BY name").fetchall()]


def migrate(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply every migration not yet recorded, each with its record in one transaction."""
    done = set(applied_migrations(con))
    applied = []
    for name, sql in MIGRATIONS:
        if name in done:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(sql)
            con.execute("INSERT INTO _migrations VALUES (?, now())", [name])
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        applied.append(name)
    return applied
