"""Rules about when an announcement goes out: within the weekly cap, after it is
published and before it expires, and not pushed past its expiry by quiet hours."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...messages import dates
from ..schedule import goes_out_at, is_history, is_urgent
from .registry import problem, rule

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ..model import Announcement
    from ..problems import Problem
    from .context import Context

# What decides when an announcement goes out and whether the weekly cap counts it.
WHEN_KEYS = ("publish_at", "expires_at", "urgency", "status", "updates", "cancels")


@rule("weekly-cap", scope="repo", needs=WHEN_KEYS)
def weekly_cap(ann: Announcement, ctx: Context) -> Iterator[Problem]:
    week, rank = ctx.week_rank.get(ann.file, (None, 0))
    cap = ctx.settings.weekly_cap
    if week and rank > cap:
        yield problem(ann, "weekly-cap", "weekly-cap",
                      "publish_at" if ann.publish_at else None,
                      week=dates.week(week), rank=rank, cap=cap,
                      total=max(rank, ctx.budget[week]))  # with it, once it is fixed


@rule("expiry", needs=("publish_at", "expires_at"))
def expires_after_publish(ann: Announcement, ctx: Context) -> Iterator[Problem]:
    start, end = ann.effective_publish_at, ann.expires_at
    if start is not None and end is not None and end <= start:
        tz = ctx.settings.tz
        yield problem(ann, "expiry", "expiry", "expires_at",
                      expires=dates.moment(end, tz), publish=dates.moment(start, tz))


@rule("expired", scope="review", needs=("publish_at", "expires_at"))
def not_expired_on_arrival(ann: Announcement, ctx: Context) -> Iterator[Problem]:
    end = ann.effective_expires_at  # history has one (is_history)
    if ctx.now is not None and end is not None and is_history(ann, ctx.now):
        yield problem(ann, "expired", "expired", "expires_at" if ann.expires_at else None,
                      expires=dates.moment(end, ctx.settings.tz))


@rule("quiet-hours", scope="repo", needs=WHEN_KEYS)
def quiet_hours_past_expiry(ann: Announcement, ctx: Context) -> Iterator[Problem]:
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
