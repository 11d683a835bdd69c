"""How problems and results are shown: a terminal, GitHub annotations, the job
summary, JSON. Rules only yield problems; the reporter decides how to print them."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import asdict
from typing import TYPE_CHECKING

from ..messages import t
from .policy import week_of
from .problems import Problem
from .render import describe

if TYPE_CHECKING:
    from ..settings import Settings
    from .validate import CheckResult


def format_text(problem: Problem) -> str:
    return f"{problem.file}:{problem.line}:{problem.col}: error[{problem.rule}]: {problem.message}"


# GitHub workflow commands: data escapes % CR LF; property values also : and ,
# (https://github.com/actions/toolkit/blob/main/packages/core/src/command.ts).
def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def format_github(problem: Problem) -> str:
    return (
        f"::error file={_escape_property(problem.file)},line={problem.line},"
        f"col={problem.col},title={_escape_property(problem.rule)}::"
        f"{_escape_data(problem.message)}"
    )


def format_json(problems: list[Problem], **extra) -> str:
    return json.dumps(
        {"problems": [asdict(p) for p in problems], **extra}, ensure_ascii=False, indent=2
    )


def markdown_cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("\r", "").replace("\n", "<br>")


# --- whole results -----------------------------------------------------------------
MAX_PREVIEWS = 50  # GitHub caps a step summary at 1 MiB


def _counts_line(result: CheckResult) -> str:
    if result.ok:
        return t("validate.clean", files=len(result.files))
    bad = len({p.file for p in result.problems})
    return t("validate.found", problems=len(result.problems), bad=bad, files=len(result.files))


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
    line = format_github if fmt == "github" else format_text
    return "\n".join([*(line(p) for p in result.problems), _counts_line(result)])


def step_summary(result: CheckResult, settings: Settings) -> str:
    """Markdown for GITHUB_STEP_SUMMARY: every problem, the previews, the weekly budget."""
    out = [f"## {t('summary.title')}", "", _counts_line(result), ""]
    if result.problems:
        out += [f"### {t('summary.problems')}", "",
                f"| {t('summary.file')} | {t('summary.line')} | {t('summary.rule')} "
                f"| {t('summary.message')} |", "|---|---|---|---|"]
        out += [f"| `{markdown_cell(p.file)}` | {p.line}:{p.col} | `{p.rule}` "
                f"| {markdown_cell(p.message)} |" for p in result.problems]
        out.append("")
    weeks = sorted({w for w in (week_of(a, settings) for a in result.checked) if w})
    if weeks:
        out += [f"### {t('summary.budget', cap=result.weekly_cap)}", "",
                f"| {t('summary.week')} | {t('summary.used')} |", "|---|---|"]
        for week in weeks:
            used = result.budget.get(week, 0)
            flag = " ⚠️" if used > result.weekly_cap else ""
            out.append(f"| {week} | {used}/{result.weekly_cap}{flag} |")
        out.append("")
    if result.rendered:
        out += [f"### {t('summary.previews')}", ""]
        for file, rendered in list(result.rendered.items())[:MAX_PREVIEWS]:
            body = "\n".join(describe(rendered))
            fence = "`" * max(4, _longest_backticks(body) + 1)
            out += [f"<details><summary><code>{file}</code></summary>", "",
                    fence + "text", body, fence, "", "</details>", ""]
        hidden = len(result.rendered) - MAX_PREVIEWS
        if hidden > 0:
            out += [t("summary.more-previews", count=hidden), ""]
    return "\n".join(out)


def _longest_backticks(text: str) -> int:
    return max((len(m) for m in re.findall(r"`+", text)), default=0)


def publish(result: CheckResult, settings: Settings, fmt: str,
            environ: Mapping[str, str]) -> str:
    """Format ``result`` for the terminal and, on GitHub, append the step summary."""
    path = environ.get("GITHUB_STEP_SUMMARY")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(step_summary(result, settings) + "\n")
    return format_result(result, fmt)
