"""The media uploaded once: a repository file's id at Meta, by its SHA-256 and the
transport and number it was uploaded through (``media_uploads``)."""

from __future__ import annotations

from datetime import datetime

import duckdb


def uploaded_id(con: duckdb.DuckDBPyConnection, digest: str, scope: str,
             since: datetime) -> str | None:
    """The id of the file ``digest`` uploaded in ``scope`` after ``since``."""
    row = con.execute(
        "SELECT media_id FROM media_uploads WHERE sha256 = ? AND scope = ? AND uploaded_at > ?",
        [digest, scope, since]).fetchone()
    return row[0] if row else None


def remember(con: duckdb.DuckDBPyConnection, digest: str, scope: str, path: str,
                    media_id: str, now: datetime) -> None:
    con.execute("INSERT OR REPLACE INTO media_uploads VALUES (?, ?, ?, ?, ?)",
                [digest, scope, path, media_id, now])
