"""How a result is printed: each problem as a terminal line, a GitHub annotation or
JSON, and the whole of ``validate``'s output in each of those formats. Rules only
yield problems; these functions decide how they read."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING

from ..messages import MissingMessage, t, tn

if TYPE_CHECKING:
    from .problems import Problem
    from .results import CheckResult


def format_text(problem: Problem) -> str:
    return (f"{problem.file}:{problem.line}:{problem.col}: {problem.severity}[{problem.rule}]: "
            f"{problem.message}")


# GitHub workflow commands: data escapes % CR LF; property values also : and ,
# (https://github.com/actions/toolkit/blob/main/packages/core/src/command.ts).
def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def rule_title(rule: str) -> str:
    """The rule's name for staff, in the town's language ("Banditore: dati personali")."""
    try:
        return t("review.annotation-title", title=t(f"rule-title.{rule}"))
    except MissingMessage:
        return f"Banditore: {rule}"


def format_github(problem: Problem) -> str:
    return (
        f"::{problem.severity} file={_escape_property(problem.file)},line={problem.line},"
        f"col={problem.col},title={_escape_property(rule_title(problem.rule))}::"
        f"{_escape_data(problem.message)} [{problem.rule}]"
    )


# GitHub shows at most 10 error and 10 warning annotations per step (and 50 per job):
# the rest are printed as plain lines, and the step summary lists every problem.
ANNOTATIONS_PER_STEP = 10


def split_annotated(problems: list[Problem]) -> tuple[list[Problem], list[Problem]]:
    """(annotated, the rest) in order: the first 10 errors and the first 10 warnings."""
    seen = {"error": 0, "warning": 0}
    annotated: list[Problem] = []
    rest: list[Problem] = []
    for p in problems:
        seen[p.severity] = seen.get(p.severity, 0) + 1
        (annotated if seen[p.severity] <= ANNOTATIONS_PER_STEP else rest).append(p)
    return annotated, rest


def format_json(problems: list[Problem], **extra: object) -> str:
    return json.dumps(
        {"problems": [asdict(p) for p in problems], **extra}, ensure_ascii=False, indent=2
    )


def counts_line(result: CheckResult) -> str:
    checked = tn("count.checked", len(result.files))
    errors, warnings = result.errors, result.warnings
    if errors:
        line = t("review.checked-found", checked=checked,
                 problems=tn("count.problem", len(errors)),
                 bad=tn("count.announcement", len({p.file for p in errors})))
    else:
        line = t("review.checked-clean", checked=checked)
    if warnings:
        line += t("review.checked-warnings", warnings=tn("count.warning", len(warnings)))
    return line


def format_result(result: CheckResult, fmt: str = "text") -> str:
    """The output of ``validate`` in ``fmt`` (text, github or json)."""
    if fmt == "json":
        return format_json(
            result.problems,
            files=result.files,
            valid=[a.id for a in result.valid],
            budget=result.budget,
            weekly_cap=result.weekly_cap,
        )
    if fmt == "github":
        annotated, rest = split_annotated(result.problems)
        lines = [*(format_github(p) for p in annotated), *(format_text(p) for p in rest)]
    else:
        lines = [format_text(p) for p in result.problems]
    return "\n".join([*lines, counts_line(result)])
