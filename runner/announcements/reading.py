"""Reading an announcement file into the model, never raising for bad input.

A broken file (not UTF-8, empty, no or an unterminated front matter, YAML
errors, too large) becomes a :class:`~.problems.Problem` with its line, and
the other files are still checked. Front-matter values that do not fit the
schema become plain-language problems at the key's line.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from ..messages import t
from .model import FRONT_MATTER_KEYS, Announcement, Source
from .problems import Problem

if TYPE_CHECKING:
    from ..config import Settings

MAX_FILE_BYTES = 64 * 1024
_FENCE = re.compile(r"^---[ \t]*$")
_FENCE_END = re.compile(r"^(?:---|\.\.\.)[ \t]*$")


class _Loader(yaml.SafeLoader):
    """Safe YAML, but dates stay text: PyYAML raises a bare ValueError for an impossible
    date (2024-13-45); pydantic then parses the text and explains what is wrong.

    Always the pure-Python loader, never libyaml's CSafeLoader even where PyYAML was
    built with it: the two disagree on odd input (libyaml refuses nesting deeper than
    1,000 levels as a syntax error, the Python loader reads it), and staff must get the
    same answer on every machine. A front matter is a few lines: the cost is small."""


_Loader.add_constructor("tag:yaml.org,2002:timestamp", lambda loader, node: node.value)


def display_path(path: Path) -> str:
    """The path relative to the working directory (the repository root) when inside it.

    Lexical (os.path), not Path.resolve(): no system call per file, which matters
    for a repository with thousands of announcements."""
    text = os.fspath(path)
    relative = os.path.relpath(text) if os.path.isabs(text) else os.path.normpath(text)
    if relative == os.pardir or relative.startswith(os.pardir + os.sep):
        return Path(os.path.abspath(text)).as_posix()
    return relative.replace(os.sep, "/")

# What reading a file gives: the announcement (None when it has problems), the problems,
# and the draft of one whose front-matter values are wrong (see read).
Read = tuple[Announcement | None, list[Problem], Announcement | None]


def parse(path: Path, settings: Settings) -> tuple[Announcement | None, list[Problem]]:
    """Read one file: the announcement (or None) and the problems found while reading it."""
    ann, problems, _ = read(path, settings)
    return ann, problems


def read(path: Path, settings: Settings, content: Path | None = None) -> Read:
    """Like :func:`parse`, plus a *draft* announcement when only the front matter's
    values are wrong: everything else can still be checked, so staff see every problem
    in one round. ``content``: where the file's bytes are, when not at ``path`` (a pull
    request's file, fetched as data)."""
    path = Path(path)
    shown = display_path(path)
    try:
        raw = (content or path).read_bytes()
    except OSError as exc:
        return None, [Problem(shown, 1, 1, "file-unreadable",
                              t("announcement.unreadable", detail=exc.strerror or exc))], None
    return _parse_bytes(raw, path, settings, shown)


class _Unreadable(Exception):
    """The file cannot be read as an announcement: rule id, message key, where."""

    def __init__(self, rule: str, key: str, line: int = 1, col: int = 1,
                 **values: object) -> None:
        super().__init__(rule)
        self.rule, self.key, self.line, self.col, self.values = rule, key, line, col, values


def _parse_bytes(raw: bytes, path: Path, settings: Settings, shown: str) -> Read:
    try:
        lines, end = _split(_decode(raw))
        node, data = _front_matter("\n".join(lines[1:end]))
    except _Unreadable as err:
        message = t(f"announcement.{err.key}", **err.values)
        return None, [Problem(shown, err.line, err.col, err.rule, message)], None
    rest = lines[end + 1:]
    body = "\n".join(rest).strip("\n")
    # The body starts after the closing fence and any blank lines before the text.
    body_line = end + 2 + next((i for i, line in enumerate(rest) if line), 0)

    key_lines: dict[str, int] = {}
    problems: list[Problem] = []
    twice: set[str] = set()
    for key_node, _ in node.value:
        key, line = str(key_node.value), key_node.start_mark.line + 2
        if key in key_lines:
            twice.add(key)
            problems.append(Problem(shown, line, key_node.start_mark.column + 1, "schema",
                                    t("announcement.duplicate-key", key=key,
                                      first=key_lines[key])))
        key_lines.setdefault(key, line)
    data = {str(k): v for k, v in data.items()}

    source = Source(path=path, file=shown, body=body, body_line=body_line, lines=key_lines,
                    tz=settings.tz, validity_days=settings.default_validity_days)
    try:
        ann = Announcement.model_validate(data, context={"tz": settings.tz})
    except ValidationError as exc:
        problems.extend(_schema_problems(exc, source, settings))
        return None, problems, _draft(data, exc, source, settings)
    # A key written twice: which value was meant is unknown, the rest is a draft.
    ann._source = dataclasses.replace(source, broken=frozenset(twice))
    return (None if problems else ann), problems, ann


# What stands in for a required value that is wrong or missing, so the rest can be read.
_STAND_INS = {"title": "", "category": ""}


def _draft(data: dict, exc: ValidationError, source: Source,
           settings: Settings) -> Announcement:
    """The announcement with every value that is right, and a stand-in for the others
    (their keys in ``source.broken``): checked and previewed as far as it goes, in the
    same round that reports what is wrong, never sent."""
    broken = {str(e["loc"][0]) for e in exc.errors() if e["loc"]}
    good = {k: v for k, v in data.items() if k not in broken}
    try:
        draft = Announcement.model_validate({"title": "-", "category": "-", **good},
                                            context={"tz": settings.tz})
    except ValidationError:  # values wrong only together: keep just the title
        draft, broken = Announcement.model_construct(title="", category=""), set(FRONT_MATTER_KEYS)
    draft = draft.model_copy(update={k: v for k, v in _STAND_INS.items() if k in broken})
    draft._source = dataclasses.replace(source, broken=frozenset(broken))
    return draft


def _decode(raw: bytes) -> str:
    if len(raw) > MAX_FILE_BYTES:
        raise _Unreadable("file-too-large", "too-large", size=f"{len(raw) / 1024:.0f}",
                          limit=MAX_FILE_BYTES // 1024)
    try:
        text = raw.decode("utf-8-sig")  # a BOM (Windows editors) is accepted and dropped
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise _Unreadable("encoding", "not-utf8", line, col) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _split(text: str) -> tuple[list[str], int]:
    """The lines, and the index of the line closing the front matter."""
    if not text.strip():
        raise _Unreadable("empty-file", "empty")
    lines = text.split("\n")
    if not _FENCE.match(lines[0]):
        raise _Unreadable("front-matter-missing", "no-front-matter")
    end = next((i for i in range(1, len(lines)) if _FENCE_END.match(lines[i])), None)
    if end is None:
        raise _Unreadable("front-matter-unterminated", "unterminated", line=len(lines))
    return lines, end


def _front_matter(yaml_text: str) -> tuple[yaml.MappingNode, dict]:
    """The YAML mapping node (for key lines) and its values."""
    try:
        node, data = _compose(yaml_text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line, col = (mark.line + 2, mark.column + 1) if mark else (1, 1)
        detail = getattr(exc, "problem", None) or str(exc)
        raise _Unreadable("yaml-syntax", "yaml", line, col, detail=detail) from None
    except RecursionError:  # [[[[...]]]] thousands deep: the Python loader recurses
        raise _Unreadable("yaml-syntax", "too-deep") from None
    except (ValueError, TypeError, OverflowError) as exc:
        raise _Unreadable("yaml-syntax", "yaml", detail=type(exc).__name__) from None
    if not isinstance(node, yaml.MappingNode) or not isinstance(data, dict):
        raise _Unreadable("front-matter-not-mapping", "not-mapping", line=2 if node else 1)
    return node, data


def _compose(text: str) -> tuple[yaml.Node | None, Any]:
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        return node, (loader.construct_document(node) if node is not None else None)
    finally:
        loader.dispose()


def _schema_problems(exc: ValidationError, source: Source,
                     settings: Settings) -> Iterator[Problem]:
    errors = exc.errors()
    # "categroy: x" already says "did you mean category?": no second "category is missing".
    suggested = {_suggestion(str(e["loc"][0])) for e in errors if e["type"] == "extra_forbidden"}
    for err in errors:
        key = str(err["loc"][0]) if err["loc"] else ""
        if err["type"] == "missing" and key in suggested:
            continue
        line = source.lines.get(key, 1)
        yield Problem(source.file, line, 1, "schema", schema_message(err, key, settings))


def _suggestion(key: str) -> str | None:
    close = difflib.get_close_matches(key, FRONT_MATTER_KEYS, n=1, cutoff=0.6)
    return close[0] if close else None


def schema_message(err: ErrorDetails, key: str, settings: Settings | None = None) -> str:
    """A plain-language message for one pydantic error on front-matter key ``key``."""
    kind = err["type"]
    if kind == "extra_forbidden":
        close = _suggestion(key)
        hint = t("announcement.did-you-mean", suggestion=close) if close else ""
        return t("announcement.unknown-key", key=key, allowed=", ".join(FRONT_MATTER_KEYS),
                 hint=hint)
    if key == "category" and settings is not None and (
            kind == "missing" or err.get("input") in ("", None)):
        return t("announcement.missing-category", allowed=", ".join(settings.categories))
    if kind == "missing":
        return t("announcement.missing-key", key=key)
    if kind == "literal_error":
        allowed = get_args(Announcement.model_fields[key].annotation)
        return t("announcement.not-one-of", key=key, value=_shown(err.get("input")),
                 allowed=", ".join(allowed))
    if kind.startswith(("datetime", "date")):
        return t("announcement.bad-datetime", key=key, value=_shown(err.get("input")))
    if kind.startswith("bool"):
        return t("announcement.bad-bool", key=key, value=_shown(err.get("input")))
    if kind == "value_error" or err.get("input", "") is None:
        return t("announcement.blank", key=key)
    return t("announcement.must-be-text", key=key, value=_shown(err.get("input")))


def _shown(value: object) -> str:
    """A value as staff wrote it, short; a list or mapping only by its brackets."""
    if isinstance(value, list | tuple):
        return "[…]"
    if isinstance(value, dict):
        return "{…}"
    text = str(value)
    return text if len(text) <= 60 else text[:59] + "…"


def announcement_files(settings: Settings) -> list[Path]:
    """Every ``*.md`` under the announcements folder, sorted (README files excepted)."""
    root = Path(settings.announcements_dir)
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*.md") if p.name.lower() != "readme.md")


def load_all(settings: Settings, problems: list[Problem] | None = None) -> list[Announcement]:
    """All announcements that could be read, sorted by file; reading problems go to
    ``problems`` when given. :func:`runner.announcements.validate.check` also applies
    the policy."""
    found = []
    for path in announcement_files(settings):
        ann, errs = parse(path, settings)
        if problems is not None:
            problems.extend(errs)
        if ann is not None:
            found.append(ann)
    return found
