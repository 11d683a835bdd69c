"""How problems and results are shown: a terminal, GitHub annotations, the job
summary, JSON. Rules only yield problems; the reporter decides how to print them."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from ..messages import MissingMessage, dates, t, tn
from . import escape
from .bubble import as_text, bubble_of, html_page
from .problems import Problem
from .review import COMMENT_MARKER, review_block
from .weekly_cap import week_of

if TYPE_CHECKING:
    from ..config import Settings
    from .validate import CheckResult


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
    annotated, rest = [], []
    for p in problems:
        seen[p.severity] = seen.get(p.severity, 0) + 1
        (annotated if seen[p.severity] <= ANNOTATIONS_PER_STEP else rest).append(p)
    return annotated, rest


def format_json(problems: list[Problem], **extra) -> str:
    return json.dumps(
        {"problems": [asdict(p) for p in problems], **extra}, ensure_ascii=False, indent=2
    )


def markdown_cell(text: str) -> str:
    """Text safe inside a Markdown table cell: a message may quote the file (a link, a
    value), so it is inert (:mod:`.escape`), and one line."""
    return escape.text(text)


# --- whole results -----------------------------------------------------------------
MAX_PREVIEWS = 50  # GitHub caps a step summary at 1 MiB


def _counts_line(result: CheckResult) -> str:
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
    return "\n".join([*lines, _counts_line(result)])


# Warnings the reviewer's block shows in its own words, next to the figures.
IN_THE_BLOCK = frozenset({"already-sent"})


def problems_table(result: CheckResult, fmt: str = "text",
                   in_block: frozenset[str] = frozenset()) -> list[str]:
    """The problems to fix, then what is worth knowing (warnings: it goes out anyway,
    less those the reviewer's block already says), and how many GitHub could not
    annotate."""
    warnings = [p for p in result.warnings if p.rule not in in_block]
    if not result.errors and not warnings:
        return []
    out = []
    rest = split_annotated(result.problems)[1] if fmt == "github" else []
    if rest:
        out += [t("review.not-annotated", count=len(rest)), ""]
    for title, problems in (("summary.problems", result.errors),
                            ("summary.warnings", warnings)):
        if not problems:
            continue
        out += [f"### {t(title)}", "",
                f"| {t('summary.file')} | {t('summary.line')} | {t('summary.rule')} "
                f"| {t('summary.message')} |", "|---|---|---|---|"]
        out += [f"| {escape.code(p.file)} | {p.line}:{p.col} | "
                f"{'⚠️ ' if not p.is_error else ''}{markdown_cell(rule_title(p.rule))} "
                f"| {markdown_cell(p.message)} |" for p in problems]
        out.append("")
    return out


def previews(result: CheckResult, settings: Settings) -> list[str]:
    """Each rendered announcement's bubble, as text, folded."""
    if not result.rendered:
        return []
    out = [f"### {t('summary.previews')}", ""]
    for file, rendered in list(result.rendered.items())[:MAX_PREVIEWS]:
        body = as_text(bubble_of(rendered, settings, file))
        fence = "`" * max(4, _longest_backticks(body) + 1)
        out += [f"<details><summary><code>{escape.html(file)}</code></summary>", "",
                fence + "text", body, fence, "", "</details>", ""]
    hidden = len(result.rendered) - MAX_PREVIEWS
    if hidden > 0:
        out += [t("summary.more-previews", count=hidden), ""]
    return out


def step_summary(result: CheckResult, settings: Settings, fmt: str = "text") -> str:
    """Markdown for GITHUB_STEP_SUMMARY: every problem, the reviewer's block, the weekly
    budget and the bubbles."""
    out = [f"## {t('summary.title')}", "", _counts_line(result), ""]
    block = review_block(result, settings)
    out += problems_table(result, fmt, IN_THE_BLOCK if block else frozenset())
    if block:
        out += [block, ""]
    weeks = sorted({w for w in (week_of(a, settings) for a in result.checked) if w})
    if weeks:
        out += [f"### {t('summary.budget', cap=result.weekly_cap)}", "",
                f"| {t('summary.week')} | {t('summary.used')} |", "|---|---|"]
        for week in weeks:
            used = result.budget.get(week, 0)
            flag = " ⚠️" if used > result.weekly_cap else ""
            out.append(f"| {dates.week(week)} | {used}/{result.weekly_cap}{flag} |")
        out.append("")
    out += previews(result, settings)
    return "\n".join(out)


def pull_request_comment(result: CheckResult, settings: Settings,
                         notes: list[str] = ()) -> str:
    """The one comment the trusted workflow keeps up to date on the pull request
    (:mod:`.pull_request`), with ``notes`` (Markdown) under the counts."""
    out = [COMMENT_MARKER, f"## {t('review.comment-title')}", "", _counts_line(result), ""]
    out += [*(f"> {note}" for note in notes), *([""] if notes else [])]
    block = review_block(result, settings)
    out += problems_table(result, in_block=IN_THE_BLOCK if block else frozenset())
    if block:
        out += [block, ""]
    out += previews(result, settings)
    return "\n".join(out)


def write_review(result: CheckResult, settings: Settings, folder: Path) -> list[Path]:
    """The pull request's review files: the comment (review.md) and the bubbles as a
    page (bubbles.html), for the workflow to upload as an artifact."""
    folder.mkdir(parents=True, exist_ok=True)
    comment, page = folder / "review.md", folder / "bubbles.html"
    comment.write_text(pull_request_comment(result, settings) + "\n", encoding="utf-8")
    bubbles = [bubble_of(r, settings, f) for f, r in result.rendered.items()]
    page.write_text(html_page(bubbles, t("bubble.page-title")), encoding="utf-8")
    return [comment, page]


def _longest_backticks(text: str) -> int:
    return max((len(m) for m in re.findall(r"`+", text)), default=0)


def publish(result: CheckResult, settings: Settings, fmt: str,
            environ: Mapping[str, str], review_dir: str | None = None) -> str:
    """Format ``result`` for the terminal; on GitHub, append the step summary; with
    ``review_dir``, write the pull request's comment and bubbles page there."""
    path = environ.get("GITHUB_STEP_SUMMARY")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(step_summary(result, settings, fmt) + "\n")
    if review_dir:
        write_review(result, settings, Path(review_dir))
    return format_result(result, fmt)
