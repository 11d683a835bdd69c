"""The counts-only file a send run publishes for reviewers (see
:mod:`runner.announcements.counts_file` for its shape and its reader).

Only counts leave the database here: the active subscribers, who an alert of each
category would reach and who of them cannot be reached (by reason), the citizens
each announcement reached and how many of them a correction would reach now, and
the template status/category changes Meta announced by webhook. Every audience
figure comes from :mod:`.audience`, as planning's do. The send workflow uploads
the file as an artifact; a pull request's check downloads it, since it has no
database (and a fork must not reach one); ``generated_at`` tells it how old it is.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from .. import db
from ..announcements.counts_file import Counts
from ..files import replace_durably
from ..whatsapp import template_state
from .audience import category_reach, received_reach
from .store import audiences, figures

if TYPE_CHECKING:
    import duckdb

    from ..config import Settings


def collect_counts(con: duckdb.DuckDBPyConnection, now: datetime,
                   settings: Settings | None = None) -> Counts:
    by_category = category_reach(con, settings) if settings is not None else {}
    return Counts(generated_at=now.isoformat(timespec="seconds"),
                  active=audiences.active_count(con), audiences=by_category,
                  sent=figures.reached_per_announcement(con), received=received_reach(con),
                  templates=template_state.changes(con))


def write_counts(settings: Settings) -> Path:
    """Write the counts file (``counts_file``) from the database."""
    con = db.connect(settings.database)
    try:
        counts = collect_counts(con, settings.current_time(), settings)
    finally:
        con.close()
    path = Path(settings.counts_file)
    replace_durably(path, (counts.to_json() + "\n").encode("utf-8"), mode=0o644)
    return path
