"""What the form's preview pane shows, by the same code as ``preview`` and ``validate``.

The pane posts the form as it stands::

    {"fields": {"title": "...", "category": "...", ...}, "body": "Markdown...",
     "path": "announcements/2024/2024-04-03-x.md",        # once saved, else null
     "media": {"announcements/media/x.png": "<base64>"}}  # the attachment, if any

It is written out as the Markdown file Decap will commit (front matter in the
model's key order, empty values left out, as Decap's are read), in a temporary
folder with the attachment the browser holds (not committed until the save),
and checked by :func:`~runner.announcements.validate.check_draft`. The answer is
the bubble of :mod:`runner.announcements.bubble` (the one renderer of the message
as the citizen sees it, template text, counts against every limit) as HTML with
its CSS and as the text ``preview`` prints, the send window in the town's time
and every problem's message. Rules about the whole repository (weekly cap, duplicate
ids) need the merged repository: the pull request's check runs them.
"""

from __future__ import annotations

import base64
import binascii
import tempfile
from datetime import date, datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import yaml

from ..announcements.bubble import CSS, as_html, as_text, bubble_of
from ..announcements.model import FRONT_MATTER_KEYS
from ..announcements.render import Rendered, RenderError
from ..announcements.validate import check_draft
from ..messages import t

if TYPE_CHECKING:
    from ..config import Settings

DRAFT_SLUG = "anteprima"
MEDIA_MAX_BYTES = 20 * 1024**2  # above this the pane sends no bytes (see preview.js)


def draft_text(fields: dict, body: str) -> str:
    """The announcement file for the form's values: keys in the model's order, empty
    ones (Decap's "" for a field left blank) left out."""
    front = {k: fields[k] for k in FRONT_MATTER_KEYS if fields.get(k) not in (None, "")}
    head = yaml.safe_dump(front, allow_unicode=True, sort_keys=False, width=1000)
    return f"---\n{head}---\n{body or ''}"


def _draft_path(root: Path, fields: dict, saved: str | None, settings: Settings) -> Path:
    """Where the draft is checked: its saved path, else a name from its send date."""
    if saved and _inside(saved):
        return root / saved
    day = _send_day(fields.get("publish_at"), settings) or settings.current_time().date()
    return root / settings.announcements_dir / str(day.year) / f"{day}-{DRAFT_SLUG}.md"


def _send_day(value: object, settings: Settings) -> date | None:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return (moment.astimezone(settings.tz) if moment.tzinfo else moment).date()


def _inside(relative: str) -> bool:
    path = PurePosixPath(relative)
    return (bool(path.parts) and not path.is_absolute() and ".." not in path.parts
            and "\\" not in relative)


def _confined(root: Path, source: str) -> str | None:
    """The attachment's path in the draft's folder, or None when ``source`` leads out
    of it (absolute, ``..``, a link)."""
    if not _inside(source):
        return None
    target = (root / source).resolve()
    return str(target) if target.is_relative_to(root) and target.is_file() else None


def _write_media(root: Path, media: dict | None) -> None:
    for relative, data in (media or {}).items():
        if not _inside(relative):
            continue
        try:
            content = base64.b64decode(data, validate=True)
        except (binascii.Error, TypeError, ValueError):
            continue
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)


def preview_draft(settings: Settings, payload: dict) -> dict:
    """The pane's answer for one posted form (see the module docstring)."""
    fields = payload.get("fields") or {}
    with tempfile.TemporaryDirectory(prefix="banditore-cms-") as tmp:
        root = Path(tmp).resolve()
        path = _draft_path(root, fields, payload.get("path"), settings)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(draft_text(fields, payload.get("body") or ""), encoding="utf-8")
        _write_media(root, payload.get("media"))
        ann, problems, out = check_draft(path, settings, root)
        shown = path.relative_to(root).as_posix()
        html, text = "", ""
        if isinstance(out, Rendered):  # inside the folder: the bubble shows the image
            bubble = bubble_of(out, settings, shown)
            if out.header is not None and out.header.path is not None:
                # render() reads media: against the working directory; the draft's
                # attachment is in this folder, and nothing outside it is ever read
                # (``media: /home/...`` or ``../`` once embedded any image on the machine).
                bubble.media_path = _confined(root, out.header.source)
            html, text = as_html(bubble), as_text(bubble)
        elif isinstance(out, RenderError):
            text = out.message()
    answer = {
        "file": shown,
        "title": t("cms.preview.title"),
        "html": html,
        "css": CSS,
        "text": text,
        "problems": [p.message for p in problems],
        "problems_title": t("cms.preview.problems"),
        "ready": t("cms.preview.ready"),
        "ok": not problems,
    }
    start, end = (ann.effective_publish_at, ann.effective_expires_at) if ann else (None, None)
    if start is not None and end is not None:  # (an announcement with a start has an end)
        moment = "%d/%m/%Y %H:%M"
        answer["when"] = t("cms.preview.when", timezone=settings.timezone,
                           start=start.astimezone(settings.tz).strftime(moment),
                           end=end.astimezone(settings.tz).strftime(moment))
    return answer
