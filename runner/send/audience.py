"""Who each announcement goes to: the SQL that planning inserts deliveries from.

- an alert goes to the active subscribers of its category's topic: those who
  chose that topic, or every topic (``topics IS NULL``); an emergency or
  mandatory category to every active subscriber;
- a correction (``updates``) or withdrawal (``cancels``) goes to the citizens who
  received the original (sent, delivered or read) and are still subscribed,
  each quoting the wamid they got: never to anyone who subscribed since;
- a drill (``status: exercise | test``) goes to the staff test group alone.

Each audience is a ``SELECT citizen_id, reply_to`` that :mod:`.plan` filters by
citizen range and by who has a delivery already. The subscriber audiences read
``subscribers`` directly (a million rows stay one scan); the small ones are
materialised first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..db import temp_table
from ..subscribers.privacy import citizen_id as pseudonym
from ..subscribers.privacy import pseudonym_key
from ..vocabulary import CALLBACK_PREFIX, REACHED, sql

if TYPE_CHECKING:
    import duckdb

    from ..announcements.model import Announcement
    from ..config import Settings
    from ..subscribers.topics import Topics

Audience = tuple[str, dict]  # SELECT citizen_id, reply_to ...; its parameters

EVERYONE = "SELECT citizen_id, NULL AS reply_to FROM subscribers WHERE state = 'active'"
_TOPIC = f"{EVERYONE} AND (topics IS NULL OR list_contains(topics, $topic))"


def audience(con: duckdb.DuckDBPyConnection, settings: Settings, ann: Announcement,
             topics: Topics) -> Audience:
    """The citizens ``ann`` goes to, as SQL (temporary tables made as needed)."""
    if ann.is_drill:
        return test_group(con, settings)
    if ann.references:
        return received(con, ann.references, quote=settings.quote_original)
    topic = topics.of_category(ann.category)
    return (EVERYONE, {}) if topic is None else (_TOPIC, {"topic": topic})


def received(con: duckdb.DuckDBPyConnection, original: str, *, quote: bool) -> Audience:
    """The active subscribers who received ``original``, with the wamid they got.

    From its deliveries; and, for the deliveries the database no longer has (it
    was rebuilt after the original stopped being planned), from the status
    webhooks that carry their id."""
    prefix = f"{CALLBACK_PREFIX}a:{original}:"
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE plan_received AS
        SELECT r.citizen_id, CASE WHEN $quote THEN min(r.wamid) END AS reply_to
        FROM (
            SELECT citizen_id, wamid FROM deliveries
            WHERE announcement_id = $original AND kind = 'announcement'
              AND state IN {sql(REACHED)} AND wamid IS NOT NULL
            UNION ALL
            SELECT substr(s.callback, length($prefix) + 1), s.wamid FROM statuses s
            WHERE starts_with(s.callback, $prefix) AND s.status <> 'failed'
              AND NOT EXISTS (SELECT 1 FROM deliveries d
                              WHERE d.delivery_id = substr(s.callback, {len(CALLBACK_PREFIX) + 1}))
        ) r JOIN subscribers s USING (citizen_id)
        WHERE s.state = 'active'
        GROUP BY r.citizen_id
        """,
        {"original": original, "prefix": prefix, "quote": quote},
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
