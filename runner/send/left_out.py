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

from typing import TYPE_CHECKING

from ..announcements.schedule import by_id, is_urgent
from ..vocabulary import FAILED, SKIPPED
from .results import LeftOut
from .store import figures

if TYPE_CHECKING:
    from datetime import datetime

    import duckdb

    from ..announcements.model import Announcement


def watch(con: duckdb.DuckDBPyConnection, announcements: list[Announcement],
          now: datetime) -> None:
    """Before the run: remember the watched emergencies' deliveries as they are."""
    known = by_id(announcements)
    figures.watch_emergencies(con, [a.id for a in announcements
                                    if a.is_due(now) and not a.is_drill and is_urgent(a, known)])


def left_out(con: duckdb.DuckDBPyConnection) -> list[LeftOut]:
    """After the run: what it skipped or failed of the watched emergencies, for citizens
    still active, by announcement and reason."""
    return [LeftOut(ann, state, reason if state == SKIPPED else code,
                    title if state == FAILED else None, n)
            for ann, state, reason, code, title, n in figures.left_out_rows(con)]


def unwatch(con: duckdb.DuckDBPyConnection) -> None:
    """Once read: the snapshot goes."""
    figures.forget_watched(con)
