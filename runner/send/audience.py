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

Each audience is a ``SELECT citizen_id, reply_to`` that :mod:`.plan` filters by
citizen range and by who has a delivery already. The subscriber audiences read
``subscribers`` directly (a million rows stay one scan); the small ones are
materialised first.

A citizen is reached at their number (``to``) or, known only by a business-scoped
user id, at that (``recipient``). One with neither cannot be reached: the figures
(:class:`Reach`) count them by reason, and the queue skips them with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..announcements.audience import Reach
from ..db import temp_table
from ..subscribers.lifecycle.topics import Topics
from ..subscribers.privacy import citizen_id as pseudonym
from ..subscribers.privacy import pseudonym_key
from ..vocabulary import ACTIVE, CALLBACK_PREFIX, NO_PHONE_NUMBER, REACHED, sql

if TYPE_CHECKING:
    import duckdb

    from ..announcements.model import Announcement
    from ..config import Settings

Audience = tuple[str, dict]  # SELECT citizen_id, reply_to ...; its parameters

ACTIVE_SUBSCRIBERS = f"SELECT citizen_id FROM subscribers WHERE state = '{ACTIVE}'"
EVERYONE = f"SELECT citizen_id, NULL AS reply_to FROM subscribers WHERE state = '{ACTIVE}'"
_TOPIC = f"{EVERYONE} AND (topics IS NULL OR list_contains(topics, $topic))"


def address(citizens: str = "c") -> str:
    """SQL: where a citizen row (alias ``citizens``) is reached, their number or else
    their business-scoped id; NULL when neither is known."""
    return f"coalesce(nullif({citizens}.wa_id, ''), nullif({citizens}.user_id, ''))"


def unreachable(citizens: str = "c") -> str:
    """SQL: why a citizen (alias ``citizens``, possibly NULL: never known) cannot be
    reached, one of UNREACHABLE_REASONS; NULL when they can."""
    return f"CASE WHEN {address(citizens)} IS NULL THEN '{NO_PHONE_NUMBER}' END"


def active_count(con: duckdb.DuckDBPyConnection) -> int:
    """The active subscribers: every figure of "how many subscribers" reads this."""
    return con.execute(f"SELECT count(*) FROM ({ACTIVE_SUBSCRIBERS})").fetchone()[0]


def audience(con: duckdb.DuckDBPyConnection, settings: Settings, ann: Announcement,
             topics: Topics) -> Audience:
    """The citizens ``ann`` goes to, as SQL (temporary tables made as needed)."""
    if ann.is_drill:
        return test_group(con, settings)
    if ann.references:
        return received(con, ann.references, quote=settings.quote_original)
    return category_audience(topics, ann.category)


def category_audience(topics: Topics, category: str) -> Audience:
    """An alert's audience: its category's topic, or everyone for a mandatory one."""
    topic = topics.of_category(category)
    return (EVERYONE, {}) if topic is None else (_TOPIC, {"topic": topic})


def _recipients(*, one: bool) -> str:
    """(announcement_id, citizen_id, wamid) of every announcement delivery that reached
    a citizen, the wamid NULL where none is known (the outbox): from the deliveries;
    and, for those the database no longer has (rebuilt after the original stopped
    being planned), from the status webhooks that carry their id. With ``one``, only
    those of ``$original`` (``$prefix``: its callbacks' prefix, else ``banditore:a:``)."""
    skip = len(CALLBACK_PREFIX) + 1
    which = "AND announcement_id = $original" if one else ""
    return f"""
        SELECT announcement_id, citizen_id, wamid FROM deliveries
        WHERE kind = 'announcement' AND state IN {sql(REACHED)} {which}
        UNION ALL
        SELECT split_part(s.callback, ':', 3), split_part(s.callback, ':', 4), s.wamid
        FROM statuses s
        WHERE starts_with(s.callback, $prefix) AND s.status <> 'failed'
          AND NOT EXISTS (SELECT 1 FROM deliveries d
                          WHERE d.delivery_id = substr(s.callback, {skip}))"""


def received(con: duckdb.DuckDBPyConnection, original: str, *, quote: bool) -> Audience:
    """The active subscribers who received ``original``, with the wamid they got (to
    quote it, where there is one and ``quote``)."""
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE plan_received AS
        SELECT r.citizen_id, CASE WHEN $quote THEN min(r.wamid) END AS reply_to
        FROM ({_recipients(one=True)}) r JOIN subscribers s USING (citizen_id)
        WHERE s.state = '{ACTIVE}'
        GROUP BY r.citizen_id
        """,
        {"original": original, "prefix": f"{CALLBACK_PREFIX}a:{original}:", "quote": quote},
    )
    return "SELECT citizen_id, reply_to FROM plan_received", {}


def test_group(con: duckdb.DuckDBPyConnection, settings: Settings) -> Audience:
    """The staff test group: ``test_recipients``, known as citizens (so the queue finds
    their numbers) whether or not they ever wrote to the town."""
    key = pseudonym_key(settings)
    numbers = list(settings.test_recipients)
    temp_table(con, "plan_staff", citizen_id=("VARCHAR", [pseudonym(n, key) for n in numbers]),
               wa_id=("VARCHAR", numbers))
    con.execute("""
        UPDATE citizens SET wa_id = p.wa_id FROM plan_staff p
        WHERE citizens.citizen_id = p.citizen_id AND citizens.wa_id IS NULL""")
    con.execute("""
        INSERT INTO citizens (citizen_id, wa_id)
        SELECT DISTINCT citizen_id, wa_id FROM plan_staff
        WHERE citizen_id NOT IN (SELECT citizen_id FROM citizens)""")
    return "SELECT DISTINCT citizen_id, NULL AS reply_to FROM plan_staff", {}


# --- the figures ------------------------------------------------------------------------

def reach(con: duckdb.DuckDBPyConnection, who: Audience) -> Reach:
    """How many ``who`` holds, and who of them cannot be reached, by reason."""
    source, params = who
    rows = con.execute(
        f"""
        SELECT {unreachable()} AS reason, count(*)
        FROM ({source}) a LEFT JOIN citizens c USING (citizen_id)
        GROUP BY ALL
        """, params).fetchall()
    return Reach(sum(n for _, n in rows), {why: n for why, n in rows if why is not None})


def reach_of(con: duckdb.DuckDBPyConnection, settings: Settings, ann: Announcement,
             topics: Topics | None = None) -> Reach:
    """The figures of ``ann``'s audience as planning would make it now."""
    return reach(con, audience(con, settings, ann, topics or Topics(settings)))


def category_reach(con: duckdb.DuckDBPyConnection, settings: Settings) -> dict[str, Reach]:
    """Who an alert of each of the town's categories would reach now."""
    topics = Topics(settings)
    return {category: reach(con, category_audience(topics, category))
            for category in settings.categories}


def received_reach(con: duckdb.DuckDBPyConnection) -> dict[str, Reach]:
    """For every announcement that reached someone, who a correction or withdrawal of it
    would reach now: its recipients still subscribed (all of them reachable, they were)."""
    rows = con.execute(
        f"""
        SELECT r.announcement_id, {unreachable()} AS reason, count(DISTINCT r.citizen_id)
        FROM ({_recipients(one=False)}) r
        JOIN subscribers s USING (citizen_id) LEFT JOIN citizens c USING (citizen_id)
        WHERE s.state = '{ACTIVE}'
        GROUP BY ALL ORDER BY ALL
        """, {"prefix": f"{CALLBACK_PREFIX}a:"}).fetchall()
    members: dict[str, int] = {}
    why: dict[str, dict[str, int]] = {}
    for ann, reason, n in rows:
        members[ann] = members.get(ann, 0) + n
        if reason is not None:
            why.setdefault(ann, {})[reason] = n
    return {ann: Reach(n, why.get(ann, {})) for ann, n in members.items()}
