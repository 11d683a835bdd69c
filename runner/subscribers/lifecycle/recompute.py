"""Replaying citizens' histories and storing the outcome: what the state machine
(:mod:`.machine`) makes of each one's keyword messages, imported consent and the staff
decisions about them, written to subscribers (with their topics), subscriber_events,
consents and the reply deliveries (welcome or rejoined, goodbye, topic menu, pause and
resume, migration), through the store (:mod:`runner.subscribers.store.subscriber_states`).

Two ways to the same outcome:
- where the town moderates nothing, staff decided nothing about a citizen and
  the citizen never named a topic nor paused (almost everyone), the replay
  reduces to "a keyword that differs from the previous one changes the state",
  which one SQL pass over all citizens does;
- everyone else goes through :func:`~.machine.replay` in Python.
tests/subscribers/test_staff.py checks on random histories that both agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import groupby
from typing import TYPE_CHECKING, Literal

from ..store import subscriber_states as store
from .decisions import Decision
from .machine import Event, replay
from .notices import notice_version
from .topics import Topics

if TYPE_CHECKING:
    import duckdb

    from ...config import Settings

# Whom to replay: these citizens, those a sync's steps marked affected, or everyone.
Scope = Sequence[str] | Literal["affected", "everyone"]


@dataclass(frozen=True)
class Recomputed:
    """What a replay changed."""

    citizens: int  # citizens replayed
    replies: dict[str, int] = field(default_factory=dict)  # replies newly queued, by kind


def recompute(con: duckdb.DuckDBPyConnection, settings: Settings, citizens: Scope,
              decisions: Sequence[Decision]) -> Recomputed:
    """Replay and store the state of some citizens (see :data:`Scope`), given every
    staff decision."""
    decided: dict[str, list[Decision]] = {}
    for d in decisions:
        decided.setdefault(d.citizen_id, []).append(d)
    given = None if isinstance(citizens, str) else citizens
    store.scope(con, given, affected=citizens == "affected", decided=sorted(decided))
    store.split_plain(con, settings.moderate_subscribe or settings.moderate_unsubscribe)
    version = notice_version(settings)
    store.replay_plain(con, version)
    _replay_in_python(con, settings, decided, version)
    replies = store.store_outcome(con, version)
    done = Recomputed(store.scope_size(con), replies)
    store.forget(con)
    return done


def _replay_in_python(con: duckdb.DuckDBPyConnection, settings: Settings,
                      decided: dict[str, list[Decision]], version: str) -> None:
    subs, events, consents, replies = [], [], [], []
    topics = Topics(settings)
    for cid, group in groupby(store.histories(con, version), key=lambda r: r[0]):
        history = [Event(*r[1:]) for r in group if r[2] is not None]
        o = replay(history, decided.get(cid, ()),
                   moderate_subscribe=settings.moderate_subscribe,
                   moderate_unsubscribe=settings.moderate_unsubscribe, topics=topics)
        if o.state is not None:
            subs.append((cid, o.state, o.name, o.keyword, o.since, o.subscribed_at,
                         o.pending_action, o.topics))
        events += [(cid, *t) for t in o.transitions]
        consents += [(cid, w) for w in o.consents]
        replies += [(rid, kind, cid, ts, payload) for rid, kind, ts, payload in o.replies]
    store.add_outcomes(con, subs, events, consents, replies)
