"""Subscriber states: the citizens whose history is replayed, and the outcome stored in
``subscribers`` (with their topics), ``subscriber_events``, ``consents`` and the reply
deliveries (welcome or rejoined, goodbye, topic menu, pause and resume, migration).
What the outcome is, is the state machine's (:mod:`runner.subscribers.lifecycle`).

Two ways to the same outcome: where the town moderates nothing, staff decided nothing
about a citizen and the citizen never named a topic nor paused (almost everyone), the
replay reduces to "a keyword that differs from the previous one changes the state",
which one SQL pass over all of them does (:func:`replay_plain`); the others' histories
(:func:`histories`) are replayed in Python and added (:func:`add_outcomes`).

Temporary tables:

- ``stage_affected`` (citizen_id): the citizens a sync's steps found something new
  about, made by :func:`start_affected`, filled by the steps (:mod:`.inbound`,
  :mod:`.imports`, :func:`affect`), read by :func:`scope`, dropped by
  :func:`drop_affected`;
- ``rc_*``, made by :func:`scope` and the replay, dropped by :func:`forget`:
  ``rc_given``, ``rc_decided`` (the ids given, the citizens staff decided about),
  ``rc_scope`` (whom to replay), ``rc_plain`` (those the SQL pass replays),
  ``rc_imports`` (each one's first imported consent), ``rc_transitions`` (the SQL
  pass's changes of state), ``rc_subs``, ``rc_events``, ``rc_consents``,
  ``rc_replies`` (the outcome, as the tables it replaces), ``rc_replies_new`` and
  ``rc_other`` (the replies not queued before, and the other answer each excludes).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ...db import insert_rows, temp_table
from ...vocabulary import CALLBACK_PREFIX, IMPORT, KEYWORDS, REPLAYED_KINDS, REPLY_PREFIX, sql
from .notices import VERSION_AT

if TYPE_CHECKING:
    import duckdb

# The replies the state machine derives from keywords (withdrawn here when the history
# changes; a hint or a notice is queued once and stays).
_KEYWORD_REPLIES = sql(REPLY_PREFIX)
# The replayed messages only the replay in Python applies: the menu keyword, a pick in
# the menu, pause and resume.
_NOT_KEYWORDS = sql(kind for kind in REPLAYED_KINDS if kind not in KEYWORDS)
_TABLES = ("rc_given", "rc_decided", "rc_scope", "rc_plain", "rc_imports", "rc_transitions",
           "rc_subs", "rc_events", "rc_consents", "rc_replies", "rc_replies_new", "rc_other")


def start_affected(con: duckdb.DuckDBPyConnection) -> None:
    """``stage_affected``, empty: no citizen's state needs replaying yet."""
    con.execute("CREATE OR REPLACE TEMP TABLE stage_affected (citizen_id VARCHAR)")


def affect(con: duckdb.DuckDBPyConnection, citizen_ids: Sequence[str]) -> None:
    """These citizens' states need replaying."""
    temp_table(con, "ids", citizen_id=("VARCHAR", citizen_ids))
    con.execute("INSERT INTO stage_affected SELECT citizen_id FROM ids")
    con.execute("DROP TABLE ids")


def drop_affected(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("DROP TABLE IF EXISTS stage_affected")


def scope(con: duckdb.DuckDBPyConnection, given: Sequence[str] | None, *, affected: bool,
          decided: Sequence[str]) -> None:
    """``rc_scope``: the ``given`` citizens; else, with ``affected``, those in
    ``stage_affected``; else everyone with a replayed message, an imported consent or a
    staff decision (the ``decided`` ids)."""
    if given is not None:
        temp_table(con, "rc_given", citizen_id=("VARCHAR", given))
    keyworded = (f"SELECT citizen_id FROM inbound WHERE kind IN {REPLAYED_KINDS} "
                 "UNION ALL SELECT citizen_id FROM imports")
    temp_table(con, "rc_decided", citizen_id=("VARCHAR", decided))
    source = ("rc_given" if given is not None else "stage_affected" if affected
              else f"({keyworded} UNION ALL SELECT citizen_id FROM rc_decided)")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE rc_scope AS
        SELECT DISTINCT citizen_id FROM {source}""")


def split_plain(con: duckdb.DuckDBPyConnection, moderated: bool) -> None:
    """``rc_plain``: the citizens in scope the SQL pass replays. Whoever named a topic
    (or asked for the menu), paused or resumed goes through Python, and so does everyone
    where the town moderates, or a staff decision names them."""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE rc_plain AS
        SELECT citizen_id FROM rc_scope
        WHERE {'false' if moderated else 'true'}
          AND citizen_id NOT IN (SELECT citizen_id FROM rc_decided)
          AND citizen_id NOT IN (SELECT citizen_id FROM inbound
                                 WHERE kind IN {_NOT_KEYWORDS}
                                    OR topic IS NOT NULL)""")


def replay_plain(con: duckdb.DuckDBPyConnection, version: str) -> None:
    """The outcome tables, with the outcome of the citizens in ``rc_plain``
    (``version``: the privacy notice in force)."""
    con.execute(_OUTCOME_TABLES)
    con.execute(_FIRST_IMPORTS)
    con.execute(_PLAIN_REPLAY, {"version": version})
    con.execute(_PLAIN_OUTCOME)


def histories(con: duckdb.DuckDBPyConnection, version: str) -> list[tuple]:
    """(citizen_id, ts, wamid, kind, keyword, captured_name, topic, notice in force) of
    every replayed message and first imported consent of the citizens in scope the SQL
    pass does not replay, in time order; one row of NULLs for a citizen without any."""
    return con.execute(f"""
        SELECT s.citizen_id, i.ts, i.wamid, i.kind, i.keyword, i.captured_name, i.topic,
               {VERSION_AT.format(ts="i.ts")}
        FROM rc_scope s LEFT JOIN (
            SELECT citizen_id, ts, wamid, kind, keyword, captured_name, topic FROM inbound
            WHERE kind IN {REPLAYED_KINDS}
            UNION ALL SELECT citizen_id, ts, wamid, kind, NULL, NULL, NULL FROM rc_imports) i
          ON i.citizen_id = s.citizen_id
        WHERE s.citizen_id NOT IN (SELECT citizen_id FROM rc_plain)
        ORDER BY s.citizen_id, i.ts, i.wamid""", [version]).fetchall()


def add_outcomes(con: duckdb.DuckDBPyConnection, subscribers: Sequence[tuple],
                 events: Sequence[tuple], consents: Sequence[tuple],
                 replies: Sequence[tuple]) -> None:
    """The outcome of the histories replayed in Python, as rows of ``rc_subs``,
    ``rc_events``, ``rc_consents`` and ``rc_replies``."""
    for table, rows in (("rc_subs", subscribers), ("rc_events", events),
                        ("rc_consents", consents), ("rc_replies", replies)):
        insert_rows(con, table, rows)


def store_outcome(con: duckdb.DuckDBPyConnection, version: str) -> dict[str, int]:
    """Replace the stored state of the citizens in scope by the outcome; returns the
    replies newly queued, by kind."""
    in_scope = "citizen_id IN (SELECT citizen_id FROM rc_scope)"
    con.execute(f"DELETE FROM subscribers WHERE {in_scope}")
    con.execute("INSERT INTO subscribers BY NAME SELECT * FROM rc_subs")
    con.execute(f"DELETE FROM subscriber_events WHERE {in_scope}")
    con.execute("INSERT INTO subscriber_events SELECT * FROM rc_events")
    # A consent stays as first recorded, under the notice version in force at its time.
    con.execute(f"DELETE FROM consents WHERE {in_scope} "
                "AND wamid NOT IN (SELECT wamid FROM rc_consents)")
    con.execute(f"""
        INSERT INTO consents (citizen_id, wamid, ts, text, keyword, notice_version, topics)
        SELECT c.citizen_id, c.wamid, i.ts, i.text, i.keyword, {VERSION_AT.format(ts="i.ts")},
               CASE WHEN i.topic IS NOT NULL THEN [i.topic] END
        FROM rc_consents c JOIN inbound i USING (wamid)
        WHERE c.wamid NOT IN (SELECT wamid FROM consents)""", [version])
    # An imported consent: what the town recorded (nothing the citizen wrote here).
    con.execute(f"""
        INSERT INTO consents (citizen_id, wamid, ts, text, keyword, notice_version,
                              imported_from)
        SELECT c.citizen_id, c.wamid, m.ts, '', '{IMPORT}', m.notice_version, m.file_sha256
        FROM rc_consents c JOIN imports m ON m.consent_id = c.wamid
        WHERE c.wamid NOT IN (SELECT wamid FROM consents)""")
    # Replies not sent yet and no longer implied (history changed) are withdrawn.
    con.execute(f"""
        DELETE FROM deliveries WHERE {in_scope} AND kind IN {_KEYWORD_REPLIES}
          AND state = 'queued' AND delivery_id NOT IN (SELECT delivery_id FROM rc_replies)""")
    con.execute("""
        CREATE OR REPLACE TEMP TABLE rc_replies_new AS SELECT * FROM rc_replies
        WHERE delivery_id NOT IN (SELECT delivery_id FROM deliveries)""")
    _answer_once(con)
    con.execute("""
        INSERT INTO deliveries (delivery_id, kind, citizen_id, state, created_at, payload)
        SELECT delivery_id, kind, citizen_id, 'queued', ts, payload FROM rc_replies_new""")
    return dict(con.execute("SELECT kind, count(*) FROM rc_replies_new GROUP BY ALL")
                .fetchall())


def scope_size(con: duckdb.DuckDBPyConnection) -> int:
    """How many citizens were in scope."""
    return con.execute("SELECT count(*) FROM rc_scope").fetchall()[0][0]


def forget(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the replay's tables (``rc_*``)."""
    for table in _TABLES:
        con.execute(f"DROP TABLE IF EXISTS {table}")


def state_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Subscribers by state."""
    return dict(con.execute(
        "SELECT state, count(*) FROM subscribers GROUP BY ALL").fetchall())


# A subscription is answered by a welcome or by the short reply, never both.
_ANSWERS = {"welcome": REPLY_PREFIX["rejoined"], "rejoined": REPLY_PREFIX["welcome"]}


def _answer_once(con: duckdb.DuckDBPyConnection) -> None:
    """Drop a new welcome or short reply for a subscription the other already answers:
    a database (or, once it was lost, the status webhooks) from before returners got
    the short reply holds their welcome, which must not be followed by a second one."""
    cases = " ".join(f"WHEN '{kind}' THEN '{other}:'" for kind, other in _ANSWERS.items())
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE rc_other AS
        SELECT delivery_id,
               CASE kind {cases} END || substr(delivery_id, strpos(delivery_id, ':') + 1) AS other
        FROM rc_replies_new WHERE kind IN {tuple(_ANSWERS)}""")
    con.execute(f"""
        DELETE FROM rc_replies_new WHERE delivery_id IN (
            SELECT delivery_id FROM rc_other
            WHERE other IN (SELECT delivery_id FROM deliveries)
               OR '{CALLBACK_PREFIX}' || other IN (
                   SELECT callback FROM statuses WHERE callback IN (
                       SELECT '{CALLBACK_PREFIX}' || other FROM rc_other)))""")


_OUTCOME_TABLES = """
CREATE OR REPLACE TEMP TABLE rc_subs (citizen_id VARCHAR, state VARCHAR, name VARCHAR,
    keyword VARCHAR, since TIMESTAMPTZ, subscribed_at TIMESTAMPTZ, pending_action VARCHAR,
    topics VARCHAR[]);
CREATE OR REPLACE TEMP TABLE rc_events (citizen_id VARCHAR, ts TIMESTAMPTZ,
    from_state VARCHAR, to_state VARCHAR, cause VARCHAR);
CREATE OR REPLACE TEMP TABLE rc_consents (citizen_id VARCHAR, wamid VARCHAR);
CREATE OR REPLACE TEMP TABLE rc_replies (delivery_id VARCHAR, kind VARCHAR,
    citizen_id VARCHAR, ts TIMESTAMPTZ, payload VARCHAR);
"""

# A citizen's imported consent is replayed when it is their first event: the first
# one, if nothing they wrote came before it (so a later list never brings back a
# citizen who left, nor changes one who subscribed by keyword).
_FIRST_IMPORTS = f"""
CREATE OR REPLACE TEMP TABLE rc_imports AS
SELECT m.citizen_id, m.ts, m.consent_id AS wamid, '{IMPORT}' AS kind
FROM imports m LEFT JOIN (
    SELECT citizen_id, min((ts, wamid)) AS first FROM inbound
    WHERE kind IN {REPLAYED_KINDS} AND citizen_id IN (SELECT citizen_id FROM imports)
    GROUP BY citizen_id) f USING (citizen_id)
WHERE m.citizen_id IN (SELECT citizen_id FROM rc_scope)
  AND (f.first IS NULL OR f.first > (m.ts, m.consent_id))
QUALIFY row_number() OVER (PARTITION BY m.citizen_id ORDER BY m.ts, m.consent_id) = 1
"""

# The unmoderated, undecided replay in SQL: after any subscribe (or the imported
# consent that comes first), each change of keyword kind is a transition;
# unsubscribing before ever subscribing is nothing. A subscription under the notice
# of the one before it is answered "rejoined".
_PLAIN_REPLAY = f"""
CREATE OR REPLACE TEMP TABLE rc_transitions AS
SELECT citizen_id, ts, wamid, kind, keyword, captured_name,
       CASE kind WHEN 'unsubscribe' THEN 'unsubscribed' ELSE 'active' END AS to_state,
       {VERSION_AT.format(ts="ts").replace("?", "$version")} AS notice
FROM (
    SELECT citizen_id, ts, wamid, kind, keyword, captured_name,
           lag(kind) OVER (PARTITION BY citizen_id ORDER BY ts, wamid) AS prev
    FROM (SELECT citizen_id, ts, wamid, kind, keyword, captured_name FROM inbound
          WHERE kind IN {sql(KEYWORDS)}
          UNION ALL SELECT citizen_id, ts, wamid, kind, NULL, NULL FROM rc_imports)
    WHERE citizen_id IN (SELECT citizen_id FROM rc_plain))
WHERE (kind IN ('subscribe', '{IMPORT}') AND coalesce(prev, 'unsubscribe') = 'unsubscribe')
   OR (kind = 'unsubscribe' AND prev IN ('subscribe', '{IMPORT}'))
"""
_PLAIN_OUTCOME = f"""
INSERT INTO rc_events
SELECT citizen_id, ts, lag(to_state) OVER (PARTITION BY citizen_id ORDER BY ts, wamid),
       to_state, wamid
FROM rc_transitions;

INSERT INTO rc_subs
SELECT citizen_id, arg_max(to_state, (ts, wamid)),
    arg_max(captured_name, (ts, wamid)) FILTER (kind = 'subscribe' AND captured_name IS NOT NULL),
    arg_max(keyword, (ts, wamid)) FILTER (kind = 'subscribe'),
    max(ts), min(ts) FILTER (kind <> 'unsubscribe'), NULL, NULL
FROM rc_transitions GROUP BY citizen_id;

INSERT INTO rc_consents SELECT citizen_id, wamid FROM rc_transitions
WHERE kind <> 'unsubscribe';

-- (the migration reply is due only while the imported subscription lasts)
INSERT INTO rc_replies
SELECT CASE reply {" ".join(f"WHEN '{k}' THEN '{v}:'" for k, v in REPLY_PREFIX.items())}
       END || wamid, reply, citizen_id, ts, NULL
FROM (SELECT *, CASE WHEN kind = 'unsubscribe' THEN 'goodbye'
                     WHEN kind = '{IMPORT}' THEN 'migration'
                     WHEN notice = lag(notice) OVER (PARTITION BY citizen_id, kind
                                                     ORDER BY ts, wamid) THEN 'rejoined'
                     ELSE 'welcome' END AS reply,
             lead(kind) OVER (PARTITION BY citizen_id ORDER BY ts, wamid) AS next
      FROM rc_transitions)
WHERE kind <> '{IMPORT}' OR next IS NULL;
"""
