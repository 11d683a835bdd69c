"""What checking announcements returns: a leaf type the checker fills and every
presenter reads (the terminal, GitHub's annotations and summary, the reviewer's
block, the pull request's comment), so none of them depends on another.

A bad announcement is reported, never sent: ``send`` uses only ``CheckResult.valid``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .model import Announcement
    from .problems import Problem
    from .render import Rendered


@dataclass
class CheckResult:
    files: list[str]  # the files checked, as shown to staff
    problems: list[Problem]
    checked: list[Announcement]  # every checked file that could be read
    valid: list[Announcement]  # checked, and without any problem: what may be sent
    rendered: dict[str, Rendered] = field(default_factory=dict)  # by file
    budget: dict[str, int] = field(default_factory=dict)  # ISO week -> non-emergency count
    weekly_cap: int = 10
    weeks: dict[str, list[str]] = field(default_factory=dict)  # ISO week -> ids, in rank order
    # ids of checked emergencies and of corrections/withdrawals of one: no quiet hours
    urgent: set[str] = field(default_factory=set)
    reviewed: bool = False  # named files (a pull request's), not the whole repository

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if not p.is_error]

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def rendered_for(self, ann: Announcement) -> Rendered | None:
        return self.rendered.get(ann.file)
