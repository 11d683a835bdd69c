"""The Markdown a result becomes on GitHub: the job's step summary and the pull
request's comment (with the review files the workflow uploads).

Both show every problem in a table, the reviewer's block (:mod:`.review`) and each
announcement's bubble; the step summary adds the weekly budget. What comes from
a file is shown inert (:mod:`.escape`): the comment is posted under the bot's name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..messages import dates, t
from . import escape
from .bubble import as_text, bubble_of, html_page
from .formats import counts_line, rule_title, split_annotated
from .review import review_block
from .weekly_cap import week_of

if TYPE_CHECKING:
    from ..config import Settings
    from .results import CheckResult

# Marks the one comment the trusted workflow keeps up to date on a pull request.
COMMENT_MARKER = "<!-- banditore-review -->"
MAX_PREVIEWS = 50  # GitHub caps a step summary at 1 MiB


def markdown_cell(text: str) -> str:
    """Text safe inside a Markdown table cell: a message may quote the file (a link, a
    value), so it is inert (:mod:`.escape`), and one line."""
    return escape.text(text)


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
    out = [f"## {t('summary.title')}", "", counts_line(result), ""]
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
                         notes: Sequence[str] = ()) -> str:
    """The one comment the trusted workflow keeps up to date on the pull request
    (:mod:`.pull_request`), with ``notes`` (Markdown) under the counts."""
    out = [COMMENT_MARKER, f"## {t('review.comment-title')}", "", counts_line(result), ""]
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
