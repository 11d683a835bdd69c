"""Check announcements against the policy: what ``validate`` reports and what ``send`` may use.

``check(settings)`` reads every announcement in the repository (the weekly cap
and duplicate ids are about the whole repo), applies every rule to the files
asked for (all by default) and returns the problems, the rendered messages and
the announcements that passed. A bad announcement is reported, never sent:
``send`` uses only ``CheckResult.valid``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .announcement import Announcement, announcement_files, display_path, read
from .errors import ConfigError
from .messages import t
from .policy import Context, run_rules
from .problems import Problem
from .render import Rendered, RenderError, check_source, render


@dataclass
class CheckResult:
    files: list[str]  # the files checked, as shown to staff
    problems: list[Problem]
    checked: list[Announcement]  # every checked file that could be read
    valid: list[Announcement]  # checked, and without any problem: what may be sent
    rendered: dict[str, Rendered] = field(default_factory=dict)  # by file
    budget: dict[str, int] = field(default_factory=dict)  # ISO week -> non-emergency count
    weekly_cap: int = 10

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def rendered_for(self, ann: Announcement) -> Rendered | None:
        return self.rendered.get(ann.file)


def check_templates(settings) -> None:
    """A template that names an unknown parameter source is a configuration error."""
    for name, config in settings.templates.items():
        for source in config.body:
            if not check_source(source):
                raise ConfigError(t("validate.template-source", name=name, source=source))
    if settings.default_template and settings.default_template not in settings.templates:
        raise ConfigError(t("validate.default-template", name=settings.default_template,
                            known=", ".join(sorted(settings.templates)) or "-"))


def _expand(paths) -> list[Path]:
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


def check(settings, paths=None) -> CheckResult:
    """Validate ``paths`` (files or folders; default: every announcement) in the repo's context."""
    check_templates(settings)
    repo = announcement_files(settings)
    targets = repo if paths is None else _expand(paths)
    # Whole-repo context, each file once even when named twice or by another spelling.
    unique: dict[Path, Path] = {}
    for path in [*repo, *targets]:
        unique.setdefault(path.resolve(), path)
    wanted = {path.resolve() for path in targets}

    problems: list[Problem] = []
    everything: list[Announcement] = []
    checked: list[Announcement] = []
    partial: list[Announcement] = []  # front matter wrong, title and body still checked
    files: list[str] = []
    for resolved, path in unique.items():
        ann, errors, draft = read(path, settings)
        if resolved in wanted:
            files.append(display_path(path))
            problems.extend(errors)
            if ann is not None:
                checked.append(ann)
            elif draft is not None:
                partial.append(draft)
        if ann is not None:
            everything.append(ann)

    newcomers = set() if paths is None else {a.file for a in checked}
    ctx = Context.build(settings, everything, newcomers=newcomers)
    for ann in checked:
        try:
            ctx.rendered[ann.file] = render(ann, settings)
        except RenderError as exc:
            ctx.rendered[ann.file] = exc
    for draft in partial:
        problems.extend(run_rules(draft, ctx, content_only=True))
    bad_files = {p.file for p in problems}
    for ann in checked:
        found = list(run_rules(ann, ctx))
        problems.extend(found)
        if found:
            bad_files.add(ann.file)
    return CheckResult(
        files=sorted(files),
        problems=sorted(problems),
        checked=checked,
        valid=[a for a in checked if a.file not in bad_files],
        rendered={f: r for f, r in ctx.rendered.items() if isinstance(r, Rendered)},
        budget=ctx.budget,
        weekly_cap=settings.weekly_cap,
    )


def preview(settings, path) -> tuple[str, int]:
    """What a citizen receives for the announcement at ``path``, with counts and any
    problems; and the exit code (0 ready to publish, 1 problems)."""
    from .problems import format_text
    from .render import describe

    result = check(settings, [path])
    lines: list[str] = []
    for ann in result.checked:
        lines.append(ann.file)
        rendered = result.rendered_for(ann)
        if rendered is not None:
            lines.extend(describe(rendered))
    if result.problems:
        lines += ["", t("preview.problems"), *(format_text(p) for p in result.problems)]
    return "\n".join(lines), result.exit_code
