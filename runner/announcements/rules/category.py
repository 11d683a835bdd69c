"""Rules about the category: one of the town's, and an emergency only where allowed."""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

from ...messages import t
from .registry import problem, rule

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ..model import Announcement
    from ..problems import Problem
    from .context import Context


@rule("category", needs=("category",))
def category_known(ann: Announcement, ctx: Context) -> Iterator[Problem]:
    allowed = ctx.settings.categories
    if ann.category not in allowed:
        close = difflib.get_close_matches(ann.category, allowed, n=1, cutoff=0.6)
        hint = t("announcement.did-you-mean", suggestion=close[0]) if close else ""
        yield problem(ann, "category", "category-unknown", "category",
                      value=ann.category, allowed=", ".join(allowed), hint=hint)


@rule("emergency-category", needs=("category", "urgency"))
def emergency_only_where_allowed(ann: Announcement, ctx: Context) -> Iterator[Problem]:
    allowed = ctx.settings.emergency_categories
    if ann.urgency == "emergency" and ann.category not in allowed:
        yield problem(ann, "emergency-category", "emergency-category", "urgency",
                      category=ann.category, allowed=", ".join(allowed))
