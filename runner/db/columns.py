"""Python lists into DuckDB in one statement each, without pandas.

The lists travel as list parameters and are unnested side by side, so a
hundred thousand values cost one statement, not one per row (``executemany``)
and not a data-frame library in every install.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb


def temp_table(con: duckdb.DuckDBPyConnection, name: str,
               **columns: tuple[str, Sequence]) -> None:
    """``CREATE OR REPLACE TEMP TABLE name`` from equal-length lists: ``column=(type, values)``."""
    select = ", ".join(f"unnest(${col}::{sql_type}[]) AS {col}"
                       for col, (sql_type, _) in columns.items())
    params = {col: list(values) for col, (_, values) in columns.items()}
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT {select}", params)


def insert_rows(con: duckdb.DuckDBPyConnection, table: str, rows: Sequence[Sequence]) -> None:
    """``INSERT INTO table`` the rows (tuples in the table's column order)."""
    if not rows:
        return
    columns = list(zip(*rows, strict=True))
    select = ", ".join(f"unnest($c{i})" for i in range(len(columns)))
    con.execute(f"INSERT INTO {table} SELECT {select}",
                {f"c{i}": list(values) for i, values in enumerate(columns)})
