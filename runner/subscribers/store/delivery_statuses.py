"""Delivery statuses from the stage into ``statuses``: the highest state each message
we sent reached, merged so that any order and repetition give the same row.

Temporary tables, made and dropped here: ``rids`` (recipient_id, citizen_id) and
``stage_statuses_kept`` (the staged statuses without those of forgotten citizens,
up to their erasure), only when someone was forgotten; ``stage_merged`` (each
wamid's row after the merge), dropped by the merge itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ...db import temp_table
from .erasure import Forget, drop_forgotten

if TYPE_CHECKING:
    import duckdb


def staged_count(con: duckdb.DuckDBPyConnection) -> int:
    """The usable status webhooks staged, repetitions included."""
    return con.execute("SELECT count(*) FROM stage_statuses").fetchall()[0][0]


def recipients(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The distinct recipients of the staged statuses."""
    return [r[0] for r in con.execute(
        "SELECT DISTINCT recipient_id FROM stage_statuses "
        "WHERE recipient_id IS NOT NULL").fetchall()]


def merge(con: duckdb.DuckDBPyConnection) -> None:
    """Merge every staged status into ``statuses``."""
    con.execute(_MERGE_STATUSES.format(source="stage_statuses"))


def merge_kept(con: duckdb.DuckDBPyConnection, recipients: Sequence[str],
               citizen_ids: Sequence[str], forgotten: Sequence[Forget]) -> None:
    """Merge the staged statuses into ``statuses``, but those of forgotten citizens (the
    recipients' ``citizen_ids``) up to their erasure."""
    temp_table(con, "rids", recipient_id=("VARCHAR", recipients),
               citizen_id=("VARCHAR", citizen_ids))
    con.execute("""
        CREATE OR REPLACE TEMP TABLE stage_statuses_kept AS
        SELECT s.*, r.citizen_id FROM stage_statuses s
        LEFT JOIN rids r USING (recipient_id)""")
    drop_forgotten(con, "stage_statuses_kept", forgotten)
    con.execute(_MERGE_STATUSES.format(source="stage_statuses_kept"))
    con.execute("DROP TABLE rids")
    con.execute("DROP TABLE stage_statuses_kept")


# Each status column merges by min/max, so any order and any repetition of the
# webhooks gives the same row; failed wins only over what came before it (a
# later delivered/read/played, from another device or a retry by Meta, means
# the message did arrive). New and known wamids are merged in one pass.
_MERGE_STATUSES = """
CREATE OR REPLACE TEMP TABLE stage_merged AS
WITH batch AS (
    SELECT wamid,
        min(ts) FILTER (status = 'sent') AS sent_at,
        min(ts) FILTER (status = 'delivered') AS delivered_at,
        min(ts) FILTER (status = 'read') AS read_at,
        min(ts) FILTER (status = 'played') AS played_at,
        max(ts) FILTER (status = 'failed') AS failed_at,
        max((ts, error_code, error_title)) FILTER (status = 'failed') AS failure,
        max(recipient_id) AS recipient_id, max(callback) AS callback,
        max(pricing_category) AS pricing_category, max(pricing_type) AS pricing_type,
        bool_or(billable) AS billable
    FROM {source} GROUP BY wamid),
merged AS (
    SELECT b.wamid,
        least(b.sent_at, o.sent_at) AS sent_at,
        least(b.delivered_at, o.delivered_at) AS delivered_at,
        least(b.read_at, o.read_at) AS read_at,
        least(b.played_at, o.played_at) AS played_at,
        greatest(b.failed_at, o.failed_at) AS failed_at,
        greatest(b.failure, CASE WHEN o.failed_at IS NOT NULL
                                 THEN (o.failed_at, o.error_code, o.error_title) END) AS failure,
        greatest(b.recipient_id, o.recipient_id) AS recipient_id,
        greatest(b.callback, o.callback) AS callback,
        greatest(b.pricing_category, o.pricing_category) AS pricing_category,
        greatest(b.pricing_type, o.pricing_type) AS pricing_type,
        greatest(b.billable, o.billable) AS billable,
        o.wamid IS NOT NULL AS known
    FROM batch b LEFT JOIN statuses o USING (wamid))
SELECT *,
    failed_at IS NOT NULL AND failed_at > coalesce(
        greatest(delivered_at, read_at, played_at), failed_at - INTERVAL 1 SECOND) AS failed
FROM merged;

DELETE FROM statuses WHERE wamid IN (SELECT wamid FROM stage_merged WHERE known);

INSERT INTO statuses (wamid, status, ts, sent_at, delivered_at, read_at, failed_at,
                      recipient_id, callback, error_code, error_title, pricing_category,
                      played_at, pricing_type, billable)
SELECT wamid,
    CASE WHEN failed THEN 'failed' WHEN played_at IS NOT NULL THEN 'played'
         WHEN read_at IS NOT NULL THEN 'read' WHEN delivered_at IS NOT NULL THEN 'delivered'
         ELSE 'sent' END,
    CASE WHEN failed THEN failed_at
         ELSE coalesce(played_at, read_at, delivered_at, sent_at, failed_at) END,
    sent_at, delivered_at, read_at, failed_at, recipient_id, callback,
    failure[2], failure[3], pricing_category, played_at, pricing_type, billable
FROM stage_merged;

DROP TABLE stage_merged;
"""
