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

from ...messages import t
from ..bubble import make_bubble
from ..catalogue import known_templates, template_changes
from ..render import HEADER_TEXT_LIMIT, Limit, Rendered
from .registry import problem, rule


def _rendered_template(ann, ctx):
    rendered = ctx.rendered.get(ann.file)
    if not isinstance(rendered, Rendered) or rendered.template is None:
        return None, None
    return rendered, known_templates(ctx.settings).get(rendered.template, rendered.language)


@rule("template-required", needs=("template",))
def template_required(ann, ctx):
    rendered = ctx.rendered.get(ann.file)
    if isinstance(rendered, Rendered) and rendered.template is None:
        yield problem(ann, "template-required", "template-required", "template")


@rule("template-approved", needs=("template",))
def template_known_and_approved(ann, ctx):
    rendered, tpl = _rendered_template(ann, ctx)
    if rendered is None:
        return
    name, file = rendered.template, ctx.settings.templates_file
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


def _announced(settings, tpl) -> str | None:
    """When Meta announced ``tpl``'s status by webhook (synced), as staff read a date;
    None when the status is the catalogue's own."""
    changes = template_changes(settings)
    change = changes.get(f"{tpl.name}:{tpl.language}") or changes.get(tpl.name) or {}
    if change.get("status") != tpl.status or not change.get("at"):
        return None
    return datetime.fromisoformat(change["at"]).astimezone(settings.tz).strftime(
        "%d/%m/%Y %H:%M")


@rule("template-text", needs=("template",))
def template_matches_settings(ann, ctx):
    rendered, tpl = _rendered_template(ann, ctx)
    if tpl is None:
        return
    name = rendered.template
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


def expected_header(tpl) -> str:
    """The settings' ``header`` that fits the template: a text header with nothing to
    fill ("JESI INFORMA") is fixed text, as good as none."""
    if tpl.header == "TEXT":
        return "text" if tpl.header_placeholders() else "none"
    return tpl.header.lower()


def body_with_fixed_text(ann, ctx) -> Limit | None:
    """The body's length with the template's fixed text, when the catalogue knows it."""
    rendered, tpl = _rendered_template(ann, ctx)
    if tpl is None:
        return None
    return next((lim for lim in make_bubble(rendered, tpl).limits
                 if lim.label == t("bubble.limit-body")), None)


@rule("template-length", needs=("template",))
def template_lengths(ann, ctx):
    """Fixed text and parameters together, against the limits of a template message.
    When the parameters themselves are too long, the `length` rule's one problem
    already counts the fixed text in: the body is not reported twice."""
    rendered, tpl = _rendered_template(ann, ctx)
    if tpl is None:
        return
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

