"""Rules about an announcement's front matter, its file, its template and its media."""

from __future__ import annotations

import difflib
from urllib.parse import urlsplit

from ..messages import dates, t
from .model import Announcement, file_date
from .policy import WHEN_KEYS, is_history, problem, rule
from .render import (
    HEADER_TEXT_LIMIT,
    MEDIA_MAX_BYTES,
    MEDIA_TYPES,
    Rendered,
    RenderError,
    resolve_media,
)
from .template_rules import body_with_fixed_text
from .text_rules import domain_allowed


@rule("category", needs=("category",))
def category_known(ann, ctx):
    allowed = ctx.settings.categories
    if ann.category not in allowed:
        close = difflib.get_close_matches(ann.category, allowed, n=1, cutoff=0.6)
        hint = t("announcement.did-you-mean", suggestion=close[0]) if close else ""
        yield problem(ann, "category", "category-unknown", "category",
                      value=ann.category, allowed=", ".join(allowed), hint=hint)


@rule("emergency-category", needs=("category", "urgency"))
def emergency_only_where_allowed(ann, ctx):
    allowed = ctx.settings.emergency_categories
    if ann.urgency == "emergency" and ann.category not in allowed:
        yield problem(ann, "emergency-category", "emergency-category", "urgency",
                      category=ann.category, allowed=", ".join(allowed))


@rule("weekly-cap", scope="repo", needs=WHEN_KEYS)
def weekly_cap(ann, ctx):
    week, rank = ctx.week_rank.get(ann.file, (None, 0))
    cap = ctx.settings.weekly_cap
    if week and rank > cap:
        yield problem(ann, "weekly-cap", "weekly-cap",
                      "publish_at" if ann.publish_at else None,
                      week=dates.week(week), rank=rank, cap=cap,
                      total=max(rank, ctx.budget[week]))  # with it, once it is fixed


@rule("expiry", needs=("publish_at", "expires_at"))
def expires_after_publish(ann, ctx):
    start, end = ann.effective_publish_at, ann.expires_at
    if start is not None and end is not None and end <= start:
        tz = ctx.settings.tz
        yield problem(ann, "expiry", "expiry", "expires_at",
                      expires=dates.moment(end, tz), publish=dates.moment(start, tz))


@rule("expired", scope="review", needs=("publish_at", "expires_at"))
def not_expired_on_arrival(ann, ctx):
    if ctx.now is not None and is_history(ann, ctx.now):
        yield problem(ann, "expired", "expired", "expires_at" if ann.expires_at else None,
                      expires=dates.moment(ann.effective_expires_at, ctx.settings.tz))


@rule("file-name")
def file_name(ann, ctx):
    if file_date(ann.path) is None:
        yield problem(ann, "file-name", "file-name", 1, name=ann.path.name)


@rule("file-date", needs=("publish_at",))
def file_date_matches(ann, ctx):
    day = file_date(ann.path)
    if day and ann.publish_at is not None:
        published = ann.publish_at.astimezone(ctx.settings.tz).date()
        if published != day:
            yield problem(ann, "file-date", "file-date", "publish_at",
                          name=ann.path.name, day=dates.day(day), publish=dates.day(published))


@rule("year-folder")
def year_folder(ann, ctx):
    day = file_date(ann.path)
    if day and ann.path.parent.name != str(day.year):
        yield problem(ann, "year-folder", "year-folder", 1,
                      folder=ann.path.parent.name, year=day.year)


@rule("duplicate-id", scope="always")
def duplicate_id(ann, ctx):
    others = [f for f in ctx.id_files.get(ann.id, []) if f != ann.file]
    if others:
        yield problem(ann, "duplicate-id", "duplicate-id", 1, id=ann.id, others=", ".join(others))


@rule("template", needs=("template",))
def template_usable(ann, ctx):
    rendered = ctx.rendered.get(ann.file)
    if isinstance(rendered, RenderError):
        yield problem(ann, "template", "render-failed", "template", detail=rendered.message())
        return
    if rendered is None or rendered.template is None:
        return
    for i, (source, value) in enumerate(zip(rendered.sources, rendered.parameters, strict=True), 1):
        if not value:
            yield problem(ann, "template", "param-empty", _line_of(ann, source),
                          n=i, source=source, template=rendered.template)


@rule("template-header", needs=("template", "media"))
def template_header(ann, ctx):
    rendered = ctx.rendered.get(ann.file)
    if not isinstance(rendered, Rendered) or rendered.template is None:
        return
    expected = ctx.settings.templates[rendered.template].header
    media = rendered.header
    name = rendered.template
    if expected in ("none", "text") and media is not None:
        yield problem(ann, "template-header", "header-unused", "media", template=name)
    elif expected not in ("none", "text") and media is None:
        yield problem(ann, "template-header", "header-missing", "template",
                      template=name, kind=expected)
    elif expected not in ("none", "text") and media.kind and media.kind != expected:
        yield problem(ann, "template-header", "header-kind", "media",
                      template=name, kind=expected, found=media.kind)


@rule("length", needs=("template",))
def whatsapp_lengths(ann, ctx):
    """One problem per part that is too long: the header, and the body (its parameters,
    all of them together and, where the catalogue knows the template, with its fixed
    text: one long body is one problem, saying how much to cut)."""
    rendered = ctx.rendered.get(ann.file)
    if not isinstance(rendered, Rendered):
        return
    limits = rendered.limits()
    over = [limit for limit in limits if not limit.ok]
    for limit in over:
        if limit.limit == HEADER_TEXT_LIMIT:
            yield problem(ann, "length", "too-long", _line_of(ann, limit.source),
                          what=limit.label, length=limit.length, limit=limit.limit,
                          over=limit.length - limit.limit)
    body = [limit for limit in over if limit.limit != HEADER_TEXT_LIMIT]
    if not body:
        return
    whole = body_with_fixed_text(ann, ctx)
    worst = max([*body, *([whole] if whole and not whole.ok else [])],
                key=lambda lim: lim.length - lim.limit)
    params = [lim for lim in limits if lim.source is not None and lim.limit != HEADER_TEXT_LIMIT]
    part = max(params, key=lambda lim: lim.length) if params else worst
    yield problem(ann, "length", "too-long-body" if len(params) > 1 else "too-long",
                  _line_of(ann, part.source), what=worst.label,
                  length=worst.length, limit=worst.limit, over=worst.length - worst.limit,
                  part=part.label, part_length=part.length)


def _line_of(ann: Announcement, source: str | None) -> int:
    return ann.line("title") if source == "title" else ann.body_line


# --- media -------------------------------------------------------------------------
_SIGNATURES = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "application/pdf": (b"%PDF",),
}


@rule("media", needs=("media",))
def media_file(ann, ctx):
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
    if not head.startswith(_SIGNATURES.get(media.mime, (b"",))):
        yield problem(ann, "media", "media-content", where, name=media.source, mime=media.mime)
    elif media.mime == "image/png" and not (head[24] == 8 and head[25] in (2, 6)):
        # WhatsApp takes 8-bit RGB or RGBA PNGs; palette or 16-bit images are refused.
        yield problem(ann, "media", "media-png-format", where, name=media.source)


def _allowed_types() -> str:
    return " ".join(sorted(MEDIA_TYPES))
