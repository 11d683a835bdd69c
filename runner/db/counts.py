"""The one number a statement answers with: ``SELECT count(*)``, or the rows an
INSERT, UPDATE or DELETE changed (DuckDB returns that count as a row)."""

from __future__ import annotations

import duckdb


def count(result: duckdb.DuckDBPyConnection) -> int:
    """The first value of the statement's one row."""
    row = result.fetchone()
    if row is None:  # only a statement that returns no count gets here: a bug in a store
        raise ValueError("the statement returned no row to count")
    return row[0]
