"""When an announcement really goes out: quiet hours hold everything but emergencies.

``send`` holds a non-emergency announcement that is due in quiet hours until they
end (:func:`in_quiet_hours`, the one definition both use); the reviewer sees that
wait (:func:`goes_out_at`), and an announcement that the wait would push past its
expiry is an error (the ``quiet-hours`` rule, :mod:`.rules.timing`): it would never
reach anyone.

An emergency, and the correction or withdrawal of one (:func:`is_urgent`), ignores
quiet hours and the weekly cap. An expired announcement is history
(:func:`is_history`): it can never be sent again.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..config import Settings
    from .model import Announcement


def in_quiet_hours(now: datetime, settings: Settings) -> bool:
    """True between quiet_hours_start and quiet_hours_end in the town's time zone."""
    start, end = settings.quiet_hours_start, settings.quiet_hours_end
    local: time = now.astimezone(settings.tz).time().replace(tzinfo=None)
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end  # the usual case: across midnight


def quiet_end(moment: datetime, settings: Settings) -> datetime:
    """The end of the quiet hours ``moment`` falls in (``moment`` itself when it does not)."""
    if not in_quiet_hours(moment, settings):
        return moment
    local = moment.astimezone(settings.tz)
    end = datetime.combine(local.date(), settings.quiet_hours_end, tzinfo=settings.tz)
    if end <= local:
        end += timedelta(days=1)
    return end


def goes_out_at(ann: Announcement, settings: Settings,
                urgent: bool | None = None) -> datetime | None:
    """When sending starts: publish time, moved to the end of quiet hours unless urgent
    (an emergency; ``urgent`` says so for the correction or withdrawal of one, which
    only the repository knows: :func:`is_urgent`)."""
    start = ann.effective_publish_at
    if start is None or (ann.urgency == "emergency" if urgent is None else urgent):
        return start
    return quiet_end(start, settings)


def is_history(ann: Announcement, now: datetime) -> bool:
    """Expired: it can never be sent again, so only reading errors and its id matter.

    A policy change (a lower weekly cap, a category removed) must not turn years of
    history into errors that block every new pull request."""
    end = ann.effective_expires_at
    return end is not None and end <= now


def by_id(announcements: Iterable[Announcement]) -> dict[str, Announcement]:
    """Announcements by id (the first file, where an id is duplicated)."""
    found: dict[str, Announcement] = {}
    for ann in announcements:
        found.setdefault(ann.id, ann)
    return found


def is_urgent(ann: Announcement, announcements: dict[str, Announcement]) -> bool:
    """An emergency, or the correction or withdrawal of one (found in ``announcements``,
    by id): it ignores the weekly cap and quiet hours."""
    original = announcements.get(ann.references) if ann.references else None
    return ann.urgency == "emergency" or (original is not None
                                          and original.urgency == "emergency")
