"""Settings of a connection for the length of one job, put back when it ends."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb


@contextmanager
def configured(con: duckdb.DuckDBPyConnection, **values: str | bool) -> Iterator[None]:
    """``SET`` each setting for the block, ``RESET`` it (to its default) after."""
    try:
        for name, value in values.items():
            con.execute(f"SET {name} = {_literal(value)}")
        yield
    finally:
        for name in values:
            con.execute(f"RESET {name}")


@contextmanager
def kept(con: duckdb.DuckDBPyConnection, name: str, value: int) -> Iterator[None]:
    """``SET`` a setting of the whole instance (``threads``) for the block, then put back
    the value it had: other connections to the same file share it."""
    before = con.execute(f"SELECT current_setting('{name}')").fetchall()[0][0]
    con.execute(f"SET {name} = {int(value)}")
    try:
        yield
    finally:
        con.execute(f"SET {name} = {int(before)}")


def _literal(value: str | bool) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return f"'{value}'"
