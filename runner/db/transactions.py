"""The one way the package writes in a transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import duckdb


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection, *,
                commit: bool | Callable[[], bool] = True) -> Iterator[None]:
    """One transaction: committed when the block ends, rolled back if anything escapes it
    (KeyboardInterrupt included: a half-done write never stays). ``commit=False`` rolls
    back in every case: a dry run that plans and counts and leaves nothing behind;
    a function is asked when the block ends (a worker that caught its errors)."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT" if (commit() if callable(commit) else commit) else "ROLLBACK")
