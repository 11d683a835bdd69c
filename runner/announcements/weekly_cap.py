"""The weekly cap: what it counts, and each announcement's place in its week.

The weekly cap counts what citizens receive as news, per ISO week in the town's
time zone: not drills (staff only), and not the corrections and withdrawals of
emergencies, which like emergencies ignore the cap and quiet hours
(:func:`.schedule.is_urgent`). :func:`cap_counts` is the one definition, read by
validate (the ``weekly-cap`` rule, the step summary, the reviewer's block) and by
the reports alike.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from typing import TYPE_CHECKING

from .schedule import by_id

if TYPE_CHECKING:
    from ..config import Settings
    from .model import Announcement


def week_of(ann: Announcement, settings: Settings) -> str | None:
    start = ann.effective_publish_at
    if start is None:
        return None
    year, week, _ = start.astimezone(settings.tz).isocalendar()
    return f"{year}-W{week:02d}"


def cap_counts(status: str, urgency: str, original_urgency: str | None = None) -> bool:
    """The one definition of what the weekly cap counts, on plain values (validate's
    files and the reports' database rows alike): what citizens receive as news. Not
    drills (staff only), not emergencies nor their corrections and withdrawals
    (``original_urgency``). Cancelled or withdrawn later, it still counts: it may
    already have gone out, and its week's budget with it."""
    return status == "actual" and "emergency" not in (urgency, original_urgency)


def counts_toward_cap(ann: Announcement, announcements: dict[str, Announcement]) -> bool:
    """:func:`cap_counts` of an announcement (its original found in ``announcements``)."""
    original = announcements.get(ann.references) if ann.references else None
    return cap_counts(ann.status, ann.urgency, original.urgency if original else None)


def weekly_counts(announcements: list[Announcement], settings: Settings,
                  newcomers: Collection[str] = frozenset(), broken: Collection[str] = frozenset(),
                  ) -> tuple[dict[str, tuple[str, int]], dict[str, int]]:
    """Rank of each announcement the cap counts in its ISO week (town time), and the
    totals of each week (without ``broken`` files, which rank last: never sent)."""
    by_week: dict[str, list[Announcement]] = defaultdict(list)
    known = by_id(announcements)
    for ann in announcements:
        week = week_of(ann, settings)
        if week and counts_toward_cap(ann, known):
            by_week[week].append(ann)
    ranks: dict[str, tuple[str, int]] = {}
    for week, anns in by_week.items():
        anns.sort(key=lambda a: (a.file in broken, a.file in newcomers,
                                 a.effective_publish_at, a.id))
        for i, ann in enumerate(anns, 1):
            ranks[ann.file] = (week, i)
    return ranks, {week: sum(a.file not in broken for a in anns)
                   for week, anns in sorted(by_week.items())}
