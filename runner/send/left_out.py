"""Who a run leaves without an emergency: the active subscribers in an emergency's
audience whose delivery this run skipped or failed, by reason. Any such citizen
makes the run exit 1, naming the reason and the count (DESIGN.md, "Who receives
what"): an emergency must never miss anyone silently.

"This run's doing" is told by a snapshot, not by the clock (BANDITORE_NOW may
stand still across runs): before the run changes anything, the state and attempts
of the watched emergencies' deliveries are copied; afterwards a delivery skipped
or failed that is new, or whose state or attempts changed, is counted. Watched:
the emergencies (and corrections or withdrawals of one) due now, and those with
deliveries still queued or in flight (they may expire during this run).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..announcements.schedule import by_id, is_urgent
from ..vocabulary import ACTIVE, FAILED, OPEN, SKIPPED, sql
from .welcome_first import URGENT

if TYPE_CHECKING:
    from datetime import datetime

    import duckdb

    from ..announcements.model import Announcement


@dataclass(frozen=True)
class LeftOut:
    """Citizens an emergency missed in this run, for one reason."""

    announcement_id: str
    state: str               # skipped | failed
    reason: str | int | None  # a skip reason (vocabulary) or Meta's error code
    title: str | None        # Meta's error title, for a failure
    count: int


def watch(con: duckdb.DuckDBPyConnection, announcements: list[Announcement],
          now: datetime) -> None:
    """Before the run: remember the watched emergencies' deliveries as they are."""
    known = by_id(announcements)
    due = [a.id for a in announcements
           if a.is_due(now) and not a.is_drill and is_urgent(a, known)]
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE left_out_watched AS
        SELECT unnest($due::VARCHAR[]) AS announcement_id
        UNION
        SELECT DISTINCT announcement_id FROM deliveries
        WHERE kind = 'announcement' AND state IN {sql(OPEN)}
          AND announcement_id IN ({URGENT})
        """, {"due": due})
    # By a 64-bit hash of the id, not the id: an emergency to a million is 20 MB, not 60,
    # within the send's memory cap (a collision could only hide one change of state).
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE left_out_before AS
        SELECT hash(delivery_id) AS h, state, attempts FROM deliveries
        WHERE kind = 'announcement'
          AND announcement_id IN (SELECT announcement_id FROM left_out_watched)
        """)


def left_out(con: duckdb.DuckDBPyConnection) -> list[LeftOut]:
    """After the run: what it skipped or failed of the watched emergencies, for citizens
    still active, by announcement and reason."""
    rows = con.execute(
        f"""
        SELECT d.announcement_id, d.state,
               CASE WHEN d.state = '{SKIPPED}' THEN d.error_title END AS reason,
               d.error_code, max(d.error_title), count(*)
        FROM deliveries d
        JOIN subscribers s ON s.citizen_id = d.citizen_id AND s.state = '{ACTIVE}'
        JOIN announcements a ON a.announcement_id = d.announcement_id
        LEFT JOIN left_out_before b ON b.h = hash(d.delivery_id)
        WHERE d.kind = 'announcement' AND d.state IN ('{SKIPPED}', '{FAILED}')
          AND d.announcement_id IN (SELECT announcement_id FROM left_out_watched)
          AND coalesce(a.status, 'actual') = 'actual'
          AND (b.h IS NULL OR b.state <> d.state
               OR b.attempts IS DISTINCT FROM d.attempts)
        GROUP BY d.announcement_id, d.state, reason, d.error_code
        ORDER BY d.announcement_id, count(*) DESC
        """).fetchall()
    return [LeftOut(ann, state, reason if state == SKIPPED else code,
                    title if state == FAILED else None, n)
            for ann, state, reason, code, title, n in rows]
