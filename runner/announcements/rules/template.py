"""Rules that hold each announcement to its WhatsApp template as Meta has it.

Announcements reach people whose 24-hour window closed long ago, so they go out
as approved templates, always. The catalogue (:mod:`runner.whatsapp.templates`,
with the changes Meta announced by webhook since, as the latest sync stored them:
:func:`runner.announcements.catalogue.template_changes`) must know the template; it
must be APPROVED; its placeholders must match what the settings fill; its header
must be the kind the announcement brings; its footer must tell how to leave. A
MARKETING template is allowed but warned about (it costs more, Meta caps it per
citizen and does not deliver it to +1 numbers). Lengths are the bubble's: fixed
text and parameters together.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from ...messages import t
from ..bubble import make_bubble
from ..catalogue import known_templates, template_changes
from ..render import HEADER_TEXT_LIMIT, Limit, Rendered
from .registry import problem, rule

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ...config import Settings
    from ...whatsapp.templates import Template
    from ..model import Announcement
    from ..problems import Problem
    from .context import Context


def _rendered_template(ann: Announcement,
                       ctx: Context) -> tuple[Rendered, str, Template | None] | None:
    """A template message's rendering, its template's name, and the template as the
    catalogue has it (None: not there); None for a text message or none rendered."""
    rendered = ctx.rendered.get(ann.file)
    if not isinstance(rendered, Rendered) or rendered.template is None:
        return None
    name = rendered.template
    return rendered, name, known_templates(ctx.settings).get(name, rendered.language)


def _catalogued(ann: Announcement, ctx: Context) -> tuple[Rendered, str, Template] | None:
    """:func:`_rendered_template` when the catalogue has the template."""
    found = _rendered_template(ann, ctx)
    if found is None:
        return None
    rendered, name, tpl = found
    return (rendered, name, tpl) if tpl is not None else None


@rule("template-required", needs=("template",))
def template_required(ann: Announcement, ctx: Context) -> Iterator[Problem]:
    rendered = ctx.rendered.get(ann.file)
    if isinstance(rendered, Rendered) and rendered.template is None:
        yield problem(ann, "template-required", "template-required", "template")


@rule("template-approved", needs=("template",))
def template_known_and_approved(ann: Announcement, ctx: Context) -> Iterator[Problem]:
    found = _rendered_template(ann, ctx)
    if found is None:
        return
    rendered, name, tpl = found
    file = ctx.settings.templates_file
    if tpl is None:
        yield problem(ann, "template-approved", "template-not-in-catalogue", "template",
                      name=name, language=rendered.language, file=file)
    elif not tpl.approved and (change := _announced(ctx.settings, tpl)):
        # Paused (or disabled, rejected) since the catalogue was written: Meta's
        # webhook, synced. It waits for Meta's re-approval, no `templates sync` needed.
        yield problem(ann, "template-approved", "template-not-approved-now", "template",
                      name=name, status=tpl.status, at=change)
    elif not tpl.approved:
        yield problem(ann, "template-approved", "template-not-approved", "template",
                      name=name, status=tpl.status)
    elif tpl.category == "MARKETING":
        yield problem(ann, "template-approved", "template-marketing", "template",
                      severity="warning", name=name)


def _announced(settings: Settings, tpl: Template) -> str | None:
    """When Meta announced ``tpl``'s status by webhook (synced), as staff read a date;
    None when the status is the catalogue's own."""
    changes = template_changes(settings)
    change = changes.get(f"{tpl.name}:{tpl.language}") or changes.get(tpl.name) or {}
    if change.get("status") != tpl.status or not change.get("at"):
        return None
    return datetime.fromisoformat(change["at"]).astimezone(settings.tz).strftime(
        "%d/%m/%Y %H:%M")


@rule("template-text", needs=("template",))
def template_matches_settings(ann: Announcement, ctx: Context) -> Iterator[Problem]:
    found = _catalogued(ann, ctx)
    if found is None:
        return
    rendered, name, tpl = found
    config = ctx.settings.templates[name]
    wanted = tpl.body_placeholders()
    if len(wanted) != len(rendered.parameters):
        yield problem(ann, "template-text", "template-params", "template", name=name,
                      placeholders=len(wanted), configured=len(rendered.parameters),
                      sources=", ".join(config.body))
    elif config.parameter_names and set(config.parameter_names) != set(wanted):
        yield problem(ann, "template-text", "template-param-names", "template", name=name,
                      placeholders=", ".join(wanted), names=", ".join(config.parameter_names))
    if expected_header(tpl) != config.header:
        yield problem(ann, "template-text", "template-header-format", "template", name=name,
                      meta=tpl.header, configured=config.header)
    keywords = ctx.settings.unsubscribe_keywords
    if not any(k.casefold() in tpl.footer.casefold() for k in keywords):
        yield problem(ann, "template-text", "template-footer", "template", name=name,
                      footer=tpl.footer or "-", keyword=(keywords or ["?"])[0])


def expected_header(tpl: Template) -> str:
    """The settings' ``header`` that fits the template: a text header with nothing to
    fill ("JESI INFORMA") is fixed text, as good as none."""
    if tpl.header == "TEXT":
        return "text" if tpl.header_placeholders() else "none"
    return tpl.header.lower()


def body_with_fixed_text(ann: Announcement, ctx: Context) -> Limit | None:
    """The body's length with the template's fixed text, when the catalogue knows it."""
    found = _catalogued(ann, ctx)
    if found is None:
        return None
    rendered, _, tpl = found
    return next((lim for lim in make_bubble(rendered, tpl).limits
                 if lim.label == t("bubble.limit-body")), None)


@rule("template-length", needs=("template",))
def template_lengths(ann: Announcement, ctx: Context) -> Iterator[Problem]:
    """Fixed text and parameters together, against the limits of a template message.
    When the parameters themselves are too long, the `length` rule's one problem
    already counts the fixed text in: the body is not reported twice."""
    found = _catalogued(ann, ctx)
    if found is None:
        return
    rendered, _, tpl = found
    own = rendered.limits()  # each parameter's own limit is the `length` rule's
    params_over = any(not lim.ok and lim.limit != HEADER_TEXT_LIMIT for lim in own)
    body = body_with_fixed_text(ann, ctx)
    for limit in make_bubble(rendered, tpl).limits:
        if limit.ok or limit in own or (params_over and limit == body):
            continue
        yield problem(ann, "template-length", "too-long",
                      ann.line("title") if limit.source == "title" else ann.body_line,
                      what=limit.label, length=limit.length, limit=limit.limit,
                      over=limit.length - limit.limit)

