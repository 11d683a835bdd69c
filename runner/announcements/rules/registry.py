"""The rule registry: how a rule is declared, and which rules run on a file.

A rule is a small generator ``rule(announcement, ctx)`` registered with
``@rule("rule-id", scope=..., needs=...)``; it yields
:class:`~runner.announcements.problems.Problem` (made by :func:`problem`) with the
file, the line and a message from the catalogue (``policy.*``) that says how to
fix it. ``ctx`` is a :class:`~.context.Context`. How the problems are printed is
the reporter's business (:mod:`runner.announcements.formats`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from ...messages import t
from ..problems import Problem

if TYPE_CHECKING:
    from ..model import Announcement
    from .context import Context

# A rule: an announcement and the context in, its problems out.
Rule = Callable[["Announcement", "Context"], Iterable[Problem]]
# Every rule, in the order registered: its id, the front-matter keys it reads, itself.
RULES: list[tuple[str, frozenset[str], Rule]] = []
# What each rule needs and when it applies: "content" only the title and body;
# "file" the whole file; "repo" every announcement in the repository (checked after
# all files are read); "always" applies to history too; "review" only to the files
# named on the command line (a pull request's files).
SCOPES: dict[str, set[str]] = {
    "content": set(), "file": set(), "repo": set(), "always": set(), "review": set()}


def rule(rule_id: str, scope: str = "file",
         needs: tuple[str, ...] = ()) -> Callable[[Rule], Rule]:
    """Register a rule; ``needs``: the front-matter keys it reads, so that a draft whose
    value for one of them is wrong or missing is spared a rule that would only repeat
    (or garble) that problem, and gets every other rule in the same round."""

    def register(func: Rule) -> Rule:
        RULES.append((rule_id, frozenset(needs), func))
        SCOPES[scope].add(rule_id)
        return func

    return register


def problem(ann: Announcement, rule_id: str, key: str, where: str | int | None = None,
            col: int = 1, *, severity: str = "error", **values: object) -> Problem:
    """A Problem at a front-matter key (``where`` a str) or at a line (an int)."""
    line = where if isinstance(where, int) else ann.line(where)
    return Problem(ann.file, line, col, rule_id, t(f"policy.{key}", **values), severity)


def run_rules(ann: Announcement, ctx: Context, *scopes: str) -> Iterator[Problem]:
    """Problems from the rules of ``scopes`` (default: all of them), in the order the
    rules were registered."""
    wanted = set().union(*(SCOPES[s] for s in scopes)) if scopes else None
    broken = ann.source.broken
    for rule_id, needs, func in RULES:
        if (wanted is None or rule_id in wanted) and not needs & broken:
            yield from func(ann, ctx)


def rule_ids() -> list[str]:
    """Every registered rule (importing :mod:`runner.announcements.rules` registers them all)."""
    return [rule_id for rule_id, _, _ in RULES]
