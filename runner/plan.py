"""Planning: due announcements x active subscribers become deliveries, in one SQL step.

Deliveries are keyed deterministically (``a:<announcement_id>:<citizen_id>``),
so planning again, or after the database was rebuilt from the logs, adds only
what is missing (``ON CONFLICT DO NOTHING``); and before anything is sent,
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
        con.execute("CREATE OR REPLACE TEMP TABLE due_now AS SELECT unnest(?::VARCHAR[]) AS id",
                    [due])
        before = dict(con.execute(
            "SELECT announcement_id, count(*) FROM deliveries "
            "WHERE announcement_id IN (SELECT id FROM due_now) GROUP BY ALL").fetchall())
        con.execute(
            """
            INSERT INTO deliveries (delivery_id, kind, announcement_id, citizen_id, state,
                                    created_at, updated_at)
            SELECT 'a:' || d.id || ':' || s.citizen_id, 'announcement', d.id, s.citizen_id,
                   'queued', $now, $now
            FROM due_now d CROSS JOIN subscribers s
            WHERE s.state = 'active'
            ON CONFLICT DO NOTHING
            """,
            {"now": now},
        )
        after = dict(con.execute(
            "SELECT announcement_id, count(*) FROM deliveries "
            "WHERE announcement_id IN (SELECT id FROM due_now) GROUP BY ALL").fetchall())
        summary.planned = {a: after.get(a, 0) - before.get(a, 0) for a in due}
    summary.cancelled = _close(con, "cancelled", "a.cancelled", now)
    summary.expired = _close(con, "skipped", "a.expires_at <= $now", now, reason="expired")
    return summary


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
    result.ambiguous = con.execute(
        "SELECT count(*) FROM deliveries WHERE state = 'sending'").fetchone()[0]
    rank_d, rank_s = STATE_RANK.format(col="deliveries.state"), STATE_RANK.format(col="s.status")
    result.from_statuses = con.execute(
        f"""
        UPDATE deliveries SET state = s.status, wamid = s.wamid,
               error_code = coalesce(s.error_code, deliveries.error_code),
               error_title = coalesce(s.error_title, deliveries.error_title),
               sent_at = coalesce(deliveries.sent_at, s.sent_at, s.ts), updated_at = $now
        FROM (SELECT {callback_delivery_id_sql("callback")} AS delivery_id,
                     arg_max(status, {STATE_RANK.format(col="status")}) AS status,
                     arg_max(wamid, {STATE_RANK.format(col="status")}) AS wamid,
                     max(error_code) AS error_code, max(error_title) AS error_title,
                     min(sent_at) AS sent_at, min(ts) AS ts
              FROM statuses WHERE delivery_id IS NOT NULL GROUP BY 1) s
        WHERE deliveries.delivery_id = s.delivery_id
          AND deliveries.state IN ('queued', 'sending', 'sent', 'failed', 'delivered')
          AND {rank_s} > {rank_d}
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
