"""Import records read back: the lines ``subscribers import`` writes beside the webhook
logs (:mod:`runner.subscribers.staff.imports`) are staged with the webhooks, as items
``import``, and become consents in ``imports``; the replay takes a citizen's first
one, when nothing they wrote came before it, as a subscription
(:mod:`runner.subscribers.lifecycle.machine`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..privacy import citizen_id as pseudonym
from ..store import imports as store

if TYPE_CHECKING:
    import duckdb

    from ...config import Settings
    from ..lifecycle.decisions import Decision


def merge(con: duckdb.DuckDBPyConnection, settings: Settings, key: bytes | None,
          forgotten: Sequence[Decision]) -> int:
    """The import records' new lines into ``imports``, and their citizens into
    ``citizens`` and the replay's scope. A line that is not a valid record is
    malformed, like a webhook's. Returns how many consents were new. Python only
    hashes the numbers it has not seen before."""
    store.read_records(con, settings.timezone)
    numbers = store.unknown_numbers(con)
    return store.insert(con, numbers, [pseudonym(n, key) for n in numbers], forgotten)
