"""Rules about the rendered message: every template parameter filled, the header
the template expects, and the lengths WhatsApp allows."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..model import Announcement
from ..render import HEADER_TEXT_LIMIT, Rendered, RenderError
from .registry import problem, rule
from .template import body_with_fixed_text

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ..model import Announcement
    from ..problems import Problem
    from .context import Context


@rule("template", needs=("template",))
def template_usable(ann: Announcement, ctx: Context) -> Iterator[Problem]:
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
def template_header(ann: Announcement, ctx: Context) -> Iterator[Problem]:
    rendered = ctx.rendered.get(ann.file)
    if not isinstance(rendered, Rendered) or rendered.template is None:
        return
    expected = ctx.settings.templates[rendered.template].header
    media = rendered.header
    name = rendered.template
    if expected in ("none", "text"):
        if media is not None:
            yield problem(ann, "template-header", "header-unused", "media", template=name)
    elif media is None:
        yield problem(ann, "template-header", "header-missing", "template",
                      template=name, kind=expected)
    elif media.kind and media.kind != expected:
        yield problem(ann, "template-header", "header-kind", "media",
                      template=name, kind=expected, found=media.kind)


@rule("length", needs=("template",))
def whatsapp_lengths(ann: Announcement, ctx: Context) -> Iterator[Problem]:
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
