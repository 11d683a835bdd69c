"""Every change of a delivery's state: the one file where ``deliveries.state`` is
updated. (Planning creates deliveries ``queued``, :mod:`.planning`; the subscribers
stage creates the replies ``queued``; from then on only these statements move them.)

::

    queued -> sending -> sent -> delivered -> read | played
       |         |        (a status webhook only ever moves a delivery forward;
       |         |         failed outranks sent, not delivered/read)
       |         +-> queued   refused or ambiguous, sent again (settling)
       +-> skipped (a reason: vocabulary.SKIP_REASONS) | cancelled | failed (Meta's code)
    failed -> queued          transient, or 131049 after 24 h; a refused quote dropped
    skipped -> queued         held back by an older version, now sendable

Who decides which move, and when, is the logic's (:mod:`runner.send.plan`,
:mod:`~runner.send.settle`, :mod:`~runner.send.queue`, :mod:`~runner.send.welcome_first`);
the engine's moves come through the journal, folded here (:func:`fold_journal`).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from pathlib import Path

import duckdb

from ...db import count, transaction
from ...vocabulary import (
    ACTIVE,
    ANNOUNCEMENT,
    CANCELLED,
    CITIZEN_PAUSED,
    DELIVERED,
    EXPIRED,
    FAILED,
    NO_PHONE_NUMBER,
    NOT_SUBSCRIBED,
    OPEN,
    OUTSIDE_WINDOW,
    PAUSED,
    PLAYED,
    QUEUED,
    REACHED,
    READ,
    SENDING,
    SENT,
    SKIPPED,
    WELCOME_NOT_DELIVERED,
    sql,
)
from ...whatsapp import outbox
from ...whatsapp.bodies import callback_delivery_id_sql
from .fragments import EMERGENCY, address, drill, unreachable

# --- the engine's moves, from the journal ------------------------------------------------

_APPLY_JOURNAL = f"""
    UPDATE deliveries SET state = j.state, wamid = coalesce(j.wamid, deliveries.wamid),
           error_code = j.error_code, error_title = j.error_title,
           attempts = deliveries.attempts + j.tries,
           sent_at = CASE WHEN j.state = '{SENT}' THEN j.at ELSE deliveries.sent_at END,
           updated_at = j.at
    FROM (SELECT delivery_id, state, wamid, error_code, error_title, journaled_at AS at,
                 sum(tries) OVER (PARTITION BY delivery_id) AS tries
          FROM send_journal
          QUALIFY row_number() OVER (PARTITION BY delivery_id ORDER BY seq DESC) = 1) j
    WHERE deliveries.delivery_id = j.delivery_id
"""


def folded_to(con: duckdb.DuckDBPyConnection, log_id: str) -> int:
    """How far (bytes) this database folded the journal named ``log_id``."""
    row = con.execute("SELECT folded_bytes FROM send_log_folded WHERE log_id = ?",
                      [log_id]).fetchone()
    return row[0] if row else 0


def fold_journal(con: duckdb.DuckDBPyConnection, rows: list[tuple], log_id: str,
                 end: int) -> int:
    """Apply journal rows (delivery_id, state, wamid, error_code, error_title, tries,
    ms since the epoch) to deliveries: each delivery's last state, its tries added up.
    One transaction applies them and records ``end`` as the offset folded to: a kill in
    between leaves both as they were. How many deliveries changed."""
    cols = list(zip(*rows, strict=True))
    with transaction(con):
        con.execute(
            """
            INSERT INTO send_journal
            SELECT unnest(range(len($ids::VARCHAR[]))), unnest($ids::VARCHAR[]),
                   unnest($states::VARCHAR[]), unnest($wamids::VARCHAR[]),
                   unnest($codes::INTEGER[]), unnest($titles::VARCHAR[]),
                   unnest($tries::INTEGER[]), to_timestamp(unnest($at::BIGINT[]) / 1000)
            """,
            {"ids": list(cols[0]), "states": list(cols[1]), "wamids": list(cols[2]),
             "codes": list(cols[3]), "titles": list(cols[4]), "tries": list(cols[5]),
             "at": list(cols[6])})
        changed = count(con.execute(_APPLY_JOURNAL))
        con.execute("DELETE FROM send_journal")
        con.execute("INSERT OR REPLACE INTO send_log_folded VALUES (?, ?, now())", [log_id, end])
    return changed


def fold_leftover(con: duckdb.DuckDBPyConnection) -> int:
    """Apply the rows a run of an older version left in the ``send_journal`` table."""
    if not con.execute("SELECT 1 FROM send_journal LIMIT 1").fetchone():
        return 0
    with transaction(con):
        changed = count(con.execute(_APPLY_JOURNAL))
        con.execute("DELETE FROM send_journal")
    return changed


def forget_journal(con: duckdb.DuckDBPyConnection, log_id: str) -> None:
    """The journal named ``log_id`` is gone (folded whole, deleted): forget its offset."""
    con.execute("DELETE FROM send_log_folded WHERE log_id = ?", [log_id])


# --- settling: the status webhooks and the outbox over the database ----------------------

# Order of a delivery's states: a status webhook only ever moves it forward.
# failed outranks sent (the 200 came first, the failure later) but not delivered/read.
_RANK = {SENT: 1, FAILED: 2, DELIVERED: 3, READ: 4, PLAYED: 4}
# What a status webhook may still move forward (read and played are as far as it goes).
_SETTLEABLE = sql((*OPEN, SENT, FAILED, DELIVERED))


def _rank(col: str) -> str:
    return f"CASE {col} " + " ".join(f"WHEN '{state}' THEN {n}" for state, n in _RANK.items()) \
        + " ELSE 0 END"


def settle_from_statuses(con: duckdb.DuckDBPyConnection, now: datetime) -> int:
    """Every delivery whose ``banditore:<delivery_id>`` came back in a status webhook takes
    the furthest status it reports, if that moves it forward.

    Only the statuses that move a delivery forward are aggregated: the join comes first,
    on a 64-bit hash of the id (a collision only adds a candidate that the outer join on
    the id itself drops). Aggregating every status of a year before joining took far
    more memory (docs/measurements.md)."""
    return count(con.execute(
        f"""
        UPDATE deliveries SET state = s.status, wamid = s.wamid,
               error_code = coalesce(s.error_code, deliveries.error_code),
               error_title = coalesce(s.error_title, deliveries.error_title),
               sent_at = coalesce(deliveries.sent_at, s.sent_at, s.ts), updated_at = $now
        FROM (SELECT st.delivery_id, arg_max(st.status, st.rank) AS status,
                     arg_max(st.wamid, st.rank) AS wamid,
                     max(st.error_code) AS error_code, max(st.error_title) AS error_title,
                     min(st.sent_at) AS sent_at, min(st.ts) AS ts
              FROM (SELECT {callback_delivery_id_sql("callback")} AS delivery_id, status, wamid,
                           error_code, error_title, sent_at, ts, {_rank("status")} AS rank
                    FROM statuses) st
              JOIN (SELECT hash(delivery_id) AS h, {_rank("state")} AS rank
                    FROM deliveries WHERE state IN {_SETTLEABLE}) d
                ON d.h = hash(st.delivery_id) AND st.rank > d.rank
              WHERE st.delivery_id IS NOT NULL
              GROUP BY 1) s
        WHERE deliveries.delivery_id = s.delivery_id
          AND deliveries.state IN {_SETTLEABLE}
          AND {_rank("s.status")} > {_rank("deliveries.state")}
        """,
        {"now": now},
    ))


def settle_from_outbox(con: duckdb.DuckDBPyConnection, now: datetime, path: Path) -> int:
    """Queued or sending deliveries whose bodies the outbox at ``path`` holds went out:
    sent. The file is read by the query of its own format (``outbox_delivered``)."""
    if not outbox.has_bodies(path):
        return 0
    con.execute(f"CREATE OR REPLACE TEMP TABLE outbox_delivered AS {outbox.delivered_ids_sql()}",
                {"outbox": str(path)})
    try:
        return count(con.execute(
            f"""
            UPDATE deliveries SET state = '{SENT}', sent_at = coalesce(sent_at, $now),
                   updated_at = $now
            WHERE state IN {sql(OPEN)}
              AND delivery_id IN (SELECT delivery_id FROM outbox_delivered)
            """,
            {"now": now},
        ))
    finally:
        con.execute("DROP TABLE IF EXISTS outbox_delivered")


def requeue_ambiguous(con: duckdb.DuckDBPyConnection, now: datetime, *, at_once: bool,
                      no_answer: Collection[int], patience: datetime) -> int:
    """``sending`` deliveries back in the queue: all of them ``at_once``; else those Meta
    refused (an error code not in ``no_answer``), those last touched at ``patience`` or
    before, and emergencies."""
    return count(con.execute(
        f"""
        UPDATE deliveries SET state = '{QUEUED}', updated_at = $now
        WHERE state = '{SENDING}' AND ($at_once
            OR (error_code IS NOT NULL AND error_code NOT IN (SELECT unnest($no_answer)))
            OR updated_at <= $patience
            OR (kind = '{ANNOUNCEMENT}' AND announcement_id IN (
                SELECT announcement_id FROM announcements WHERE urgency = '{EMERGENCY}')))
        """,
        {"now": now, "at_once": at_once, "no_answer": sorted(no_answer), "patience": patience},
    ))


# --- back to the queue ---------------------------------------------------------------------

def requeue_failed(con: duckdb.DuckDBPyConnection, now: datetime, *, codes: Collection[int],
                   later_codes: Collection[int], later_cutoff: datetime) -> int:
    """Failed deliveries back in the queue: those failed with one of ``codes``, and those
    with one of ``later_codes`` last touched at ``later_cutoff`` or before."""
    return count(con.execute(
        f"""
        UPDATE deliveries SET state = '{QUEUED}', updated_at = $now
        WHERE state = '{FAILED}' AND (
            (error_code IN (SELECT unnest($later)) AND updated_at <= $cutoff)
            OR error_code IN (SELECT unnest($transient)))
        """,
        {"now": now, "later": sorted(later_codes), "cutoff": later_cutoff,
         "transient": sorted(codes)},
    ))


def requeue_held_back(con: duckdb.DuckDBPyConnection, now: datetime) -> int:
    """Announcement deliveries an older version skipped behind a welcome that could not
    go, or for want of a number where the citizen is now reachable: back in the queue,
    if the announcement is still current."""
    return count(con.execute(
        f"""
        UPDATE deliveries SET state = '{QUEUED}', error_title = NULL, updated_at = $now
        WHERE kind = '{ANNOUNCEMENT}' AND state = '{SKIPPED}'
          AND (error_title = $lost OR (error_title = $no_address AND citizen_id IN (
                  SELECT citizen_id FROM citizens c WHERE {address()} IS NOT NULL)))
          AND announcement_id IN (
              SELECT announcement_id FROM announcements
              WHERE NOT cancelled AND publish_at <= $now
                AND (expires_at IS NULL OR expires_at > $now))
        """,
        {"now": now, "lost": WELCOME_NOT_DELIVERED, "no_address": NO_PHONE_NUMBER},
    ))


def drop_refused_quotes(con: duckdb.DuckDBPyConnection, now: datetime,
                        codes: Collection[int]) -> int:
    """A correction or withdrawal whose quoted sends Meta refused (``codes``) and not one
    of which went out: its queued deliveries lose the quote, and the refused ones are
    queued again without it."""
    refused = f"state = '{FAILED}' AND list_contains($codes::INTEGER[], error_code)"
    return count(con.execute(
        f"""
        UPDATE deliveries SET reply_to = NULL, updated_at = $now,
               state = CASE WHEN state = '{FAILED}' THEN '{QUEUED}' ELSE state END
        WHERE kind = '{ANNOUNCEMENT}' AND reply_to IS NOT NULL
          AND (state = '{QUEUED}' OR ({refused}))
          AND announcement_id IN (
              SELECT announcement_id FROM deliveries
              WHERE kind = '{ANNOUNCEMENT}' AND reply_to IS NOT NULL
              GROUP BY announcement_id
              HAVING count_if({refused}) > 0
                 AND count_if(state IN {sql((SENDING, *REACHED))}) = 0)
        """,
        {"now": now, "codes": sorted(codes)},
    ))


# --- off the queue, with the reason --------------------------------------------------------

def close_left(con: duckdb.DuckDBPyConnection, now: datetime) -> int:
    """Queued announcements to a citizen no longer active, skipped (not subscribed, or
    paused); a drill goes to the staff test group, subscribed or not."""
    return count(con.execute(
        f"""
        UPDATE deliveries SET state = '{SKIPPED}', updated_at = $now,
               error_title = CASE WHEN s.state = $paused THEN $pause_reason ELSE $reason END
        FROM subscribers s
        WHERE deliveries.citizen_id = s.citizen_id AND s.state <> '{ACTIVE}'
          AND deliveries.kind = '{ANNOUNCEMENT}' AND deliveries.state = '{QUEUED}'
          AND deliveries.announcement_id NOT IN (
              SELECT announcement_id FROM announcements a WHERE {drill('a')})
        """,
        {"now": now, "reason": NOT_SUBSCRIBED, "paused": PAUSED,
         "pause_reason": CITIZEN_PAUSED},
    ))


def _close(con: duckdb.DuckDBPyConnection, state: str, condition: str, now: datetime,
           reason: str | None) -> int:
    return count(con.execute(
        f"""
        UPDATE deliveries SET state = '{state}', error_title = $reason, updated_at = $now
        FROM announcements a
        WHERE deliveries.announcement_id = a.announcement_id
          AND deliveries.state = '{QUEUED}' AND ({condition})
        """,
        {"now": now, "reason": reason},
    ))


def close_cancelled(con: duckdb.DuckDBPyConnection, now: datetime) -> int:
    """Queued deliveries of cancelled announcements: cancelled."""
    return _close(con, CANCELLED, "a.cancelled", now, None)


def close_expired(con: duckdb.DuckDBPyConnection, now: datetime) -> int:
    """Queued deliveries of announcements that expired before going out: skipped."""
    return _close(con, SKIPPED, "a.expires_at <= $now", now, EXPIRED)


# Each rule: the deliveries it skips (FROM ... WHERE on deliveries d and citizens c) and
# the reason, as SQL. Counted by kind, then applied: a first run may skip a million
# welcomes, too many to bring back as rows.
_OUTSIDE_WINDOW = f"""FROM deliveries d JOIN citizens c USING (citizen_id)
    WHERE d.state = '{QUEUED}' AND d.kind IN (SELECT unnest($kinds::VARCHAR[]))
      AND (c.last_inbound_at IS NULL OR c.last_inbound_at < $window)"""
_UNREACHABLE = f"""FROM deliveries d LEFT JOIN citizens c USING (citizen_id)
    WHERE d.state = '{QUEUED}' AND {address()} IS NULL"""


def _skip(con: duckdb.DuckDBPyConnection, rule: str, reason: str, params: dict,
          now: datetime) -> dict[tuple[str, str], int]:
    found = con.execute(f"SELECT d.kind, {reason}, count(*) {rule} GROUP BY ALL",
                        params).fetchall()
    if found:
        con.execute(
            f"""
            UPDATE deliveries SET state = '{SKIPPED}', error_title = u.reason, updated_at = $now
            FROM (SELECT d.delivery_id, {reason} AS reason {rule}) u
            WHERE deliveries.delivery_id = u.delivery_id""", {**params, "now": now})
    return {(kind, why): n for kind, why, n in found}


def skip_outside_window(con: duckdb.DuckDBPyConnection, now: datetime, window: datetime,
                        kinds: list[str]) -> dict[tuple[str, str], int]:
    """Queued replies of ``kinds`` to citizens who last wrote before ``window`` (Meta's
    24-hour window is closed): skipped. How many, by (kind, reason)."""
    return _skip(con, _OUTSIDE_WINDOW, f"'{OUTSIDE_WINDOW}'",
                 {"kinds": kinds, "window": window}, now)


def skip_unreachable(con: duckdb.DuckDBPyConnection, now: datetime
                     ) -> dict[tuple[str, str], int]:
    """Queued deliveries to a citizen with neither a number nor a business-scoped id:
    skipped. How many, by (kind, reason)."""
    return _skip(con, _UNREACHABLE, unreachable(), {}, now)
