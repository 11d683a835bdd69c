"""Delivery statuses from the logs: the status webhooks Meta sent for each message we
sent, merged into ``statuses`` (the highest state each reached) so that any order and
repetition give the same row. A forgotten citizen's statuses up to their erasure are
left out; their recipients are pseudonymised (in Python) only then."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..privacy import citizen_id as pseudonym
from ..store import delivery_statuses as store

if TYPE_CHECKING:
    import duckdb

    from ..lifecycle.decisions import Decision


def merge_statuses(con: duckdb.DuckDBPyConnection, key: bytes | None,
                   forgotten: Sequence[Decision]) -> int:
    """Highest state per wamid, as order-independent min/max merges; returns how many
    status webhooks were read."""
    read = store.staged_count(con)
    if forgotten:
        recipients = store.recipients(con)
        store.merge_kept(con, recipients, [pseudonym(r, key) for r in recipients], forgotten)
    else:
        store.merge(con)
    return read
