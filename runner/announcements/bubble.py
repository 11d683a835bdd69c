"""The bubble: the whole message as the citizen sees it, as text and as HTML.

One renderer for every place a person looks at an announcement before it goes
out (``preview``, the dry run, the pull request's step summary and its HTML
artifact, a CMS preview pane). It is three clean steps::

    bubble = bubble_for(announcement, settings)   # announcement + settings -> Bubble
    as_text(bubble)                               # -> the terminal / Markdown preview
    as_html(bubble)                               # -> one <div class="wa-bubble">
    html_page([bubble, ...], title)               # -> a whole page, styles included

:class:`Bubble` is plain data: the template's fixed text (from the catalogue, see
:mod:`runner.whatsapp.templates`) with the parameters filled in, in WhatsApp
markup (``*bold*``, ``_italic_``, ``~strike~``, ```` ```mono``` ````), the header
(text, or the media named), the footer and buttons, and the character counts
against WhatsApp's limits. When the catalogue does not know the template, the
body shows the parameters alone and ``text_known`` is False.
"""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..messages import t
from ..whatsapp.templates import Catalogue, Template
from .catalogue import known_templates
from .render import (
    HEADER_TEXT_LIMIT,
    MEDIA_MAX_BYTES,
    TEMPLATE_BODY_LIMIT,
    Limit,
    Rendered,
    render,
)

if TYPE_CHECKING:
    from ..config import Settings
    from .model import Announcement

FOOTER_LIMIT = 60


@dataclass
class Bubble:
    title: str  # what the bubble is of (the file), for headings
    template: str | None
    language: str
    category: str | None = None  # UTILITY | MARKETING... from the catalogue
    status: str | None = None
    header_kind: str | None = None  # text | image | video | document | None
    header: str = ""  # the filled text header, or the media as written
    media_path: str | None = None  # a repository file shown inline in the HTML
    body: str = ""
    footer: str = ""
    buttons: tuple[str, ...] = ()
    limits: list[Limit] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    text_known: bool = True


def make_bubble(rendered: Rendered, template: Template | None, title: str = "") -> Bubble:
    """The bubble of a rendered message, filled into ``template`` when it is known."""
    b = Bubble(title=title, template=rendered.template, language=rendered.language,
               notes=list(rendered.notes))
    media = rendered.header
    if media is not None:
        b.header_kind, b.header = media.kind or "document", media.source
        b.media_path = str(media.path) if media.path is not None else None
    if rendered.template is None:
        b.body, b.limits = rendered.text, rendered.limits()
        return b
    b.limits = [lim for lim in rendered.limits() if lim.source is not None
                or lim.limit != TEMPLATE_BODY_LIMIT]
    if template is None:
        b.text_known = False
        b.body = "\n\n".join(rendered.parameters)
        b.limits.append(Limit(t("render.limit-template-total"),
                              sum(map(len, rendered.parameters)), TEMPLATE_BODY_LIMIT))
        b.notes.append(t("bubble.text-unknown", name=rendered.template))
        if rendered.header_text is not None:
            b.header_kind, b.header = "text", rendered.header_text
        return b
    b.category, b.status = template.category, template.status
    b.body = template.fill_body(rendered.parameters, rendered.parameter_names)
    b.footer, b.buttons = template.footer, template.buttons
    b.limits.append(Limit(t("bubble.limit-body"), len(b.body), TEMPLATE_BODY_LIMIT))
    if template.header == "TEXT":
        b.header_kind = "text"
        b.header = template.fill_header(rendered.header_text)
        b.limits = [lim for lim in b.limits if lim.limit != HEADER_TEXT_LIMIT]
        b.limits.insert(0, Limit(t("bubble.limit-header"), len(b.header), HEADER_TEXT_LIMIT,
                                 rendered.header_source))
    if b.footer:
        b.limits.append(Limit(t("bubble.limit-footer"), len(b.footer), FOOTER_LIMIT))
    return b


def bubble_for(announcement: Announcement, settings: Settings) -> Bubble:
    """Announcement + settings -> Bubble (RenderError when it cannot be rendered)."""
    rendered = render(announcement, settings)
    return bubble_of(rendered, settings, announcement.file)


def bubble_of(rendered: Rendered, settings: Settings, title: str = "",
              catalogue: Catalogue | None = None) -> Bubble:
    """``catalogue``: the known templates, when the caller has them already."""
    template = None
    if rendered.template is not None:
        catalogue = catalogue or known_templates(settings)
        template = catalogue.get(rendered.template, rendered.language)
    return make_bubble(rendered, template, title)


# --- as text ------------------------------------------------------------------------
def as_text(b: Bubble) -> str:
    """The bubble framed for a terminal or a Markdown code block, counts below it."""
    if b.template is None:
        head = t("bubble.as-text")
    else:
        head = t("bubble.as-template", name=b.template, language=b.language,
                 category=b.category or "?", status=b.status or "?")
    lines = [f"╭─ {head}"]
    if b.header_kind == "text":
        lines.append(f"│ *{b.header}*" if b.header and not b.header.startswith("*") else
                     f"│ {b.header}")
    elif b.header_kind:
        lines.append(f"│ [{t(f'render.kind-{b.header_kind}')}: {b.header}]")
    lines += [f"│ {line}".rstrip() for line in b.body.split("\n")]
    if b.footer:
        lines.append(f"│ {t('bubble.footer-mark')} {b.footer}")
    lines += [f"│ [ {button} ]" for button in b.buttons]
    lines.append("╰─")
    lines.append(t("bubble.counts", counts=" · ".join(
        t("bubble.count", label=lim.label, length=lim.length, limit=lim.limit,
          status="ok" if lim.ok else t("render.over", over=lim.length - lim.limit))
        for lim in b.limits)))
    lines += [t("render.note", note=note) for note in b.notes]
    return "\n".join(lines)


# --- as HTML ------------------------------------------------------------------------
_CODE = re.compile(r"```(.+?)```", re.S)
_BOLD = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])")
_STRIKE = re.compile(r"(?<![\w~])~(?=\S)([^~\n]+?)(?<=\S)~(?![\w~])")
_LINK = re.compile(r"https?://[^\s<>()&]+(?:&amp;[^\s<>()&]+)*(?<![.,;:!?])")


def whatsapp_html(markup: str) -> str:
    """WhatsApp markup as HTML, the way the app draws it (escaped first: nothing passes raw)."""
    text = html.escape(markup, quote=False)
    codes: list[str] = []

    def keep(match: re.Match) -> str:
        codes.append(f"<code>{match.group(1)}</code>")
        return f"\x00{len(codes) - 1}\x00"

    text = _CODE.sub(keep, text)
    text = _LINK.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', text)
    text = _BOLD.sub(r"<strong>\1</strong>", text)
    text = _ITALIC.sub(r"<em>\1</em>", text)
    text = _STRIKE.sub(r"<s>\1</s>", text)
    lines = []
    for line in text.split("\n"):
        if line.startswith("&gt; "):
            line = f'<span class="wa-quote">{line[5:]}</span>'
        lines.append(line)
    text = "<br>".join(lines)
    return re.sub(r"\x00(\d+)\x00", lambda m: codes[int(m.group(1))], text)


def as_html(b: Bubble) -> str:
    """One bubble as an HTML fragment (styles in :data:`CSS`)."""
    parts = [f'<figure class="wa-message" data-template="{html.escape(b.template or "")}">',
             f'<figcaption class="wa-meta">{html.escape(_meta(b))}</figcaption>',
             '<div class="wa-bubble">']
    if b.header_kind == "text":
        parts.append(f'<div class="wa-header">{whatsapp_html(b.header)}</div>')
    elif b.header_kind:
        parts.append(_media_html(b))
    parts.append(f'<div class="wa-body">{whatsapp_html(b.body)}</div>')
    if b.footer:
        parts.append(f'<div class="wa-footer">{html.escape(b.footer)}</div>')
    parts.append('<div class="wa-time">10:00</div></div>')
    parts += [f'<div class="wa-button">{html.escape(x)}</div>' for x in b.buttons]
    counts = "".join(
        f'<li class="{"ok" if lim.ok else "over"}">{html.escape(lim.label)}: '
        f"{lim.length}/{lim.limit}</li>" for lim in b.limits)
    notes = "".join(f"<li>{html.escape(note)}</li>" for note in b.notes)
    parts.append(f'<ul class="wa-counts">{counts}{notes}</ul></figure>')
    return "\n".join(parts)


def _meta(b: Bubble) -> str:
    if b.template is None:
        return f"{b.title} · {t('bubble.as-text')}"
    return f"{b.title} · {b.template} ({b.language}) · {b.category or '?'} · {b.status or '?'}"


def _media_html(b: Bubble) -> str:
    label = f"{t(f'render.kind-{b.header_kind}')}: {b.header}"
    if b.header_kind == "image" and b.media_path:
        try:
            with open(b.media_path, "rb") as fh:
                data = fh.read(MEDIA_MAX_BYTES["image"] + 1)
        except OSError:
            data = b""
        if data and len(data) <= MEDIA_MAX_BYTES["image"]:
            mime = "image/png" if data.startswith(b"\x89PNG") else "image/jpeg"
            src = f"data:{mime};base64,{base64.b64encode(data).decode()}"
            return f'<img class="wa-media" alt="{html.escape(label)}" src="{src}">'
    if b.header_kind == "image" and b.header.startswith("https://"):
        return f'<img class="wa-media" alt="{html.escape(label)}" src="{html.escape(b.header)}">'
    return f'<div class="wa-media wa-placeholder">{html.escape(label)}</div>'


CSS = """
body{margin:0;background:#efeae2;font:15px/1.35 system-ui,-apple-system,"Segoe UI",Roboto,
sans-serif;color:#111b21}
main{max-width:560px;margin:0 auto;padding:24px 16px}
h1{font-size:16px;font-weight:600;text-align:center;background:#fff8c4;border-radius:8px;
padding:6px 12px;margin:0 auto 20px;width:fit-content}
.wa-message{margin:0 0 28px}
.wa-meta{font-size:12px;color:#54656f;margin:0 0 4px 4px}
.wa-bubble{box-sizing:border-box;position:relative;background:#fff;max-width:420px;
border-radius:0 8px 8px 8px;padding:6px 8px 20px;box-shadow:0 1px .5px rgba(11,20,26,.13);
overflow-wrap:anywhere}
.wa-bubble:before{content:"";position:absolute;left:-8px;top:0;border:8px solid transparent;
border-top-color:#fff;border-right-color:#fff;border-width:0 8px 10px 0}
.wa-header{font-weight:700;margin:2px 0 6px}
.wa-media{display:block;width:100%;max-height:320px;object-fit:cover;border-radius:6px;
margin:0 0 6px}
.wa-placeholder{background:#d1d7db;color:#3b4a54;padding:48px 8px;text-align:center;
font-size:13px}
.wa-body strong{font-weight:700}
.wa-body code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:13px}
.wa-body a{color:#027eb5;text-decoration:none}
.wa-quote{display:block;border-left:4px solid #06cf9c;padding-left:6px;color:#54656f}
.wa-footer{color:#667781;font-size:13px;margin-top:6px}
.wa-time{position:absolute;right:8px;bottom:4px;font-size:11px;color:#667781}
.wa-button{background:#fff;max-width:420px;margin-top:2px;border-radius:8px;padding:9px;
text-align:center;color:#027eb5;font-weight:500;box-shadow:0 1px .5px rgba(11,20,26,.13)}
.wa-counts{font-size:12px;color:#54656f;margin:6px 0 0;padding-left:18px}
.wa-counts .over{color:#b3261e;font-weight:700}
"""


def html_page(bubbles: list[Bubble], title: str) -> str:
    """A standalone page of bubbles, as the pull request's artifact."""
    body = "\n".join(as_html(b) for b in bubbles)
    return (f'<!doctype html>\n<html lang="it"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1">'
            f"<title>{html.escape(title)}</title><style>{CSS}</style></head>\n"
            f"<body><main><h1>{html.escape(title)}</h1>\n{body}\n</main></body></html>\n")
