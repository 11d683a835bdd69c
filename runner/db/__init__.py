"""The database: opening subscribers.duckdb, transactions, and its named migrations.

subscribers.duckdb is a cache of the webhook logs (``sync --rebuild`` rebuilds it)
plus the send engine's record of what went out; every other stage reaches it
through :func:`connect` (:func:`reading` for a command that only reads, which never
creates the file) and :func:`transaction`; :func:`compact` rewrites the file
so that erased rows leave no bytes behind. Generic helpers for the stages' stores:
lists into tables (:func:`temp_table`, :func:`insert_rows`), tables emptied fast
(:func:`empty`), settings for the length of a job (:func:`configured`, :func:`kept`),
the one row or number a statement answers with (:func:`one`, :func:`count`).
"""

from .columns import insert_rows, temp_table
from .compact import compact
from .connection import connect, reading, require
from .migrations import applied_migrations, migrate
from .results import count, one
from .session import configured, kept
from .tables import empty
from .transactions import transaction

__all__ = ["applied_migrations", "compact", "configured", "connect", "count", "empty",
           "insert_rows", "kept", "migrate", "one", "reading", "require", "temp_table",
           "transaction"]
