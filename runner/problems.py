"""A problem found in an announcement, and the reporters that print problems.

Rules only *yield* problems; how they are shown (a terminal, GitHub annotations,
the job summary, JSON) is decided here.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    line: int
    col: int
    rule: str
    message: str


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
