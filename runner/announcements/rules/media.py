"""The rule about an announcement's media: an https address on an allowed site, or a
file in the repository of a kind, size and format WhatsApp takes."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ..render import MEDIA_MAX_BYTES, MEDIA_TYPES, resolve_media
from .registry import problem, rule
from .text import domain_allowed

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ..model import Announcement
    from ..problems import Problem
    from .context import Context

_SIGNATURES = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "application/pdf": (b"%PDF",),
}


@rule("media", needs=("media",))
def media_file(ann: Announcement, ctx: Context) -> Iterator[Problem]:
    media = resolve_media(ann.media, ctx.root)
    if media is None:
        return
    where = "media"
    if media.url is not None:
        host = (urlsplit(media.url).hostname or "").lower()
        if not media.url.lower().startswith("https://"):
            yield problem(ann, "media", "media-not-https", where, url=media.url)
        elif not domain_allowed(host, ctx.settings.link_domains()):
            yield problem(ann, "media", "media-domain", where, host=host,
                          allowed=", ".join(ctx.settings.link_domains()))
        if media.kind is None:
            yield problem(ann, "media", "media-type", where, name=media.source,
                          allowed=_allowed_types())
        return
    assert media.path is not None  # a Media without a URL is a file (resolve_media)
    path = media.path.resolve()
    if not path.is_relative_to(ctx.root):
        yield problem(ann, "media", "media-outside-repo", where, name=media.source)
        return
    path = ctx.content_of(path)
    if not path.is_file():
        yield problem(ann, "media", "media-missing", where, name=media.source)
        return
    if media.kind is None:
        yield problem(ann, "media", "media-type", where, name=media.source,
                      allowed=_allowed_types())
        return
    size = path.stat().st_size
    limit = MEDIA_MAX_BYTES[media.kind]
    if size > limit:
        yield problem(ann, "media", "media-size", where, name=media.source,
                      size=f"{size / 1024**2:.1f}", limit=limit // 1024**2, kind=media.kind)
        return
    with path.open("rb") as fh:
        head = fh.read(32)
    if not head.startswith(_SIGNATURES.get(media.mime or "", (b"",))):
        yield problem(ann, "media", "media-content", where, name=media.source, mime=media.mime)
    elif media.mime == "image/png" and not (head[24] == 8 and head[25] in (2, 6)):
        # WhatsApp takes 8-bit RGB or RGBA PNGs; palette or 16-bit images are refused.
        yield problem(ann, "media", "media-png-format", where, name=media.source)


def _allowed_types() -> str:
    return " ".join(sorted(MEDIA_TYPES))
