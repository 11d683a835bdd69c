"""The reviewer's comment, computed by trusted code from a pull request's files read as data.

For ``pull_request`` GitHub runs the workflow file of the pull request's own merge
commit, so validate.yml's run (and anything it uploads) is the pull request's to
write: a ``review.md`` from it could claim any audience, any cost, "no problem".
The trusted workflow (review-comment.yml, on ``workflow_run``) therefore runs the
default branch's code and computes the comment itself: it lists the pull request's
changed files through the API, fetches the changed announcements and media as bytes
(the pull request is never checked out, nothing of it is executed), and calls
:func:`comment`. Only the pull request's number and head commit come from the
untrusted run, and the workflow checks them against the API first.

The listing is the API's (``GET /repos/{repo}/pulls/{n}/files``), one JSON object per
line with ``filename``, ``status`` and, for a rename, ``previous_filename``. Each
changed announcement is checked with the default branch's settings and template
catalogue, over the default branch's repository with the pull request's files in
place and its removed or renamed-away files out. A path that could step outside the
folder of fetched files, or a fetched entry that is not a plain file, is refused.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from ..errors import ConfigError
from ..messages import t
from . import escape
from .render import MEDIA_TYPES
from .summaries import pull_request_comment
from .validate import check

if TYPE_CHECKING:
    from ..config import Settings

MEDIA_FOLDERS = ("media",)  # besides announcements/media/, where validate.yml also looks
COMMENT_LIMIT = 60_000  # GitHub refuses a comment over 65,536 characters


@dataclass(frozen=True)
class Changed:
    path: str
    status: str  # added | modified | removed | renamed | copied | changed | unchanged
    previous: str | None = None


def read_listing(text: str) -> list[Changed]:
    """The API's changed files, one JSON object per line (``gh api --jq '.[]'``)."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            found.append(Changed(_safe(entry["filename"]), str(entry.get("status", "")),
                                 _safe(entry["previous_filename"])
                                 if entry.get("previous_filename") else None))
        except (ValueError, KeyError, TypeError):
            raise ConfigError(t("pull-request.bad-listing", line=number)) from None
    return found


def _safe(path: object) -> str:
    """A repository path as GitHub lists it: relative, POSIX, no ``.`` or ``..`` step."""
    text = str(path)
    parts = PurePosixPath(text).parts
    if (not text or text.startswith("/") or "\\" in text or "\x00" in text
            or any(part in (".", "..") for part in parts) or "/".join(parts) != text):
        raise ConfigError(t("pull-request.unsafe-path", path=escape.code(text)))
    return text


def _data(settings: Settings, path: str) -> bool:
    """Announcements and media: what the workflow fetches, as data."""
    top = PurePosixPath(Path(settings.announcements_dir).as_posix()).parts
    parts = PurePosixPath(path).parts
    in_announcements = parts[:len(top)] == top
    is_media = PurePosixPath(path).suffix.lower() in MEDIA_TYPES
    return in_announcements or (parts[0] in MEDIA_FOLDERS and is_media)


def _fetched(fetched: Path, path: str) -> Path:
    """The fetched copy of ``path``: a plain file inside ``fetched``, or an error."""
    source = fetched / path
    if source.is_symlink() or not source.is_file() or not source.resolve().is_relative_to(
            fetched.resolve()):
        raise ConfigError(t("pull-request.not-fetched", path=escape.code(path)))
    return source


def comment(settings: Settings, changed: list[Changed], fetched: Path) -> str:
    """The comment for the pull request whose changed files are ``changed``, their
    content in ``fetched`` under the same paths; "" when no announcement changed."""
    overlay: dict[str, Path] = {}
    removed: set[str] = set()
    targets: list[str] = []
    notes: list[str] = []
    for item in changed:
        if item.previous:
            removed.add(item.previous)
        if item.status == "removed":
            removed.add(item.path)
            continue
        if not _data(settings, item.path):
            if item.path in ("pyproject.toml", Path(settings.templates_file).as_posix()):
                notes.append(t("pull-request.settings-changed", path=escape.code(item.path)))
            continue
        overlay[item.path] = _fetched(fetched, item.path)
        name = PurePosixPath(item.path).name.lower()
        if name.endswith(".md") and name != "readme.md":
            targets.append(item.path)
    if not targets:
        return ""
    result = check(settings, targets, overlay=overlay, removed=frozenset(removed - set(overlay)))
    return _fitted(pull_request_comment(result, settings, notes))


def _fitted(text: str) -> str:
    """The comment cut at a line end to fit GitHub's limit (the previews come last; a
    fence left open keeps what follows inert)."""
    if len(text) <= COMMENT_LIMIT:
        return text
    cut = text.rfind("\n", 0, COMMENT_LIMIT - 200)
    return text[:cut] + "\n\n" + t("pull-request.cut")


def comment_from_files(settings: Settings, listing: Path, fetched: Path) -> str:
    """:func:`comment` for the listing saved in the file ``listing``."""
    try:
        text = listing.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(t("pull-request.no-listing", path=listing,
                            detail=exc.strerror)) from None
    return comment(settings, read_listing(text), fetched)
