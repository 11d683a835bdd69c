"""Emptying tables fast: in DuckDB, deleting every row of a keyed table costs seconds
per million, so a table is recreated from its own definition (and indexes) instead."""

from __future__ import annotations

from collections.abc import Iterable

import duckdb


def empty(con: duckdb.DuckDBPyConnection, tables: Iterable[str]) -> None:
    """Empty ``tables`` of the main schema, keeping their definition and indexes."""
    for table in tables:
        create = con.execute("SELECT sql FROM duckdb_tables() WHERE database_name = "
                             "current_database() AND schema_name = 'main' AND table_name = ?",
                             [table]).fetchall()[0][0]
        indexes = [r[0] for r in con.execute(
            "SELECT sql FROM duckdb_indexes() WHERE database_name = current_database() "
            "AND table_name = ? AND sql IS NOT NULL", [table]).fetchall()]
        con.execute(f"DROP TABLE {table}")
        con.execute(create)
        for index in indexes:
            con.execute(index)
