"""The subscribers as staff read them (``subscribers list``): who, in which state since
when, with which topics, and how many receive each topic. Listing only reads: it
never creates a database."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from ... import db
from ...messages import t
from ..lifecycle.topics import Topics
from ..lifecycle.topics import counts as topic_counts
from ..privacy import mask_number
from ..store import citizens

if TYPE_CHECKING:
    from ...config import Settings


@dataclass
class Row:
    citizen_id: str
    number: str
    state: str
    pending_action: str | None
    name: str | None
    since: datetime
    subscribed_at: datetime | None
    topics: list[str] | None = None  # None: every topic


def list_subscribers(settings: Settings, state: str | None = None,
                     unmasked: bool = False) -> list[Row]:
    with db.reading(settings.database) as con:
        rows = citizens.subscribers(con, state)
    return [
        Row(cid, (wa or user or "") if unmasked else (mask_number(wa) if wa else t(
            "subscribers.no-number")), st, pa, name, since, sub, chosen)
        for cid, wa, user, st, pa, name, since, sub, chosen in rows
    ]


def listing(settings: Settings, state: str | None = None, fmt: str = "table",
            unmasked: bool = False) -> str:
    """The subscribers as staff read them: a table, or JSON for scripts."""
    rows = list_subscribers(settings, state, unmasked)
    if fmt == "json":
        return json.dumps([
            {"citizen_id": r.citizen_id, "number": r.number, "state": r.state,
             "pending_action": r.pending_action, "name": r.name,
             "since": r.since.isoformat(),
             "subscribed_at": r.subscribed_at.isoformat() if r.subscribed_at else None,
             "topics": r.topics}
            for r in rows], ensure_ascii=False, indent=2)
    if not rows:
        return t("subscribers.list-empty")
    lines = [t("subscribers.list-header") + t("topics.list-column")]
    every = t("topics.every")
    for r in rows:
        state = f"{r.state}:{r.pending_action}" if r.pending_action else r.state
        since = r.since.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")
        chosen = every if r.topics is None else ", ".join(r.topics) or "-"
        lines.append(f"{r.citizen_id}  {r.number:16s}  {state:12s}  {(r.name or '-')[:20]:20s} "
                     f"{since}  {chosen}")
    return "\n".join([*lines, "", *topic_lines(settings)])


def topic_lines(settings: Settings) -> list[str]:
    """Active subscribers per topic (who chose it, plus everyone with every topic)."""
    with db.reading(settings.database) as con:
        found = topic_counts(con)
    lines = [t("topics.counts-header", every=found.every, none=found.none)]
    for topic in Topics(settings).topics:
        lines.append(t("topics.counts-line", topic=topic.label,
                       receiving=found.receiving(topic.id), chose=(found.chose or {}).get(
                           topic.id, 0)))
    return lines
