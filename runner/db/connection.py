"""Opening subscribers.duckdb: migrated to the current schema to write, as it is to read.

A command that only reads (a listing, a citizen's record, the reports) never creates
the file: a missing database means nothing was synced here yet (or
``BANDITORE_DATABASE`` points elsewhere), and staff are told so, with the way out.
A file DuckDB cannot read is called damaged, with its way out too: the database is
a cache of the webhook logs, and ``sync --rebuild`` sets the damaged file aside and
builds it again from them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from ..errors import StoreError
from ..messages import t
from .migrations import MIGRATIONS, migrate


def connect(path: str | Path, *, read_only: bool = False, memory_limit: str | None = None,
            set_aside_damaged: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the database, creating it and applying pending migrations unless read-only.

    Read-only, the file must exist and be of the current schema (``sync`` brings an
    older one up to date). ``set_aside_damaged`` (``sync --rebuild``): a file DuckDB
    cannot open is renamed ``<name>.damaged-<time>`` and a new one is made.

    ``memory_limit`` caps DuckDB's buffer pool: by default (80 % of RAM) it keeps every
    block it has read, so memory grows with the tables; under the cap it evicts them
    and large joins spill to ``<database>.tmp``. It is a setting of the whole database
    instance, so it also holds for other connections to the same file in this process.
    """
    path = Path(path)
    if read_only:
        require(path)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = _open(path, read_only)
    except StoreError:
        if not set_aside_damaged or not path.exists():
            raise
        set_aside(path)
        con = _open(path, read_only)
    if memory_limit is not None:
        con.execute(f"SET memory_limit = '{memory_limit}'")
    if not read_only:
        migrate(con)
    return con


def require(path: str | Path) -> None:
    """A read needs the file: say what is missing and how to make it."""
    if not Path(path).exists():
        raise StoreError(t("db.missing", path=path))


def _open(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.ConnectionException:
        # This process holds the file already, in another configuration (read-only vs
        # read-write): nothing is wrong with the file, and the caller decides (see
        # runner.whatsapp.template_state). Called damage, `sync --rebuild` would set a
        # good database aside.
        raise
    except duckdb.Error as exc:
        raise unreadable(path, exc) from None
    try:  # the record of migrations is read first: a damaged file usually fails here
        applied = {row[0] for row in con.execute(
            "SELECT name FROM _migrations").fetchall()} if _has_migrations(con) else set()
    except duckdb.Error as exc:
        con.close()
        raise unreadable(path, exc) from None
    if read_only and {name for name, _ in MIGRATIONS} - applied:
        con.close()
        raise StoreError(t("db.outdated", path=path))
    return con


def _has_migrations(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(con.execute("SELECT count(*) FROM information_schema.tables "
                            "WHERE table_name = '_migrations'").fetchall()[0][0])


def unreadable(path: str | Path, exc: Exception) -> StoreError:
    """The error for a database DuckDB cannot read: in use by another process, or damaged."""
    if "lock" in str(exc).lower():
        return StoreError(t("cli.database-locked", path=path))
    return StoreError(t("db.damaged", path=path, detail=type(exc).__name__))


def set_aside(path: Path) -> Path:
    """Rename a damaged database (and its write-ahead log) out of the way; kept, not
    deleted: it may still hold what someone wants to look at."""
    aside = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%dT%H%M%S')}")
    path.rename(aside)
    wal = path.with_name(path.name + ".wal")
    if wal.exists():
        wal.rename(aside.with_name(aside.name + ".wal"))
    return aside


@contextmanager
def reading(path: str | Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection for a command that only reads; damage found while reading
    is reported like damage found when opening."""
    con = connect(path, read_only=True)
    try:
        yield con
    except (duckdb.IOException, duckdb.InternalException) as exc:
        raise unreadable(path, exc) from None
    finally:
        con.close()
