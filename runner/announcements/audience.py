"""The counts-only file the send workflow publishes, as the reviewer reads it.

A pull request's check has no database (it holds phone numbers, and a fork's
pull request must not reach it), so the send job publishes what a reviewer
needs as counts and nothing else (``counts_file``, JSON)::

    {"generated_at": "2024-04-03T10:00:00+02:00",
     "active": 38,                                   # last known active subscribers
     "audiences": {"eventi": 21, "emergenze": 38},   # active subscribers each category
                                                     # reaches (its topic's, or everyone)
     "sent": {"2024-04-01-chiusura-via-roma": 37},   # citizens reached per announcement
     "templates": {"avviso_comune:it": {"status": "APPROVED", "category": "MARKETING",
                                        "at": "2024-04-02T08:00:00+00:00"}}}

``templates`` holds the status and category changes Meta announced by webhook
after the catalogue was synced. :mod:`runner.send.counts` writes the file.

Template states have one truth, what the latest sync stored
(:func:`template_changes`): the database's where there is one, else this file's.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from ..whatsapp import template_state
from ..whatsapp.templates import Catalogue, load_catalogue, updated

if TYPE_CHECKING:
    import duckdb

    from ..config import Settings


@dataclass(frozen=True)
class Counts:
    generated_at: str | None = None
    active: int | None = None  # None: unknown (no file yet)
    audiences: dict[str, int] = field(default_factory=dict)  # category -> who it reaches
    sent: dict[str, int] = field(default_factory=dict)
    templates: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def known(self) -> bool:
        return self.active is not None

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=1, sort_keys=True)


def parse_counts(text: str) -> Counts:
    """Counts from the file's text; anything unusable reads as "unknown", never an error:
    the reviewer's figures are an aid, not a gate."""
    try:
        data = json.loads(text)
    except ValueError:
        return Counts()
    if not isinstance(data, dict):
        return Counts()
    active = data.get("active")
    sent = data.get("sent") if isinstance(data.get("sent"), dict) else {}
    audiences = data.get("audiences") if isinstance(data.get("audiences"), dict) else {}
    templates = data.get("templates") if isinstance(data.get("templates"), dict) else {}
    return Counts(
        generated_at=str(data["generated_at"]) if data.get("generated_at") else None,
        active=active if isinstance(active, int) and active >= 0 else None,
        audiences={str(k): v for k, v in audiences.items() if isinstance(v, int)},
        sent={str(k): v for k, v in sent.items() if isinstance(v, int)},
        templates={str(k): {a: str(b) for a, b in v.items()}
                   for k, v in templates.items() if isinstance(v, dict)},
    )


@cache
def _cached(path: str, mtime_ns: int) -> Counts:
    return parse_counts(Path(path).read_text("utf-8", errors="replace"))


def read_counts(settings: Settings) -> Counts:
    path = Path(settings.counts_file)
    try:
        return _cached(str(path.resolve()), path.stat().st_mtime_ns)
    except OSError:
        return Counts()


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
