"""What Meta said about the town's account rather than one message: the errors of
the whole account (``value.errors[]``) and the latest state of each template.
Both tables came with later migrations: an older database, read as it is, has none.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from .connection import frame, has_table


def webhook_errors(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """error_code, title, errors: every account-level error on record, most first
    (they carry no time of their own)."""
    if not has_table(con, "webhook_errors"):  # a database from before migration 0003_sync
        return pd.DataFrame(columns=["error_code", "title", "errors"])
    return frame(con, """
        SELECT code AS error_code, max(title) AS title, count(*) AS errors
        FROM webhook_errors GROUP BY code ORDER BY errors DESC, code
    """)


TEMPLATE_COLUMNS = ["template_name", "template_language", "template_status",
                    "template_category", "changed_at"]


def template_changes(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The columns :data:`TEMPLATE_COLUMNS`: the latest status and category Meta announced
    for each template (view ``template_state``), newest first."""
    if not has_table(con, "template_state"):  # a database from before migration 0007
        return pd.DataFrame(columns=TEMPLATE_COLUMNS)
    return frame(con, """
        SELECT name AS template_name, language AS template_language,
               coalesce(status, '-') AS template_status,
               coalesce(category, '-') AS template_category,
               strftime(changed_at, '%Y-%m-%d %H:%M') AS changed_at
        FROM template_state ORDER BY changed_at DESC, name""")
