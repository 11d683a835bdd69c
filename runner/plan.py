"""Planning: due announcements x active subscribers become deliveries, in SQL (one
statement per announcement and range of about 100,000 citizens).

Deliveries are keyed deterministically (``a:<announcement_id>:<citizen_id>``),
so planning again, or after the database was rebuilt from the logs, adds only
what is missing (an anti-join on announcement and citizen); and before anything is sent,
:func:`settle` marks as already sent whatever the status webhooks
(``statuses.callback``) or the outbox show went out, whatever the database
thought.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time
from pathlib import Path

import duckdb

from . import outbox
from .whatsapp import callback_delivery_id_sql

# Order of a delivery's states: a status webhook only ever moves it forward.
# failed outranks sent (the 200 came first, the failure later) but not delivered/read.
STATE_RANK = "CASE {col} WHEN 'sent' THEN 1 WHEN 'failed' THEN 2 WHEN 'delivered' THEN 3 " \
             "WHEN 'read' THEN 4 WHEN 'played' THEN 4 ELSE 0 END"


@dataclass
class PlanSummary:
    planned: dict[str, int] = field(default_factory=dict)  # announcement id -> new deliveries
    cancelled: int = 0  # queued deliveries of cancelled announcements
    expired: int = 0    # queued deliveries of announcements that expired before going out


def in_quiet_hours(now: datetime, settings) -> bool:
    """True between quiet_hours_start and quiet_hours_end in the town's time zone."""
    start, end = settings.quiet_hours_start, settings.quiet_hours_end
    local: time = now.astimezone(settings.tz).time().replace(tzinfo=None)
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end  # the usual case: across midnight


def snapshot(con: duckdb.DuckDBPyConnection, announcements, now: datetime) -> None:
    """Record each announcement's front matter as it is now (a later commit may cancel it)."""
    rows = [
        (a.id, a.file, a.title, a.category, a.urgency, a.effective_publish_at,
         a.effective_expires_at, a.cancelled, now)
        for a in announcements
        if a.effective_publish_at is not None
    ]
    if not rows:
        return
    con.executemany(
        """
        INSERT INTO announcements (announcement_id, path, title, category, urgency,
                                   publish_at, expires_at, cancelled, planned_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (announcement_id) DO UPDATE SET
            path = excluded.path, title = excluded.title, category = excluded.category,
            urgency = excluded.urgency, publish_at = excluded.publish_at,
            expires_at = excluded.expires_at,
            -- once cancelled, always cancelled: un-cancelling must not resume a broadcast
            cancelled = announcements.cancelled OR excluded.cancelled
        """,
        rows,
    )


def plan(con: duckdb.DuckDBPyConnection, settings, announcements, now: datetime) -> PlanSummary:
    """Snapshot ``announcements`` and create the deliveries of those due at ``now``."""
    summary = PlanSummary()
    snapshot(con, announcements, now)
    due = [a.id for a in announcements if a.is_due(now)]
    if due:
        bounds = _citizen_bounds(con)
        summary.planned = {a: sum(_create(con, a, lo, hi, now) for lo, hi in bounds) for a in due}
    summary.cancelled = _close(con, "cancelled", "a.cancelled", now)
    summary.expired = _close(con, "skipped", "a.expires_at <= $now", now, reason="expired")
    return summary


# Deliveries created per INSERT. DuckDB holds an INSERT's rows in memory until it
# commits: one statement for a 1,000,000 audience peaked at 455 MB (issue 4).
BATCH = 100_000


def _citizen_bounds(con) -> list[tuple[str, str | None]]:
    """Ranges of citizen ids of about BATCH active subscribers each, from a sample."""
    active = con.execute("SELECT count(*) FROM subscribers WHERE state = 'active'").fetchone()[0]
    parts = -(-active // BATCH)
    if parts <= 1:
        return [("", None)]
    sample = sorted(row[0] for row in con.execute(
        "SELECT citizen_id FROM (SELECT citizen_id FROM subscribers WHERE state = 'active') "
        "USING SAMPLE reservoir(10000 ROWS)").fetchall())
    cuts = sorted({sample[len(sample) * k // parts] for k in range(1, parts)} - {""})
    return list(zip(["", *cuts], [*cuts, None], strict=True))


def _create(con, announcement_id: str, lo: str, hi: str | None, now: datetime) -> int:
    """One delivery per active subscriber in [lo, hi) who has none for this announcement yet.

    The anti-join on (announcement, citizen) is what keeps planning from creating a
    second row; ``ON CONFLICT`` on the key would hold every new key in memory (+137 MB
    at 1,000,000). Rows go in citizen order: the range filters then skip whole blocks.
    """
    upper = "AND citizen_id < $hi" if hi is not None else ""
    return con.execute(
        f"""
        INSERT INTO deliveries (delivery_id, kind, announcement_id, citizen_id, state,
                                created_at, updated_at)
        SELECT 'a:' || $ann || ':' || citizen_id, 'announcement', $ann, citizen_id,
               'queued', $now, $now
        FROM subscribers s
        WHERE state = 'active' AND citizen_id >= $lo {upper}
          AND NOT EXISTS (SELECT 1 FROM deliveries x
                          WHERE x.announcement_id = $ann AND x.citizen_id = s.citizen_id
                            AND x.citizen_id >= $lo {upper.replace("citizen_id", "x.citizen_id")})
        ORDER BY citizen_id
        """,
        {"ann": announcement_id, "lo": lo, "now": now, **({"hi": hi} if hi is not None else {})},
    ).fetchone()[0]


def _close(con, state: str, condition: str, now: datetime, reason: str | None = None) -> int:
    """Take queued deliveries of cancelled/expired announcements off the queue."""
    return con.execute(
        f"""
        UPDATE deliveries SET state = '{state}', error_title = $reason, updated_at = $now
        FROM announcements a
        WHERE deliveries.announcement_id = a.announcement_id
          AND deliveries.state = 'queued' AND ({condition})
        """,
        {"now": now, "reason": reason},
    ).fetchone()[0]


_SETTLEABLE = "'queued', 'sending', 'sent', 'failed', 'delivered'"


@dataclass
class Settled:
    ambiguous: int = 0        # left in `sending` by a run that stopped mid-request
    from_statuses: int = 0    # queued/sending deliveries the status webhooks show went out
    from_outbox: int = 0      # ... or that the outbox holds
    requeued: int = 0         # ambiguous with no trace: sent again


def settle(con: duckdb.DuckDBPyConnection, now: datetime, outbox_path: Path | None) -> Settled:
    """Before any send: believe the status webhooks and the outbox over the database.

    Every delivery whose ``banditore:<delivery_id>`` came back in a status
    webhook takes that status (a queued one after a rebuild, an ambiguous
    ``sending`` one after a crash, a sent one now delivered or failed). Then
    ``sending`` ones found in the outbox are sent; the rest never left and go
    back to the queue.
    """
    result = Settled()
    # Only the statuses that move a delivery forward are aggregated: the join comes
    # first, on a 64-bit hash of the id (a collision only adds a candidate that the
    # outer join on the id itself drops). Aggregating every status of a year (3,000,000)
    # before joining peaked at 1.1 GB; this, at 220 MB (issue 4).
    result.ambiguous = con.execute(
        "SELECT count(*) FROM deliveries WHERE state = 'sending'").fetchone()[0]
    rank_d, rank_s = STATE_RANK.format(col="deliveries.state"), STATE_RANK.format(col="s.status")
    result.from_statuses = con.execute(
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
                           error_code, error_title, sent_at, ts,
                           {STATE_RANK.format(col="status")} AS rank
                    FROM statuses) st
              JOIN (SELECT hash(delivery_id) AS h, {STATE_RANK.format(col="state")} AS rank
                    FROM deliveries WHERE state IN ({_SETTLEABLE})) d
                ON d.h = hash(st.delivery_id) AND st.rank > d.rank
              WHERE st.delivery_id IS NOT NULL
              GROUP BY 1) s
        WHERE deliveries.delivery_id = s.delivery_id
          AND deliveries.state IN ({_SETTLEABLE}) AND {rank_s} > {rank_d}
        """,
        {"now": now},
    ).fetchone()[0]
    if outbox_path is not None and outbox.load_callbacks(con, outbox_path) > 0:
        result.from_outbox = con.execute(
            """
            UPDATE deliveries SET state = 'sent', sent_at = coalesce(sent_at, $now),
                   updated_at = $now
            WHERE state IN ('queued', 'sending')
              AND delivery_id IN (SELECT delivery_id FROM outbox_delivered)
            """,
            {"now": now},
        ).fetchone()[0]
    result.requeued = con.execute(
        "UPDATE deliveries SET state = 'queued', updated_at = $now WHERE state = 'sending'",
        {"now": now},
    ).fetchone()[0]
    return result
