"""The counts-only file the send workflow publishes: its shape, and its reader.

A pull request's check has no database (it holds phone numbers, and a fork's
pull request must not reach it), so the send job publishes what a reviewer
needs as counts and nothing else (``counts_file``, JSON)::

    {"generated_at": "2024-04-03T10:00:00+02:00",    # when it was computed
     "active": 38,                                   # last known active subscribers
     "audiences": {                                  # who each category reaches (its
       "eventi": {"members": 21, "unreachable": {}}, # topic's subscribers, or everyone)
       "emergenze": {"members": 38,                  # and who of them cannot be reached,
                     "unreachable": {"no_phone_number": 1}}},          # by reason
     "sent": {"2024-04-01-chiusura-via-roma": 37},   # citizens reached per announcement
     "received": {"2024-04-01-chiusura-via-roma":    # of them, those still subscribed:
                  {"members": 36, "unreachable": {}}},  # a correction's audience
     "templates": {"avviso_comune:it": {"status": "APPROVED", "category": "MARKETING",
                                        "at": "2024-04-02T08:00:00+00:00"}}}

``templates`` holds the status and category changes Meta announced by webhook
after the catalogue was synced (read through :mod:`.catalogue`).
:mod:`runner.send.counts` writes the file from :mod:`runner.send.audience`, the
one place an audience is computed; the reviewer's block (:mod:`.review`) reads it.
A file written before audiences had reasons (a plain count per category) still reads.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..config import Settings


@dataclass(frozen=True)
class Reach:
    """An audience's figures: who is in it, and who of them cannot be reached, by reason
    (the words of :data:`runner.vocabulary.UNREACHABLE_REASONS`)."""

    members: int = 0
    unreachable: dict[str, int] = field(default_factory=dict)

    @property
    def reachable(self) -> int:
        return self.members - sum(self.unreachable.values())

    @classmethod
    def parse(cls, value: object) -> Reach | None:
        if isinstance(value, int) and value >= 0:  # a file from before reasons
            return cls(value)
        if not isinstance(value, dict) or not isinstance(value.get("members"), int):
            return None
        why = _table(value, "unreachable")
        return cls(value["members"], {str(k): v for k, v in why.items()
                                      if isinstance(v, int) and v > 0})


@dataclass(frozen=True)
class Counts:
    generated_at: str | None = None
    active: int | None = None  # None: unknown (no file yet)
    audiences: dict[str, Reach] = field(default_factory=dict)  # category -> who it reaches
    sent: dict[str, int] = field(default_factory=dict)
    received: dict[str, Reach] = field(default_factory=dict)  # original -> its correction's
    templates: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def known(self) -> bool:
        return self.active is not None

    def age_days(self, now: datetime) -> float | None:
        """How old the figures are at ``now``, in days (None: no date, or not a date)."""
        try:
            at = datetime.fromisoformat(self.generated_at or "")
        except ValueError:
            return None
        if at.tzinfo is None or now.tzinfo is None:
            return None
        return (now - at).total_seconds() / 86400

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
    sent, audiences = _table(data, "sent"), _table(data, "audiences")
    received, templates = _table(data, "received"), _table(data, "templates")
    return Counts(
        generated_at=str(data["generated_at"]) if data.get("generated_at") else None,
        active=active if isinstance(active, int) and active >= 0 else None,
        audiences=_reaches(audiences),
        sent={str(k): v for k, v in sent.items() if isinstance(v, int)},
        received=_reaches(received),
        templates={str(k): {a: str(b) for a, b in v.items()}
                   for k, v in templates.items() if isinstance(v, dict)},
    )


def _table(data: dict, key: str) -> dict:
    """The table at ``key``; anything else reads as empty."""
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _reaches(values: dict) -> dict[str, Reach]:
    return {str(k): reach for k, v in values.items() if (reach := Reach.parse(v)) is not None}


@cache
def _cached(path: str, mtime_ns: int) -> Counts:
    return parse_counts(Path(path).read_text("utf-8", errors="replace"))


def read_counts(settings: Settings) -> Counts:
    path = Path(settings.counts_file)
    try:
        return _cached(str(path.resolve()), path.stat().st_mtime_ns)
    except OSError:
        return Counts()
