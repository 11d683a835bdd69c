"""Simulated citizens: what they write to the town's number, and what they should get.

Each citizen writes through Meta to the receiver (a signed ``messages``
webhook, Meta's shape) and keeps, by the town's own keywords, the state they
expect: subscribed or not, to which topics, paused or not. Typos and chatter
change nothing (never answered). The expected audience of an announcement is
read from these states as they stood when each send run started
(:meth:`Citizens.snapshot`). Numbers are invented (+39 333 0..), never printed:
the report names citizens by their label.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field

from runner.config import Settings

from .cloud import Poster, envelope


@dataclass
class Citizen:
    label: str
    number: str
    unreachable: bool = False  # the phone never gets messages: Meta answers failed (131026)
    reads: bool = True
    active: bool = False
    topics: list[str] | None = None  # None: every topic
    paused: bool = False
    subscribed: int = 0  # times they joined (each earns one welcome)
    keyword_at: list[float] = field(default_factory=list)  # monotonic time of each subscribe
    keyword_wamids: list[str] = field(default_factory=list)  # the messages a welcome answers

    def receives(self, category: str, everyone: frozenset[str], topic_of: dict[str, str]) -> bool:
        if not self.active or self.paused:
            return False
        if category in everyone or self.topics is None:
            return True
        return topic_of.get(category, category) in self.topics


class Citizens:
    def __init__(self, settings: Settings, poster: Poster, clock):
        self.settings = settings
        self.poster = poster
        self.clock = clock
        self.people: list[Citizen] = []
        self._wamids = itertools.count(1)
        self._numbers = itertools.count(1)
        self.everyone = frozenset(settings.emergency_categories) | frozenset(
            settings.mandatory_categories)
        self.topic_of = {c: label for label, members in settings.topic_groups.items()
                         for c in members}
        self.pause, self.resume = pause_keywords(settings)
        self.snapshots: list[tuple[int, dict[str, tuple]]] = []
        self.written = 0

    def new(self, label: str, **kw) -> Citizen:
        citizen = Citizen(label, f"39333{next(self._numbers):07d}", **kw)
        self.people.append(citizen)
        return citizen

    def write(self, citizen: Citizen, text: str) -> None:
        """The citizen sends ``text``; the receiver gets Meta's webhook, signed."""
        wamid = f"wamid.REHEARSAL{next(self._wamids):010d}"
        contact = {"profile": {"name": citizen.label}, "wa_id": citizen.number}
        body = envelope({"contacts": [contact],
                         "messages": [{"from": citizen.number, "id": wamid,
                                       "timestamp": str(self.clock()), "type": "text",
                                       "text": {"body": text}}]})
        if self.poster.post_now(body) == 200:
            self.poster.delivered += 1
        else:
            self.poster.send(body)  # Meta retries until the receiver takes it
        self.written += 1
        self._apply(citizen, text, time.monotonic(), wamid)

    def _apply(self, citizen: Citizen, text: str, at: float, wamid: str) -> None:
        words = text.strip().upper()
        subscribe = [k.upper() for k in self.settings.subscribe_keywords]
        unsubscribe = [k.upper() for k in self.settings.unsubscribe_keywords]
        if words in subscribe or any(words == f"{k} {t.upper()}" for k in subscribe
                                     for t in self.topic_ids()):
            topic = words.split()[-1].lower() if words not in subscribe else None
            if not citizen.active:
                citizen.subscribed += 1
                citizen.keyword_at.append(at)
                citizen.keyword_wamids.append(wamid)
                citizen.active, citizen.topics = True, None
            if topic:
                citizen.topics = sorted({*(citizen.topics or []), topic}) \
                    if citizen.topics is not None and citizen.subscribed > 1 else [topic]
        elif words in unsubscribe:
            citizen.active, citizen.paused = False, False
        elif self.pause and words == self.pause.upper() and citizen.active:
            citizen.paused = True
        elif self.resume and words == self.resume.upper():
            citizen.paused = False

    def topic_ids(self) -> list[str]:
        groups = set(self.settings.topic_groups)
        grouped = {c for members in self.settings.topic_groups.values() for c in members}
        return sorted(groups | {c for c in self.settings.categories
                                if c not in grouped and c not in self.everyone})

    def snapshot(self, run_id: int) -> None:
        """Who would receive what as a send run starts."""
        self.snapshots.append((run_id, {c.number: (c.active, c.paused, c.topics)
                                        for c in self.people}))

    def eligible(self, states: dict[str, tuple], category: str) -> set[str]:
        out = set()
        for c in self.people:
            active, paused, topics = states.get(c.number, (False, False, None))
            probe = Citizen(c.label, c.number, active=active, paused=paused, topics=topics)
            if probe.receives(category, self.everyone, self.topic_of):
                out.add(c.number)
        return out

    def by_number(self) -> dict[str, Citizen]:
        return {c.number: c for c in self.people}


def pause_keywords(settings: Settings) -> tuple[str | None, str | None]:
    """The town's pause and resume keywords, where this version has them (wave/lifecycle).

    Found by the settings' names, so the rehearsal runs with or without them.
    """
    found = {}
    for name, field_info in Settings.model_fields.items():
        for word in ("pause", "resume"):
            if word in name and name.endswith("keywords"):
                value = getattr(settings, name, None) or field_info.default
                if isinstance(value, list) and value:
                    found[word] = value[0]
    return found.get("pause"), found.get("resume")
