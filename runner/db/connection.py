"""Opening subscribers.duckdb, migrated to the current schema."""

from __future__ import annotations

from pathlib import Path

import duckdb

from ..errors import StoreError
from .migrations import migrate


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

