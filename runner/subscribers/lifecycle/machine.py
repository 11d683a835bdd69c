"""The subscriber state machine: a pure function of one citizen's keyword messages
and the staff decisions about them, replayed in time order.

States: ``pending`` (a moderated request waiting for staff; ``pending_action``
says whether it asks to subscribe or to unsubscribe), ``active``, ``paused``,
``unsubscribed``, ``rejected``, ``blocked``. Replayed in (timestamp, wamid)
order, any order of files, lines and duplicates gives the same result, and
``sync --rebuild`` gives the same database.

Rules, in the words of the towns:
- a keyword from a blocked citizen changes nothing (blocked is sticky until unblock);
- with moderation a subscription (or unsubscription) waits for approve/reject;
- unsubscribing needs no approval while the subscription itself is still pending;
- a moderated request is acknowledged at once (``ack_subscribe``/``ack_unsubscribe``),
  and a moderated unsubscription stops sending at once: the citizen is no longer
  ``active`` while staff decide;
- forget erases the citizen's data and ignores every earlier event, also on rebuild;
- a subscription that takes effect is welcomed (privacy notice, how to leave), unless
  the citizen was welcomed before under the same privacy notice as this consent's
  (``Event.notice``): a returner gets the short ``rejoined`` reply instead;
- the pause keyword moves an active subscriber to ``paused`` and the resume keyword
  (or the subscribe keyword) back to ``active``, each acknowledged; consent and topics
  stand. From any other state they change nothing and are not answered. A paused
  citizen may leave (moderated: back to ``paused`` if staff reject it) or be blocked.

An imported consent (``import``: the town's old list, ``subscribers import``) comes
first if at all, and makes the citizen active at once, answered by the
``migration`` reply instead of a welcome: they consented already. That reply is
due only while they stay: leaving before it went withdraws it.

Topics (:mod:`.topics`) ride along: a subscription records the topic it names
(none: every topic); an active subscriber's topic keyword, menu pick or plain
subscribe keyword (back to every topic) changes the choice, answered with the
menu headed by what changed; the menu keyword asks for the menu. Topic events of
anyone not active change nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from ...vocabulary import IMPORT, REPLY_PREFIX, SUBSCRIBED
from .decisions import Decision
from .topics import Action, Topics

# What a topic event does to the choice: a menu pick, or a keyword naming a topic.
_TOPIC_ACTIONS: dict[str, Action] = {"topic": "pick", "subscribe": "add", "unsubscribe": "remove"}


@dataclass(frozen=True)
class Event:
    """A message of one citizen that may change their state (kind: one of the
    vocabulary's REPLAYED_KINDS, or IMPORT)."""

    ts: datetime
    wamid: str
    kind: str
    keyword: str | None = None
    name: str | None = None
    topic: str | None = None  # named after the keyword, or picked in the menu
    notice: str | None = None  # the privacy notice in force at ts (store.notices.VERSION_AT)


@dataclass
class Outcome:
    """Everything the history of one citizen implies."""

    state: str | None = None
    pending_action: str | None = None
    name: str | None = None
    keyword: str | None = None
    since: datetime | None = None
    subscribed_at: datetime | None = None
    transitions: list[tuple[datetime, str | None, str, str]] = field(default_factory=list)
    topics: list[str] | None = None  # the topic ids chosen; None: every topic
    consents: list[str] = field(default_factory=list)  # wamids of accepted subscriptions
    # (delivery id, kind, ts, payload key or None for the kind's own)
    replies: list[tuple[str, str, datetime, str | None]] = field(default_factory=list)
    forgotten_until: datetime | None = None


def replay(events: Iterable[Event], decisions: Iterable[Decision], *,
           moderate_subscribe: bool, moderate_unsubscribe: bool,
           topics: Topics | None = None) -> Outcome:
    """The outcome of one citizen's keyword events and staff decisions, in time order.

    At equal timestamps a message comes before a decision; messages are ordered
    by wamid, decisions by their line in the file: any fixed tiebreak makes the
    result independent of the order the logs were read in.
    """
    timeline = sorted(
        [((e.ts, 0, e.wamid), e) for e in events]
        + [((d.ts, 1, f"{d.line:09d}"), d) for d in decisions],
        key=lambda item: item[0],
    )
    r = _Replay(moderate_subscribe, moderate_unsubscribe, topics)
    for _, item in timeline:
        if isinstance(item, Decision):
            r.decision(item)
        elif r.o.state != "blocked":  # a blocked citizen's keywords change nothing
            r.keyword(item)
    return r.o


class _Replay:
    def __init__(self, moderate_subscribe: bool, moderate_unsubscribe: bool,
                 topics: Topics | None):
        self.moderate_subscribe = moderate_subscribe
        self.moderate_unsubscribe = moderate_unsubscribe
        self.topics = topics
        self.forget(None)

    def forget(self, until: datetime | None) -> None:
        """Start over: nothing before ``until`` is known any more."""
        self.o = Outcome(forgotten_until=until)
        self.request: Event | None = None  # the pending request, if any
        self.before_request: str | None = None  # active or paused, before asking to leave
        self.before_block: tuple[str | None, str | None] = (None, None)
        self.welcomed_under: str | None = None  # the notice of the last welcome or rejoin

    def move(self, ts: datetime, to: str, cause: str, pending: str | None = None) -> None:
        o = self.o
        o.transitions.append((ts, o.state, to, cause))
        o.state, o.pending_action, o.since = to, pending, ts
        if to != "active":  # leaving (or blocked): the move's news is no longer due
            o.replies = [r for r in o.replies if r[1] != "migration"]
        if to == "active" and o.subscribed_at is None:
            o.subscribed_at = ts

    def join(self, ts: datetime, request: Event, cause: str) -> None:
        """A subscription takes effect: the welcome, or for a citizen welcomed before
        under the same privacy notice, the short reply."""
        self.move(ts, "active", cause)
        back = request.notice is not None and request.notice == self.welcomed_under
        self.o.replies.append(_reply(request, "rejoined" if back else "welcome"))
        self.welcomed_under = request.notice

    def decision(self, d: Decision) -> None:
        o = self.o
        if d.action == "forget":
            self.forget(d.ts)
        elif d.action == "block" and o.state != "blocked":
            self.before_block = (o.state, o.pending_action)
            self.move(d.ts, "blocked", "decision:block")
        elif d.action == "unblock" and o.state == "blocked":
            state, pending = self.before_block
            self.move(d.ts, state or "unsubscribed", "decision:unblock", pending)
        elif d.action in ("approve", "reject") and o.state == "pending" and self.request:
            joining = o.pending_action == "subscribe"
            if d.action == "approve" and joining:
                self.join(d.ts, self.request, "decision:approve")
            elif d.action == "approve":
                self.move(d.ts, "unsubscribed", "decision:approve")
                o.replies.append(_reply(self.request, "goodbye"))
            else:
                self.move(d.ts, "rejected" if joining else self.before_request or "active",
                          "decision:reject")
            self.request = None

    def imported(self, e: Event) -> None:
        """A consent moved in (subscribers import): it counts only as the first event."""
        o = self.o
        if o.state is None:
            o.consents.append(e.wamid)
            self.move(e.ts, "active", e.wamid)
            o.replies.append(_reply(e, "migration"))

    def keyword(self, e: Event) -> None:
        o = self.o
        if e.kind == IMPORT:
            self.imported(e)
            return
        if e.kind in ("pause", "resume"):
            self.pause(e)
            return
        if e.kind in ("topics", "topic") or (e.topic and (o.state == "active"
                                                         or e.kind == "unsubscribe")):
            self.topic(e)
            return
        joining = o.state == "pending" and o.pending_action == "subscribe"
        if e.kind == "subscribe":
            if o.state == "active" and o.topics is not None:  # the plain keyword: everything
                o.topics = None
                o.replies.append(_reply(e, "topics", "topics-all"))
            if o.state == "active" or joining:
                return
            if o.state == "paused":  # wants messages again: their consent stands
                self.pause(Event(e.ts, e.wamid, "resume"))
                return
            if o.state == "pending":  # asked to leave, then to stay: nothing to moderate
                self.move(e.ts, "active", e.wamid)
                self.request = None
                return
            o.consents.append(e.wamid)
            o.name, o.keyword = e.name or o.name, e.keyword
            o.topics = self.topics.normal([e.topic]) if e.topic and self.topics else None
            if self.moderate_subscribe:
                self.move(e.ts, "pending", e.wamid, "subscribe")
                self.request = e
                o.replies.append(_reply(e, "ack_subscribe"))
            else:
                self.join(e.ts, e, e.wamid)
        elif o.state in SUBSCRIBED and self.moderate_unsubscribe:
            self.before_request = o.state
            self.move(e.ts, "pending", e.wamid, "unsubscribe")
            self.request = e
            o.replies.append(_reply(e, "ack_unsubscribe"))
        elif o.state in SUBSCRIBED or joining:  # leaving needs no approval while joining
            self.move(e.ts, "unsubscribed", e.wamid)
            o.replies.append(_reply(e, "goodbye"))
            self.request = None

    def pause(self, e: Event) -> None:
        """Pause an active subscriber, resume a paused one; anything else is chatter."""
        o = self.o
        if e.kind == "pause" and o.state == "active":
            self.move(e.ts, "paused", e.wamid)
        elif e.kind == "resume" and o.state == "paused":
            self.move(e.ts, "active", e.wamid)
        else:
            return
        o.replies.append(_reply(e, e.kind))

    def topic(self, e: Event) -> None:
        """The menu keyword, a menu pick, or a keyword naming a topic: only an active
        subscriber's change anything."""
        o = self.o
        if o.state != "active" or self.topics is None:
            return
        if e.kind == "topics":
            o.replies.append(_reply(e, "topics"))
            return
        # A pick always names its topic (inbound stages only known rows), and a keyword
        # comes here only when it names one (apply).
        assert e.topic is not None
        o.topics, ack = self.topics.choose(o.topics, _TOPIC_ACTIONS[e.kind], e.topic)
        o.replies.append(_reply(e, "topics", ack))


def _reply(e: Event, kind: str,
           payload: str | None = None) -> tuple[str, str, datetime, str | None]:
    """(delivery id, kind, ts, payload): a menu headed by a change is "t:<wamid>"."""
    prefix = "t" if payload else REPLY_PREFIX[kind]
    return (f"{prefix}:{e.wamid}", kind, e.ts, payload)
