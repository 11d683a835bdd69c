"""The town's policy: the rule registry and what rules may consult.

A rule is ``rule(announcement, ctx)`` registered with ``@rule("rule-id")``; it
yields :class:`~runner.announcements.problems.Problem` with the file, line and a message from
the catalogue (``policy.*``) that says how to fix it. ``ctx`` holds what a rule
may need beyond the file: the settings, the repository root, the whole repo's
announcements (duplicate ids, the weekly cap) and the rendered messages.

Rule ids (reading the file adds ``schema``, ``yaml-syntax``, ``encoding``,
``empty-file``, ``front-matter-missing``, ``front-matter-unterminated``,
``front-matter-not-mapping``, ``file-too-large``, ``file-unreadable``):

category, emergency-category, weekly-cap, expiry, expired, file-name, file-date,
year-folder, duplicate-id, template, template-header, length, media,
link-domain, personal-data, markup, template-required, template-approved,
template-text, template-length, already-sent, quiet-hours, lifecycle-reference,
lifecycle-withdrawn, lifecycle-category, exercise-recipients, title-label. The rules live in
:mod:`.rules` (front matter, file, template, media), :mod:`.text_rules` (what
the title and body say), :mod:`.markup_rules` (Markdown WhatsApp cannot show),
:mod:`.template_rules` (the template as Meta has it), :mod:`.schedule` (quiet
hours) and :mod:`.lifecycle` (corrections, withdrawals, drills); importing them
registers them. A rule may yield a ``warning``: shown, but
the announcement still goes out.

The weekly cap counts what citizens receive as news: not drills (staff only),
and not the corrections and withdrawals of emergencies, which like emergencies
ignore the cap and quiet hours (:func:`is_urgent`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ..messages import t
from .model import Announcement
from .problems import Problem
from .render import Rendered, RenderError

if TYPE_CHECKING:
    from ..config import Settings

RULES: list[tuple[str, Callable]] = []
# What each rule needs and when it applies: "content" only the title and body;
# "file" the whole file; "repo" every announcement in the repository (checked after
# all files are read); "always" applies to history too; "review" only to the files
# named on the command line (a pull request's files).
SCOPES: dict[str, set[str]] = {
    "content": set(), "file": set(), "repo": set(), "always": set(), "review": set()}


# What decides when an announcement goes out and whether the weekly cap counts it.
WHEN_KEYS = ("publish_at", "expires_at", "urgency", "status", "updates", "cancels")


def rule(rule_id: str, scope: str = "file", needs: tuple[str, ...] = ()):
    """Register a rule; ``needs``: the front-matter keys it reads, so that a draft whose
    value for one of them is wrong or missing is spared a rule that would only repeat
    (or garble) that problem, and gets every other rule in the same round."""

    def register(func):
        func.rule_id, func.needs = rule_id, frozenset(needs)
        RULES.append((rule_id, func))
        SCOPES[scope].add(rule_id)
        return func

    return register


@dataclass
class Context:
    settings: object
    root: Path
    announcements: list[Announcement] = field(default_factory=list)  # the whole repo
    rendered: dict[str, Rendered | RenderError] = field(default_factory=dict)
    id_files: dict[str, list[str]] = field(default_factory=dict)
    by_id: dict[str, Announcement] = field(default_factory=dict)
    week_rank: dict[str, tuple[str, int]] = field(default_factory=dict)
    budget: dict[str, int] = field(default_factory=dict)
    now: datetime | None = None
    # Repository path -> where its content is, for files read as data (validate.check)
    files: Mapping[str, Path] = field(default_factory=dict)

    def content_of(self, path: Path) -> Path:
        """Where to read the repository file at ``path`` (absolute, under ``root``)."""
        return self.files.get(path.relative_to(self.root).as_posix(), path)

    @classmethod
    def build(cls, settings: Settings, announcements: list[Announcement], root: Path | None = None,
              newcomers: set[str] = frozenset(), broken: set[str] = frozenset()):
        """``newcomers``: files under review; they take the weekly budget last, so a
        pull request is told when its file does not fit in an already full week.
        ``broken``: files with errors, never sent: after everyone else, not in the totals."""
        ctx = cls(settings, (root or Path.cwd()).resolve(), announcements,
                  now=settings.current_time())
        files: dict[str, list[str]] = defaultdict(list)
        for ann in announcements:
            files[ann.id].append(ann.file)
        ctx.id_files = dict(files)
        ctx.by_id = by_id(announcements)
        ctx.week_rank, ctx.budget = weekly_counts(announcements, settings, newcomers, broken)
        return ctx


def problem(ann: Announcement, rule_id: str, key: str, where: str | int | None = None,
            col: int = 1, *, severity: str = "error", **values) -> Problem:
    """A Problem at a front-matter key (``where`` a str) or at a line (an int)."""
    line = where if isinstance(where, int) else ann.line(where)
    return Problem(ann.file, line, col, rule_id, t(f"policy.{key}", **values), severity)


def run_rules(ann: Announcement, ctx: Context, *scopes: str) -> Iterator[Problem]:
    """Problems from the rules of ``scopes`` (default: all of them)."""
    wanted = set().union(*(SCOPES[s] for s in scopes)) if scopes else None
    broken = ann.source.broken
    for rule_id, func in RULES:
        if (wanted is None or rule_id in wanted) and not func.needs & broken:
            yield from func(ann, ctx)


def is_history(ann: Announcement, now: datetime) -> bool:
    """Expired: it can never be sent again, so only reading errors and its id matter.

    A policy change (a lower weekly cap, a category removed) must not turn years of
    history into errors that block every new pull request."""
    end = ann.effective_expires_at
    return end is not None and end <= now


def week_of(ann: Announcement, settings: Settings) -> str | None:
    start = ann.effective_publish_at
    if start is None:
        return None
    year, week, _ = start.astimezone(settings.tz).isocalendar()
    return f"{year}-W{week:02d}"


def by_id(announcements) -> dict[str, Announcement]:
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


def weekly_counts(announcements, settings: Settings, newcomers: set[str] = frozenset(),
                  broken: set[str] = frozenset()):
    """Rank of each announcement the cap counts in its ISO week (town time), and the
    totals of each week (without ``broken`` files, which rank last: never sent)."""
    by_week: dict[str, list[Announcement]] = defaultdict(list)
    known = by_id(announcements)
    for ann in announcements:
        week = week_of(ann, settings)
        if week and counts_toward_cap(ann, known):
            by_week[week].append(ann)
    ranks = {}
    for week, anns in by_week.items():
        anns.sort(key=lambda a: (a.file in broken, a.file in newcomers,
                                 a.effective_publish_at, a.id))
        for i, ann in enumerate(anns, 1):
            ranks[ann.file] = (week, i)
    return ranks, {week: sum(a.file not in broken for a in anns)
                   for week, anns in sorted(by_week.items())}


def rule_ids() -> list[str]:
    """Every registered rule (the package registers them all on import)."""
    return [rule_id for rule_id, _ in RULES]
