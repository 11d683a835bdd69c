"""Who each announcement goes to, and who of them can be reached: the one place an
audience is computed. Planning inserts its deliveries from it; the dry run, the
counts file the reviewer reads (:mod:`.counts`), the run summary and the public
channels read its figures, so what the reviewer is told is what happens.

- an alert goes to the active subscribers of its category's topic: those who
  chose that topic, or every topic (``topics IS NULL``); an emergency or
  mandatory category to every active subscriber;
- a correction (``updates``) or withdrawal (``cancels``) goes to the citizens who
  received the original (sent, delivered or read) and are still subscribed: each
  quoting the wamid they got when there is one, plainly when there is none (the
  outbox gives none); never to anyone who subscribed since;
- a drill (``status: exercise | test``) goes to the staff test group alone.

Each audience is a ``SELECT citizen_id, reply_to`` of the store
(:mod:`.store.audiences`) that planning filters by citizen range and by who has a
delivery already.

A citizen is reached at their number (``to``) or, known only by a business-scoped
user id, at that (``recipient``). One with neither cannot be reached: the figures
(:class:`Reach`) count them by reason, and the queue skips them with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..announcements.counts_file import Reach
from ..subscribers.lifecycle.topics import Topics
from ..subscribers.privacy import citizen_id as pseudonym
from ..subscribers.privacy import pseudonym_key
from .store import audiences
from .store.audiences import Audience

if TYPE_CHECKING:
    import duckdb

    from ..announcements.model import Announcement
    from ..config import Settings


def audience(con: duckdb.DuckDBPyConnection, settings: Settings, ann: Announcement,
             topics: Topics) -> Audience:
    """The citizens ``ann`` goes to, as SQL (temporary tables made as needed: dropped by
    :func:`runner.send.store.audiences.forget`)."""
    if ann.is_drill:
        return test_group(con, settings)
    if ann.references:
        return received(con, ann.references, quote=settings.quote_original)
    return category_audience(topics, ann.category)


def category_audience(topics: Topics, category: str) -> Audience:
    """An alert's audience: its category's topic, or everyone for a mandatory one."""
    topic = topics.of_category(category)
    return audiences.everyone() if topic is None else audiences.of_topic(topic)


def received(con: duckdb.DuckDBPyConnection, original: str, *, quote: bool) -> Audience:
    """The active subscribers who received ``original``, with the wamid they got (to
    quote it, where there is one and ``quote``)."""
    return audiences.recipients_of(con, original, quote=quote)


def test_group(con: duckdb.DuckDBPyConnection, settings: Settings) -> Audience:
    """The staff test group: ``test_recipients``, known as citizens (so the queue finds
    their numbers) whether or not they ever wrote to the town."""
    key = pseudonym_key(settings)
    numbers = list(settings.test_recipients)
    return audiences.staff_group(con, [pseudonym(n, key) for n in numbers], numbers)


# --- the figures ------------------------------------------------------------------------

def reach(con: duckdb.DuckDBPyConnection, who: Audience) -> Reach:
    """How many ``who`` holds, and who of them cannot be reached, by reason."""
    rows = audiences.members_by_reason(con, who)
    return Reach(sum(n for _, n in rows), {why: n for why, n in rows if why is not None})


def reach_of(con: duckdb.DuckDBPyConnection, settings: Settings, ann: Announcement,
             topics: Topics | None = None) -> Reach:
    """The figures of ``ann``'s audience as planning would make it now."""
    try:
        return reach(con, audience(con, settings, ann, topics or Topics(settings)))
    finally:
        audiences.forget(con)


def category_reach(con: duckdb.DuckDBPyConnection, settings: Settings) -> dict[str, Reach]:
    """Who an alert of each of the town's categories would reach now."""
    topics = Topics(settings)
    return {category: reach(con, category_audience(topics, category))
            for category in settings.categories}


def received_reach(con: duckdb.DuckDBPyConnection) -> dict[str, Reach]:
    """For every announcement that reached someone, who a correction or withdrawal of it
    would reach now: its recipients still subscribed (all of them reachable, they were)."""
    members: dict[str, int] = {}
    why: dict[str, dict[str, int]] = {}
    for ann, reason, n in audiences.received_by_reason(con):
        members[ann] = members.get(ann, 0) + n
        if reason is not None:
            why.setdefault(ann, {})[reason] = n
    return {ann: Reach(n, why.get(ann, {})) for ann, n in members.items()}
