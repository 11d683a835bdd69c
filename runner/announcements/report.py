"""What ``validate`` and ``preview`` hand back to whoever ran them.

:func:`report_result`: ``validate``'s output for the terminal (:mod:`.formats`); on
GitHub, the step summary appended (:mod:`.summaries`); with a review folder, the
pull request's comment and bubbles page written there. :func:`preview`: one
announcement's bubble as the citizen will see it, with its problems.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from ..messages import t
from .bubble import as_text, bubble_of
from .formats import format_result, format_text
from .render import RenderError, render
from .summaries import step_summary, write_review
from .validate import check

if TYPE_CHECKING:
    from ..config import Settings
    from .results import CheckResult


def report_result(result: CheckResult, settings: Settings, fmt: str,
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


def preview(settings: Settings, path: str | Path) -> tuple[str, int]:
    """What a citizen receives for the announcement at ``path``: the whole bubble, with
    counts and any problems; and the exit code (0 ready to publish, 1 problems)."""
    result = check(settings, [path])
    lines: list[str] = []
    for ann in result.checked:
        lines.append(ann.file)
        rendered = result.rendered_for(ann)
        if rendered is None:  # expired ones are not rendered by check: show them anyway
            try:
                rendered = render(ann, settings)
            except RenderError as exc:
                lines.append(exc.message())
        if rendered is not None:
            lines.append(as_text(bubble_of(rendered, settings, ann.file)))
    if result.errors:
        lines += ["", t("preview.problems"), *(format_text(p) for p in result.errors)]
    if result.warnings:  # not problems to fix: the announcement goes out as it is
        lines += ["", t("preview.warnings"), *(format_text(p) for p in result.warnings)]
    return "\n".join(lines), result.exit_code
