"""Check announcements against the policy: what ``validate`` reports and what ``send`` may use.

``check(settings)`` reads every announcement in the repository (the weekly cap
and duplicate ids are about the whole repo), applies every rule
(:mod:`.rules`) to the files asked for (all by default) and returns a
:class:`~.results.CheckResult`: the problems, the rendered messages and the
announcements that passed. A bad announcement is reported, never sent: ``send``
uses only ``CheckResult.valid``. How a result is shown is its presenters'
business (:mod:`.formats`, :mod:`.summaries`, :mod:`.report`); the checker
imports none of them.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ConfigError
from ..messages import t
from .catalogue import known_templates
from .model import Announcement
from .problems import Problem
from .reading import announcement_files, display_path, read
from .render import Rendered, RenderError, check_source, render
from .results import CheckResult
from .rules.context import Context
from .rules.registry import run_rules
from .schedule import is_history, is_urgent

if TYPE_CHECKING:
    from ..config import Settings


def check_templates(settings: Settings) -> None:
    """A template that names an unknown parameter source is a configuration error."""
    for name, config in settings.templates.items():
        for source in [*config.body, config.header_text]:
            if not check_source(source):
                raise ConfigError(t("validate.template-source", name=name, source=source))
        if config.parameter_names and len(config.parameter_names) != len(config.body):
            raise ConfigError(t("validate.template-names", name=name,
                                names=len(config.parameter_names), body=len(config.body)))
    if settings.default_template and settings.default_template not in settings.templates:
        raise ConfigError(t("validate.default-template", name=settings.default_template,
                            known=", ".join(sorted(settings.templates)) or "-"))


# One file checked: the announcement (or the draft of one whose values are wrong, or
# None), its problems, and its rendering (None when it is not checked or is history).
Checked = tuple[Announcement | None, list[Problem], Rendered | RenderError | None]


def _expand(paths: Iterable[str | Path]) -> list[Path]:
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(path.rglob("*.md")))
        elif path.is_file():
            found.append(path)
        else:
            raise ConfigError(t("validate.path-missing", path=raw))
    return found


@dataclass(frozen=True)
class _Run:
    """What every file's check shares (it travels to the worker processes)."""

    settings: Settings
    root: Path
    now: datetime
    reviewing: bool = False
    # Repository path -> where its content is, for files read as data (a pull
    # request's, fetched through the API: see :mod:`.pull_request`).
    files: Mapping[str, Path] = field(default_factory=dict)


def check(settings: Settings, paths: Iterable[str | Path] | None = None, *,
          overlay: Mapping[str, Path] | None = None,
          removed: frozenset[str] = frozenset()) -> CheckResult:
    """Validate ``paths`` (files or folders; default: every announcement) in the repo's
    context. ``overlay``: repository paths whose content is elsewhere (the working tree
    does not have them, or has another version): they join the repository, and
    ``removed`` paths leave it; ``paths`` then name repository paths."""
    check_templates(settings)
    # The template states the latest sync stored, read once here: the rules ask for
    # them per file, and worker processes inherit what was read.
    known_templates(settings)
    overlay = dict(overlay or {})
    repo = [p for p in announcement_files(settings) if display_path(p) not in removed]
    repo += [Path(p) for p in sorted(overlay) if p.endswith(".md") and p not in removed
             and not Path(p).exists()]
    targets = (repo if paths is None else [Path(p) for p in paths] if overlay
               else _expand(paths))
    # Whole-repo context, each file once even when named twice or by another spelling.
    unique: dict[str, Path] = {}
    for path in [*repo, *targets]:
        unique.setdefault(os.path.abspath(path), path)
    wanted = set(unique) if paths is None else {os.path.abspath(path) for path in targets}
    items = [(path, key in wanted) for key, path in unique.items()]

    problems: list[Problem] = []
    everything: list[Announcement] = []
    checked: list[Announcement] = []
    rendered: dict[str, Rendered] = {}
    files: list[str] = []
    bad_files: set[str] = set()
    now = settings.current_time()
    reviewing = paths is not None
    results = _check_files(items, _Run(settings, Path.cwd().resolve(), now, reviewing, overlay))
    for (path, is_target), (ann, found, out) in zip(items, results, strict=True):
        if ann is not None:
            everything.append(ann)
        if not is_target:
            continue
        files.append(display_path(path))
        problems.extend(found)
        bad_files.update(p.file for p in found if p.is_error)
        if ann is not None:
            checked.append(ann)
            if isinstance(out, Rendered):
                rendered[ann.file] = out

    # The rules about the whole repository: duplicate ids, the weekly cap (which
    # counts history too: what went out this week already used the budget). A file
    # with errors is never sent: it takes no one's place in the week.
    newcomers = {a.file for a in checked} if reviewing else set()
    unsendable = set(bad_files)  # as the week's ranks saw them (not its own cap problem)
    ctx = Context.build(settings, everything, newcomers=newcomers, broken=unsendable)
    ctx.now, ctx.files = now, overlay
    review = ("review",) if reviewing else ()
    for ann in checked:
        scopes = ("always",) if _is_history(ann, now) else ("always", "repo")
        found = list(run_rules(ann, ctx, *scopes, *review))
        problems.extend(found)
        bad_files.update(p.file for p in found if p.is_error)
    return CheckResult(
        files=sorted(files),
        problems=sorted(problems),
        checked=checked,
        valid=[a for a in checked if a.file not in bad_files],
        rendered=rendered,
        budget=ctx.budget,
        weekly_cap=settings.weekly_cap,
        weeks=_weeks(ctx.week_rank, everything, unsendable),
        reviewed=reviewing,
        urgent={a.id for a in checked if is_urgent(a, ctx.by_id)},
    )


def _weeks(week_rank: dict[str, tuple[str, int]], announcements: Iterable[Announcement],
           bad: set[str]) -> dict[str, list[str]]:
    """ISO week -> ids the cap counts, in rank order (a file with errors is not sent)."""
    ids = {a.file: a.id for a in announcements}
    weeks: dict[str, list[tuple[int, str]]] = {}
    for file, (week, rank) in week_rank.items():
        if file not in bad:
            weeks.setdefault(week, []).append((rank, ids[file]))
    return {week: [i for _, i in sorted(pairs)] for week, pairs in weeks.items()}


def _is_history(ann: Announcement, now: datetime) -> bool:
    """History (see :func:`.schedule.is_history`), when its dates can be read at all."""
    return not ann.source.broken & {"publish_at", "expires_at"} and is_history(ann, now)


def _check_one(path: Path, is_target: bool, run: _Run) -> Checked:
    """Read one file and, when it is checked, render it and apply the per-file rules:
    (announcement, a draft or None, problems, Rendered/RenderError or None)."""
    try:
        return _check_file(path, is_target, run)
    except Exception as exc:  # noqa: BLE001 - one odd file must not stop the others
        detail = f"{type(exc).__name__}: {exc}"
        return None, [Problem(display_path(path), 1, 1, "internal-error",
                              t("validate.internal-error", detail=detail))], None


def _check_file(path: Path, is_target: bool, run: _Run) -> Checked:
    settings, now = run.settings, run.now
    ann, problems, draft = read(path, settings, run.files.get(display_path(path)))
    if not is_target:
        return ann, problems, None
    # Wrong front-matter values: the draft is checked as far as it goes, so staff see
    # every problem at once (the rules that read a wrong value are skipped).
    ann = ann if ann is not None else draft
    if ann is None:
        return None, problems, None
    ctx = Context(settings, run.root, now=now, files=run.files)
    # History is held only to being readable, unless it is a file under review: then
    # "expired" comes with everything else that is wrong with it.
    if _is_history(ann, now) and not run.reviewing:
        return ann, problems, None
    out: Rendered | RenderError
    try:
        out = render(ann, settings)
    except RenderError as exc:
        out = exc
    ctx.rendered[ann.file] = out
    problems.extend(run_rules(ann, ctx, "content", "file"))
    return ann, problems, out


def check_draft(path: Path, settings: Settings, root: Path) -> Checked:
    """One file under review on its own: every rule validate applies to a pull request's
    file except those about the whole repository (weekly cap, duplicate ids), with
    media resolved under ``root``. (announcement or None, problems, Rendered/RenderError
    or None): what the staff's form shows while the announcement is being written."""
    now = settings.current_time()
    ann, problems, out = _check_one(path, True, _Run(settings, root, now, reviewing=True))
    if ann is not None:
        problems = [*problems, *run_rules(ann, Context(settings, root, now=now), "review")]
    return ann, problems, out


def _check_chunk(job: tuple[list[tuple[Path, bool]], _Run]) -> list[Checked]:
    items, run = job
    return [_check_one(path, wanted, run) for path, wanted in items]


# Below this many files, starting worker processes costs more than it saves.
PARALLEL_FROM = 500


def _check_files(items: list[tuple[Path, bool]], run: _Run) -> list[Checked]:
    """:func:`_check_one` for every item, in order. Markdown parsing dominates, so a
    large repository is spread over the CPUs (fork: workers inherit the loaded modules
    and the message language)."""
    workers = min(os.cpu_count() or 1, 4)
    if len(items) < PARALLEL_FROM or workers < 2 or "fork" not in mp.get_all_start_methods():
        return [_check_one(path, wanted, run) for path, wanted in items]
    size = -(-len(items) // (workers * 4))
    jobs = [(items[i:i + size], run) for i in range(0, len(items), size)]
    with ProcessPoolExecutor(workers, mp_context=mp.get_context("fork")) as pool:
        return [result for chunk in pool.map(_check_chunk, jobs) for result in chunk]
