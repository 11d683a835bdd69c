"""The template catalogue as it stands: the committed one with what Meta announced since.

Template states have one truth, what the latest sync stored
(:func:`template_changes`): the database's where there is one, else the counts
file's (:mod:`.counts_file`), which a pull request's check downloads since it has
no database. So validate, the reviewer's block, the bubble and send all decide on
the same state, right after a sync.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..whatsapp import template_state
from ..whatsapp.templates import Catalogue, load_catalogue, updated
from .counts_file import read_counts

if TYPE_CHECKING:
    import duckdb

    from ..config import Settings


def template_changes(settings: Settings, con: duckdb.DuckDBPyConnection | None = None
                     ) -> dict[str, dict[str, str]]:
    """The template status/category changes the latest sync stored: from ``con`` or
    the database file (read-only, never created) where there is one, else from the
    counts file a pull request's check downloads (it has no database). So validate,
    the reviewer's block and send all decide on the same state, right after a sync."""
    if con is not None:
        return template_state.changes(con)
    stored = template_state.stored(settings.database)
    return stored if stored is not None else read_counts(settings).templates


def known_templates(settings: Settings, con: duckdb.DuckDBPyConnection | None = None
                    ) -> Catalogue:
    """The committed catalogue with the changes Meta announced since (see
    :func:`template_changes`; ``con``: a connection the caller holds already)."""
    return updated(load_catalogue(settings), template_changes(settings, con))
