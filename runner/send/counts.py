"""The counts-only file a send run publishes for reviewers (see
:mod:`runner.announcements.audience` for its shape and its reader).

Only counts leave the database here: the active subscribers, the citizens each
announcement reached, and the template status/category changes Meta announced by
webhook. The send workflow uploads the file as an artifact; a pull request's
check downloads it, since it has no database (and a fork must not reach one).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from .. import db
from ..announcements.audience import Counts

if TYPE_CHECKING:
    from ..settings import Settings

# Deliveries that reached Meta: what an edit can no longer change.
_REACHED = "('sent', 'delivered', 'read', 'played')"


def collect_counts(con, now: datetime) -> Counts:
    active = con.execute("SELECT count(*) FROM subscribers WHERE state = 'active'").fetchone()[0]
    sent = dict(con.execute(
        f"SELECT announcement_id, count(*) FROM deliveries WHERE kind = 'announcement' "
        f"AND state IN {_REACHED} GROUP BY ALL ORDER BY ALL").fetchall())
    templates = {}
    for name, language, status, category, at in con.execute(
            "SELECT name, language, status, category, changed_at FROM template_state ORDER BY ALL"
            ).fetchall():
        change = {k: v for k, v in (("status", status), ("category", category)) if v}
        templates[f"{name}:{language}"] = {**change, "at": at.isoformat()}
    return Counts(generated_at=now.isoformat(timespec="seconds"), active=active, sent=sent,
                  templates=templates)


def write_counts(settings: Settings) -> Path:
    """Write the counts file (``counts_file``) from the database."""
    con = db.connect(settings.database)
    try:
        counts = collect_counts(con, settings.current_time())
    finally:
        con.close()
    path = Path(settings.counts_file)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(counts.to_json() + "\n", encoding="utf-8")
    tmp.replace(path)
    return path
