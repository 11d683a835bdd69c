"""Who an announcement goes to, in SQL: the sources planning inserts deliveries from,
and the figures (who, and who of them cannot be reached) that everything else reads.
Which audience an announcement has is :mod:`runner.send.audience`'s rule.

An audience is a ``SELECT citizen_id, reply_to`` and its parameters (:data:`Audience`).
The subscriber audiences read ``subscribers`` directly (a million rows stay one scan);
the small ones are materialised first, in ``plan_received`` and ``plan_staff`` (the
store's contract, :mod:`runner.send.store`), dropped by :func:`forget`.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from ...db import count, temp_table
from ...vocabulary import ACTIVE, ANNOUNCEMENT, CALLBACK_PREFIX, FAILED, REACHED, sql
from .fragments import unreachable

Audience = tuple[str, dict]  # SELECT citizen_id, reply_to ...; its parameters

ACTIVE_SUBSCRIBERS = f"SELECT citizen_id FROM subscribers WHERE state = '{ACTIVE}'"
_EVERYONE = f"SELECT citizen_id, NULL AS reply_to FROM subscribers WHERE state = '{ACTIVE}'"
_TOPIC = f"{_EVERYONE} AND (topics IS NULL OR list_contains(topics, $topic))"


def everyone() -> Audience:
    """Every active subscriber."""
    return _EVERYONE, {}


def of_topic(topic: str) -> Audience:
    """The active subscribers of ``topic``: those who chose it, or every topic."""
    return _TOPIC, {"topic": topic}


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
        WHERE kind = '{ANNOUNCEMENT}' AND state IN {sql(REACHED)} {which}
        UNION ALL
        SELECT split_part(s.callback, ':', 3), split_part(s.callback, ':', 4), s.wamid
        FROM statuses s
        WHERE starts_with(s.callback, $prefix) AND s.status <> '{FAILED}'
          AND NOT EXISTS (SELECT 1 FROM deliveries d
                          WHERE d.delivery_id = substr(s.callback, {skip}))"""


def recipients_of(con: duckdb.DuckDBPyConnection, original: str, *, quote: bool) -> Audience:
    """The active subscribers who received ``original``, with the wamid they got (to
    quote it, where there is one and ``quote``): materialised in ``plan_received``."""
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


def staff_group(con: duckdb.DuckDBPyConnection, citizen_ids: Sequence[str],
                numbers: Sequence[str]) -> Audience:
    """The staff test group (``citizen_ids`` of ``numbers``): materialised in
    ``plan_staff`` and known as citizens (so the queue finds their numbers), whether or
    not they ever wrote to the town."""
    temp_table(con, "plan_staff", citizen_id=("VARCHAR", citizen_ids),
               wa_id=("VARCHAR", numbers))
    con.execute("""
        UPDATE citizens SET wa_id = p.wa_id FROM plan_staff p
        WHERE citizens.citizen_id = p.citizen_id AND citizens.wa_id IS NULL""")
    con.execute("""
        INSERT INTO citizens (citizen_id, wa_id)
        SELECT DISTINCT citizen_id, wa_id FROM plan_staff
        WHERE citizen_id NOT IN (SELECT citizen_id FROM citizens)""")
    return "SELECT DISTINCT citizen_id, NULL AS reply_to FROM plan_staff", {}


def forget(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the audiences materialised for planning (``plan_received``, ``plan_staff``)."""
    con.execute("DROP TABLE IF EXISTS plan_received")
    con.execute("DROP TABLE IF EXISTS plan_staff")


# --- the figures ------------------------------------------------------------------------

def active_count(con: duckdb.DuckDBPyConnection) -> int:
    """The active subscribers: every figure of "how many subscribers" reads this."""
    return count(con.execute(f"SELECT count(*) FROM ({ACTIVE_SUBSCRIBERS})"))


def active_sample(con: duckdb.DuckDBPyConnection, size: int) -> list[str]:
    """The ids of about ``size`` active subscribers drawn at random, in order."""
    return sorted(row[0] for row in con.execute(
        f"SELECT citizen_id FROM ({ACTIVE_SUBSCRIBERS}) USING SAMPLE reservoir({size} ROWS)"
        ).fetchall())


def members_by_reason(con: duckdb.DuckDBPyConnection, who: Audience
                      ) -> list[tuple[str | None, int]]:
    """The members of ``who`` by why they cannot be reached (None: they can)."""
    source, params = who
    return con.execute(
        f"""
        SELECT {unreachable()} AS reason, count(*)
        FROM ({source}) a LEFT JOIN citizens c USING (citizen_id)
        GROUP BY ALL
        """, params).fetchall()


def received_by_reason(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str | None, int]]:
    """For every announcement that reached someone, its recipients still subscribed by
    why they cannot be reached now (None: they can): (announcement, reason, citizens)."""
    return con.execute(
        f"""
        SELECT r.announcement_id, {unreachable()} AS reason, count(DISTINCT r.citizen_id)
        FROM ({_recipients(one=False)}) r
        JOIN subscribers s USING (citizen_id) LEFT JOIN citizens c USING (citizen_id)
        WHERE s.state = '{ACTIVE}'
        GROUP BY ALL ORDER BY ALL
        """, {"prefix": f"{CALLBACK_PREFIX}a:"}).fetchall()
