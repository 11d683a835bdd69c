"""Storing subscriber states: the outcome of replaying each citizen's keyword history,
imported consent (:mod:`.imports`) and the staff decisions (:mod:`.replay`) written
to subscribers (with their topics), subscriber_events, consents and the reply
deliveries (welcome or rejoined, goodbye, topic menu, pause and resume, migration).

Two ways to the same outcome:
- where the town moderates nothing, staff decided nothing about a citizen and
  the citizen never named a topic nor paused (almost everyone), the replay
  reduces to "a keyword that differs from the previous one changes the state",
  which one SQL pass over all citizens does;
- everyone else goes through ``replay`` in Python.
tests/subscribers/test_staff.py checks on random histories that both agree.
"""

from __future__ import annotations

from itertools import groupby
from typing import TYPE_CHECKING

from ..db import insert_rows, temp_table
from ..vocabulary import CALLBACK_PREFIX, IMPORT, REPLY_PREFIX
from .decisions import Decision, load_decisions
from .notices import KEYWORD_REPLIES_SQL, VERSION_AT, notice_version
from .replay import REPLAYED_KINDS, Event, replay
from .repository import decisions_path
from .topics import Topics

if TYPE_CHECKING:
    from ..config import Settings


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
          WHERE kind IN ('subscribe', 'unsubscribe')
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


def recompute(con, settings: Settings, citizens, *, decisions: list[Decision] | None = None,
              summary=None) -> int:
    """Replay and store the state of some citizens: a list of ids, the name of a
    table with a citizen_id column, or None for everyone. Returns how many."""
    if decisions is None:
        decisions = load_decisions(decisions_path(settings))
    decided: dict[str, list[Decision]] = {}
    for d in decisions:
        decided.setdefault(d.citizen_id, []).append(d)
    if isinstance(citizens, list):
        temp_table(con, "rc_given", citizen_id=("VARCHAR", citizens))
        citizens = "rc_given"
    keyworded = (f"SELECT citizen_id FROM inbound WHERE kind IN {REPLAYED_KINDS} "
                 "UNION ALL SELECT citizen_id FROM imports")
    temp_table(con, "rc_decided", citizen_id=("VARCHAR", sorted(decided)))
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE rc_scope AS
        SELECT DISTINCT citizen_id FROM {citizens or f"({keyworded} UNION ALL "
                                                      "SELECT citizen_id FROM rc_decided)"}""")
    moderated = settings.moderate_subscribe or settings.moderate_unsubscribe
    # Whoever named a topic (or asked for the menu), paused or resumed goes through
    # Python too.
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE rc_plain AS
        SELECT citizen_id FROM rc_scope
        WHERE {'false' if moderated else 'true'}
          AND citizen_id NOT IN (SELECT citizen_id FROM rc_decided)
          AND citizen_id NOT IN (SELECT citizen_id FROM inbound
                                 WHERE kind IN ('topics', 'topic', 'pause', 'resume')
                                    OR topic IS NOT NULL)""")
    version = notice_version(settings)
    con.execute(_OUTCOME_TABLES)
    con.execute(_FIRST_IMPORTS)
    con.execute(_PLAIN_REPLAY, {"version": version})
    con.execute(_PLAIN_OUTCOME)
    _replay_in_python(con, settings, decided, version)
    _store(con, version, summary)
    return con.execute("SELECT count(*) FROM rc_scope").fetchall()[0][0]


def _replay_in_python(con, settings: Settings, decided: dict[str, list[Decision]],
                      version: str) -> None:
    rows = con.execute(f"""
        SELECT s.citizen_id, i.ts, i.wamid, i.kind, i.keyword, i.captured_name, i.topic,
               {VERSION_AT.format(ts="i.ts")}
        FROM rc_scope s LEFT JOIN (
            SELECT citizen_id, ts, wamid, kind, keyword, captured_name, topic FROM inbound
            WHERE kind IN {REPLAYED_KINDS}
            UNION ALL SELECT citizen_id, ts, wamid, kind, NULL, NULL, NULL FROM rc_imports) i
          ON i.citizen_id = s.citizen_id
        WHERE s.citizen_id NOT IN (SELECT citizen_id FROM rc_plain)
        ORDER BY s.citizen_id, i.ts, i.wamid""", [version]).fetchall()
    subs, events, consents, replies = [], [], [], []
    topics = Topics(settings)
    for cid, group in groupby(rows, key=lambda r: r[0]):
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
    for table, rows_ in (("rc_subs", subs), ("rc_events", events),
                         ("rc_consents", consents), ("rc_replies", replies)):
        insert_rows(con, table, rows_)


def _store(con, version: str, summary) -> None:
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
        DELETE FROM deliveries WHERE {in_scope} AND kind IN {KEYWORD_REPLIES_SQL}
          AND state = 'queued' AND delivery_id NOT IN (SELECT delivery_id FROM rc_replies)""")
    con.execute("""
        CREATE OR REPLACE TEMP TABLE rc_replies_new AS SELECT * FROM rc_replies
        WHERE delivery_id NOT IN (SELECT delivery_id FROM deliveries)""")
    _answer_once(con)
    con.execute("""
        INSERT INTO deliveries (delivery_id, kind, citizen_id, state, created_at, payload)
        SELECT delivery_id, kind, citizen_id, 'queued', ts, payload FROM rc_replies_new""")
    if summary is not None:
        counts = dict(con.execute("SELECT kind, count(*) FROM rc_replies_new GROUP BY ALL")
                      .fetchall())
        summary.welcome += counts.get("welcome", 0)
        summary.rejoined += counts.get("rejoined", 0)
        summary.goodbye += counts.get("goodbye", 0)
        summary.migration += counts.get("migration", 0)


# A subscription is answered by a welcome or by the short reply, never both.
_ANSWERS = {"welcome": REPLY_PREFIX["rejoined"], "rejoined": REPLY_PREFIX["welcome"]}


def _answer_once(con) -> None:
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


def erase(con, citizen_id: str, before=None) -> int:
    """Remove a citizen's number and events from the database: all of them, or those
    up to ``before`` (a forget decision: what the citizen wrote later stays).
    Returns how many rows went."""
    found = con.execute("SELECT wa_id FROM citizens WHERE citizen_id = ?",
                        [citizen_id]).fetchall()
    number = found[0][0] if found else None

    def delete(sql: str, params: list) -> int:
        return con.execute(sql, params).fetchall()[0][0]

    # An imported consent up to then goes too (the record's line leaves the logs).
    gone = delete("DELETE FROM imports WHERE citizen_id = ? AND (? IS NULL OR ts <= ?)",
                  [citizen_id, before, before])
    if before is not None:
        gone += delete("DELETE FROM inbound WHERE citizen_id = ? AND ts <= ?", [citizen_id, before])
        later = con.execute("SELECT count(*) FROM inbound WHERE citizen_id = ?",
                            [citizen_id]).fetchall()[0][0]
        if later:
            con.execute("UPDATE citizens SET profile_name = NULL WHERE citizen_id = ?",
                        [citizen_id])
            gone += delete("DELETE FROM statuses WHERE recipient_id = ? AND ts <= ?",
                           [number, before])
            return gone + delete("DELETE FROM deliveries WHERE citizen_id = ? AND created_at <= ?",
                                 [citizen_id, before])
    if number:
        gone += delete("DELETE FROM statuses WHERE recipient_id = ?", [number])
    for table in ("inbound", "subscribers", "subscriber_events", "consents", "citizens",
                  "deliveries"):
        gone += delete(f"DELETE FROM {table} WHERE citizen_id = ?", [citizen_id])
    return gone


def drop_forgotten(con, table: str, ts: str, forgotten: list[Decision]) -> None:
    """Delete from a staged ``table`` what forgotten citizens sent up to their erasure."""
    if forgotten:
        temp_table(con, "forgotten", citizen_id=("VARCHAR", [d.citizen_id for d in forgotten]),
                   until=("TIMESTAMPTZ", [d.ts for d in forgotten]))
        con.execute(f"""
            DELETE FROM {table} WHERE EXISTS (
                SELECT 1 FROM forgotten f
                WHERE f.citizen_id = {table}.citizen_id AND {table}.{ts} <= f.until)""")

# --- the state machine -------------------------------------------------------
