"""Simulated citizens: what they write to the town's number, and what they should get.

Each citizen writes through Meta to the receiver (a signed ``messages``
webhook, Meta's shape) and keeps, by the town's own keywords, the state they
expect: subscribed or not, to which topics, paused or not, and each keyword
that changes it expects its reply (:class:`Asked`). Typos and chatter change
nothing. Who should receive an announcement is read from these states as they
stood when each send run started (:meth:`Citizens.snapshot`). Numbers are
invented (+39 333 0..), never printed: the report names citizens by their label.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field

from runner.config import Settings
from runner.vocabulary import REPLY_PREFIX

from .cloud import Poster, envelope


@dataclass(frozen=True)
class Asked:
    """A keyword that changed the citizen's state, and the replies that may answer it
    (delivery id prefixes, :data:`runner.vocabulary.REPLY_PREFIX`)."""

    what: str  # subscribe, unsubscribe, pause, resume, topics
    wamid: str  # the citizen's message: a reply's delivery id ends with it
    at: float  # time.monotonic() when it was written
    prefixes: tuple[str, ...]


# What answers each keyword: a subscription a welcome (or, for a returner under the
# same privacy notice, "di nuovo iscritto"), and so on.
ANSWERS = {"subscribe": ("welcome", "rejoined"), "unsubscribe": ("goodbye",),
           "pause": ("pause",), "resume": ("resume",), "topics": ("topics",)}


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
    asked: list[Asked] = field(default_factory=list)  # keywords that expect a reply

    def why_not(self, category: str, everyone: frozenset[str],
                topic_of: dict[str, str]) -> str | None:
        """None when an announcement of ``category`` is theirs; else why not."""
        if not self.active:
            return "not subscribed"
        if self.paused:
            return "paused"
        if category in everyone or self.topics is None:
            return None
        return None if topic_of.get(category, category) in self.topics else "another topic"

    def receives(self, category: str, everyone: frozenset[str], topic_of: dict[str, str]) -> bool:
        return self.why_not(category, everyone, topic_of) is None

    def subscriptions(self) -> list[Asked]:
        return [a for a in self.asked if a.what == "subscribe"]


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
        self.pause = (settings.pause_keywords or [None])[0]
        self.resume = (settings.resume_keywords or [None])[0]
        self.snapshots: dict[int, dict[str, tuple]] = {}  # run id -> states at its start
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
        """The state the town's keywords give (runner/subscribers/replay.py, as
        documented there), and the reply each change earns."""
        words = text.strip().upper()
        subscribe = [k.upper() for k in self.settings.subscribe_keywords]
        unsubscribe = [k.upper() for k in self.settings.unsubscribe_keywords]
        # Without the topic menu (topics_menu), its keyword is chatter like any other.
        menu = [k.upper() for k in self.settings.topics_keywords] \
            if self.settings.topics_menu else []

        def answer(what: str) -> None:
            prefixes = tuple(REPLY_PREFIX[kind] for kind in ANSWERS[what])
            citizen.asked.append(Asked(what, wamid, at, prefixes))

        if words in subscribe or any(words == f"{k} {t.upper()}" for k in subscribe
                                     for t in self.topic_ids()):
            topic = words.split()[-1].lower() if words not in subscribe else None
            if not citizen.active:
                citizen.subscribed += 1
                answer("subscribe")
                citizen.active, citizen.topics = True, None
            citizen.paused = False  # the subscribe keyword resumes too
            if topic:
                citizen.topics = sorted({*(citizen.topics or []), topic}) \
                    if citizen.topics is not None and citizen.subscribed > 1 else [topic]
        elif words in unsubscribe:
            if citizen.active:
                answer("unsubscribe")
            citizen.active, citizen.paused = False, False
        elif self.pause and words == self.pause.upper() and citizen.active \
                and not citizen.paused:
            citizen.paused = True
            answer("pause")
        elif self.resume and words == self.resume.upper() and citizen.paused:
            citizen.paused = False
            answer("resume")
        elif words in menu and citizen.active:
            answer("topics")

    def topic_ids(self) -> list[str]:
        groups = set(self.settings.topic_groups)
        grouped = {c for members in self.settings.topic_groups.values() for c in members}
        return sorted(groups | {c for c in self.settings.categories
                                if c not in grouped and c not in self.everyone})

    def snapshot(self, run_id: int) -> None:
        """Who would receive what as a send run starts."""
        self.snapshots[run_id] = {c.number: (c.active, c.paused, c.topics)
                                  for c in self.people}

    def why_not(self, states: dict[str, tuple], number: str, category: str) -> str | None:
        """For a run's ``states``: None when ``number`` should get ``category``; else why not."""
        active, paused, topics = states.get(number, (False, False, None))
        probe = Citizen("", number, active=active, paused=paused, topics=topics)
        return probe.why_not(category, self.everyone, self.topic_of)

    def eligible(self, states: dict[str, tuple], category: str) -> set[str]:
        return {c.number for c in self.people if self.why_not(states, c.number, category) is None}

    def by_number(self) -> dict[str, Citizen]:
        return {c.number: c for c in self.people}
