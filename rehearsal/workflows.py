"""The workflow reader: `.github/workflows/*.yml` and the repository's composite
actions, read generically, and checked before anything runs.

Nothing here knows Banditore's workflows by name: triggers come from ``on:``,
the order of jobs from ``needs:``, actions from ``uses:`` (mapped by name in
:mod:`.actions`, whatever the ``@ref``: a tag or a commit SHA; or, for a path in
the repository, read as written: :func:`in_repository`). :func:`check` refuses,
naming the file, the job and the step, any action without a mapping, any
expression the evaluator cannot parse, and any shell it cannot run: the
rehearsal never skips what it cannot do.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .expressions import ExpressionError, expressions_in, parse

SHELLS = ("bash", "sh")


class WorkflowError(Exception):
    """A workflow file the rehearsal cannot run as written."""


@dataclass
class Job:
    id: str
    spec: dict

    @property
    def needs(self) -> list[str]:
        needs = self.spec.get("needs") or []
        return [needs] if isinstance(needs, str) else list(needs)

    @property
    def steps(self) -> list[dict]:
        return self.spec.get("steps") or []

    @property
    def environment(self) -> str | None:
        env = self.spec.get("environment")
        return env.get("name") if isinstance(env, dict) else env


@dataclass
class Workflow:
    path: Path
    doc: dict
    jobs: list[Job] = field(default_factory=list)

    @property
    def file(self) -> str:
        return self.path.name

    @property
    def root(self) -> Path:
        """The repository this file was read from, as it is at the run's commit
        (``.github/workflows/<file>`` in it): where ``$/path`` is found."""
        return self.path.parents[2]

    @property
    def name(self) -> str:
        return self.doc.get("name") or self.file

    @property
    def on(self) -> dict:
        # YAML 1.1 reads the key `on` as the boolean True.
        on = self.doc.get("on", self.doc.get(True)) or {}
        if isinstance(on, str):
            return {on: {}}
        if isinstance(on, list):
            return {name: {} for name in on}
        return {name: (spec or {}) for name, spec in on.items()}

    def where(self, job: str | None = None, step: dict | None = None, index: int = 0) -> str:
        text = f".github/workflows/{self.file}"
        if job:
            text += f", job {job}"
        if step is not None:
            text += f", step {step_label(step, index)}"
        return text


def step_label(step: dict, index: int) -> str:
    uses = action_name(step["uses"]) if step.get("uses") else None  # the same, tag or SHA
    return repr(step.get("name") or step.get("id") or uses
                or (step.get("run") or "").strip().splitlines()[0][:60] or f"#{index + 1}")


def load(path: Path) -> Workflow:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise WorkflowError(f"{path}: not YAML: {exc}") from None
    workflow = Workflow(path, doc)
    workflow.jobs = ordered_jobs(workflow)
    return workflow


def load_all(root: Path) -> dict[str, Workflow]:
    return {p.name: load(p) for p in sorted((root / ".github" / "workflows").glob("*.y*ml"))}


def ordered_jobs(workflow: Workflow) -> list[Job]:
    """The jobs in an order where each comes after every job it ``needs``."""
    jobs = {name: Job(name, spec or {}) for name, spec in (workflow.doc.get("jobs") or {}).items()}
    done: list[Job] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if any(j.id == name for j in done):
            return
        if name not in jobs:
            raise WorkflowError(f"{workflow.where()}: needs unknown job {name!r}")
        if name in visiting:
            raise WorkflowError(f"{workflow.where(name)}: a cycle in needs")
        visiting.add(name)
        for need in jobs[name].needs:
            visit(need)
        done.append(jobs[name])

    for name in jobs:
        visit(name)
    return done


def action_name(uses: str) -> str:
    """``actions/cache/restore@<sha>`` -> ``actions/cache/restore``: the ref is ignored."""
    return uses.split("@", 1)[0]


@dataclass(frozen=True)
class InRepository:
    """A ``uses:`` that names a path in the workflow's own repository."""

    uses: str
    path: str  # relative to the repository's root, normalised
    at_commit: bool  # ``$/``: the repository at the run's commit; ``./``: the job's workspace

    def base(self, root: Path, workspace: Path) -> Path:
        """The folder ``path`` is read from: ``root`` (the repository at the run's
        commit) for ``$/``, the job's checkout for ``./``."""
        return root if self.at_commit else workspace


def in_repository(uses: str) -> InRepository | None:
    """Whether ``uses`` names a path in the repository, and which: the one test of it.

    ``./path`` is relative to the job's workspace, so it needs a checkout;
    ``$/path`` is GitHub's self-repository form, the repository at the commit
    that is running, no checkout needed (github.blog changelog, 2026-07-30).
    Both work for steps, for a composite action's steps and for a job calling a
    reusable workflow. None for anything else (``owner/repo@ref``,
    ``docker://``...); a path that leaves the repository is a :class:`WorkflowError`.
    """
    for prefix, at_commit in (("./", False), ("$/", True)):
        if uses.startswith(prefix):
            path = posixpath.normpath(uses[len(prefix):] or ".")
            if path == ".." or path.startswith(("../", "/")):
                raise WorkflowError(f"uses {uses}: a path outside the repository")
            return InRepository(uses, path, at_commit)
    return None


def action_file(folder: Path) -> Path | None:
    """The ``action.yml`` (or ``action.yaml``) of an action's folder, or None."""
    for name in ("action.yml", "action.yaml"):
        if (folder / name).is_file():
            return folder / name
    return None


def load_action(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def check(root: Path, mapped: Mapping[str, Collection[str]]) -> list[str]:
    """Every problem that would stop the rehearsal from running the files as written.

    ``mapped``: each action the rehearsal maps, with the inputs its mapping reads
    (:data:`rehearsal.actions.INPUTS`)."""
    problems: list[str] = []
    for workflow in load_all(root).values():
        problems += _expressions(workflow.doc, workflow.where())
        for job in workflow.jobs:
            if job.spec.get("uses"):
                problems += _called(root, str(job.spec["uses"]), workflow.where(job.id))
            for index, step in enumerate(job.steps):
                where = workflow.where(job.id, step, index)
                problems += _step(root, step, where, mapped, set())
    return problems


def called_workflow(root: Path, uses: str, where: str) -> Path:
    """The file a job's ``uses:`` calls: a reusable workflow of the repository
    (``./.github/workflows/x.yml`` or ``$/.github/workflows/x.yml``, both read at the
    caller's commit), or a :class:`WorkflowError` naming ``where``."""
    try:
        target = in_repository(uses)
    except WorkflowError as exc:
        raise WorkflowError(f"{where}: {exc}") from None
    if target is None or posixpath.dirname(target.path) != ".github/workflows":
        raise WorkflowError(f"{where}: uses {uses}: only a reusable workflow of the "
                            "repository (./.github/workflows/... or $/.github/workflows/...) "
                            "is run")
    path = root / target.path
    if not path.is_file():
        raise WorkflowError(f"{where}: uses {uses}: no such file in the repository")
    if "workflow_call" not in load(path).on:
        raise WorkflowError(f"{where}: uses {uses}: that workflow has no workflow_call "
                            "trigger, GitHub refuses to call it")
    return path


def _called(root: Path, uses: str, where: str) -> list[str]:
    try:
        called_workflow(root, uses, where)
    except WorkflowError as exc:
        return [str(exc)]
    return []


def _step(root: Path, step: dict, where: str, mapped: Mapping[str, Collection[str]],
          seen: set[Path]) -> list[str]:
    uses, problems = step.get("uses"), []
    if uses is None:
        shell = step.get("shell", "bash")
        if shell not in SHELLS:
            problems.append(f"{where}: shell {shell!r} is not run by the rehearsal")
        return problems
    try:
        target = in_repository(uses)
    except WorkflowError as exc:
        return [f"{where}: {exc}"]
    if target is not None:
        # ./ is read from the checkout and $/ from the commit: here both are ``root``.
        path = action_file(root / target.path)
        if path is None:
            return [f"{where}: no action.yml at {uses}"]
        if path in seen:
            return problems
        action = load_action(path)
        runs = action.get("runs") or {}
        if runs.get("using") != "composite":
            return [f"{where}: {uses} is a {runs.get('using')!r} action, not a composite one"]
        problems += _expressions(action, f"{path.relative_to(root)}")
        for index, inner in enumerate(runs.get("steps") or []):
            problems += _step(root, inner, f"{path.relative_to(root)}, step "
                              f"{step_label(inner, index)} (from {where})", mapped, seen | {path})
        return problems
    name = action_name(uses)
    if name not in mapped:
        return [f"{where}: the action {name} has no local mapping (rehearsal/actions.py)"]
    unread = sorted(set(step.get("with") or {}) - set(mapped[name]))
    if unread:
        problems.append(f"{where}: {name} is given {', '.join(unread)}, which its local "
                        "mapping does not read (rehearsal/actions.py)")
    return problems


def _expressions(node, where: str) -> list[str]:
    """Parse every ``${{ }}`` (and every ``if:``) found anywhere under ``node``."""
    problems = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "if" and isinstance(value, str) and "${{" not in value:
                problems += _parse(value, where)
            else:
                problems += _expressions(value, where)
    elif isinstance(node, list):
        for item in node:
            problems += _expressions(item, where)
    elif isinstance(node, str):
        for text in expressions_in(node):
            problems += _parse(text, where)
    return problems


def _parse(text: str, where: str) -> list[str]:
    try:
        parse(text)
    except ExpressionError as exc:
        return [f"{where}: {exc}"]
    return []


# --- triggers ------------------------------------------------------------------------------


def _glob(pattern: str) -> re.Pattern:
    """GitHub's filter patterns: ``*`` within a path segment, ``**`` across them."""
    out, at = [], 0
    while at < len(pattern):
        if pattern.startswith("**", at):
            out.append(".*")
            at += 2
        elif pattern[at] == "*":
            out.append("[^/]*")
            at += 1
        else:
            out.append(re.escape(pattern[at]))
            at += 1
    return re.compile("".join(out) + r"\Z")


def matches(patterns: list[str], values: list[str]) -> bool:
    """Whether any value passes the filter (``!pattern`` excludes, the last match wins)."""
    for value in values:
        keep = False
        for pattern in patterns:
            negative = pattern.startswith("!")
            if _glob(pattern[1:] if negative else pattern).match(value):
                keep = not negative
        if keep:
            return True
    return False


def triggered(workflow: Workflow, event: str, *, branch: str | None = None,
              files: list[str] | None = None, workflow_name: str | None = None,
              types: str | None = None) -> bool:
    """Whether ``workflow`` runs for this event, by its ``on:`` filters."""
    on = workflow.on
    if event not in on:
        return False
    spec = on[event] or {}
    if branch is not None and "branches" in spec and not matches(spec["branches"], [branch]):
        return False
    if files is not None and "paths" in spec and not matches(spec["paths"], files):
        return False
    if workflow_name is not None and workflow_name not in (spec.get("workflows") or []):
        return False
    return not (types and spec.get("types") and types not in spec["types"])


