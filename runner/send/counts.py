"""The counts-only file a send run publishes for reviewers (see
:mod:`runner.announcements.audience` for its shape and its reader).

Only counts leave the database here: the active subscribers (and how many each
category reaches, by topic), the citizens each announcement reached, and the
template status/category changes Meta announced by webhook. The send workflow
uploads the file as an artifact; a pull request's check downloads it, since it
has no database (and a fork must not reach one).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from .. import db
from ..announcements.audience import Counts
from ..files import replace_durably
from ..subscribers.topics import Topics
from ..subscribers.topics import counts as topic_counts
from ..vocabulary import REACHED, sql
from ..whatsapp import template_state

if TYPE_CHECKING:
    from ..config import Settings



def collect_counts(con, now: datetime, settings: Settings | None = None) -> Counts:
    active = con.execute("SELECT count(*) FROM subscribers WHERE state = 'active'").fetchone()[0]
    audiences = category_audiences(con, settings, active) if settings is not None else {}
    sent = dict(con.execute(
        f"SELECT announcement_id, count(*) FROM deliveries WHERE kind = 'announcement' "
        f"AND state IN {sql(REACHED)} GROUP BY ALL ORDER BY ALL").fetchall())
    templates = template_state.changes(con)
    return Counts(generated_at=now.isoformat(timespec="seconds"), active=active,
                  audiences=audiences, sent=sent, templates=templates)


def category_audiences(con, settings: Settings, active: int) -> dict[str, int]:
    """Active subscribers each of the town's categories reaches: those who chose its
    topic or every topic; all ``active`` for an emergency or mandatory category."""
    topics, found = Topics(settings), topic_counts(con)
    return {category: active if (topic := topics.of_category(category)) is None
            else found.receiving(topic) for category in settings.categories}


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
