"""What a statement that answers with exactly one row answers: that row (:func:`one`), or
its one number (:func:`count`: ``SELECT count(*)``, or the rows an INSERT, UPDATE or
DELETE changed, which DuckDB returns as a row). No row at all is a bug in a store."""

from __future__ import annotations

import duckdb


def one(result: duckdb.DuckDBPyConnection) -> tuple:
    """The statement's one row."""
    row = result.fetchone()
    if row is None:  # only a statement that returns no row gets here: a bug in a store
        raise ValueError("the statement returned no row")
    return row


def count(result: duckdb.DuckDBPyConnection) -> int:
    """The first value of the statement's one row."""
    return one(result)[0]
