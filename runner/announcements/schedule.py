"""When an announcement really goes out: quiet hours hold everything but emergencies.

``send`` holds a non-emergency announcement that is due in quiet hours until they
end (:func:`in_quiet_hours`, the one definition both use); the reviewer sees that
wait (:func:`goes_out_at`), and an announcement that the wait would push past its
expiry is an error: it would never reach anyone.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING

from .policy import WHEN_KEYS, is_urgent, problem, rule

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
    only the repository knows: :func:`.policy.is_urgent`)."""
    start = ann.effective_publish_at
    if start is None or (ann.urgency == "emergency" if urgent is None else urgent):
        return start
    return quiet_end(start, settings)


@rule("quiet-hours", scope="repo", needs=WHEN_KEYS)
def quiet_hours_past_expiry(ann, ctx):
    start, end = ann.effective_publish_at, ann.effective_expires_at
    out = goes_out_at(ann, ctx.settings, is_urgent(ann, ctx.by_id))
    if start is None or end is None or out is None or out == start or out < end:
        return
    tz = ctx.settings.tz
    yield problem(ann, "quiet-hours", "quiet-hours-expiry",
                  "expires_at" if ann.expires_at else "publish_at",
                  publish=start.astimezone(tz).strftime("%d/%m %H:%M"),
                  out=out.astimezone(tz).strftime("%d/%m %H:%M"),
                  expires=end.astimezone(tz).strftime("%d/%m %H:%M"))
