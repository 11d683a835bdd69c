"""What citizens received, for the channels: the bubble's text, as HTML for the archive's
pages and in the tags Telegram accepts.

The text is :mod:`runner.announcements.bubble`'s: for a template, its fixed text
with the parameters filled in (as flat as WhatsApp made them), its text header and
footer; for a text message, the body. Its WhatsApp markup becomes HTML through the
bubble's own :func:`~runner.announcements.bubble.whatsapp_html` (escaped first),
so the archive shows exactly what the preview showed staff. When the template's
text is not in the catalogue (or the template is gone), the body's paragraphs
stand in for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..announcements.bubble import make_bubble, whatsapp_html
from ..announcements.catalogue import known_templates
from ..announcements.render import RenderError, markdown_blocks, render

if TYPE_CHECKING:
    from ..config import Settings
    from .selection import Entry

_QUOTE_OPEN, _QUOTE_CLOSE = '<span class="wa-quote">', "</span>"


@dataclass(frozen=True)
class Received:
    """The message as the citizen's WhatsApp showed it, in WhatsApp markup."""

    body: str
    header: str = ""  # a template's text header, filled in
    footer: str = ""
    title: str = ""  # set when the body does not carry the title itself (a text message)

    def plain(self) -> str:
        """Header, body and footer as text (CAP's description): marks kept, as read."""
        return "\n\n".join(part for part in (self.header, self.body, self.footer) if part)


class Texts:
    """Renders each entry's :class:`Received` (the catalogue is read once)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.catalogue = known_templates(settings)

    def received(self, entry: Entry) -> Received:
        try:
            rendered = render(entry.ann, self.settings)
        except RenderError:  # a template removed since: the text is still the body's
            return Received("\n\n".join(markdown_blocks(entry.ann.body)), title=entry.title)
        if rendered.template is not None:
            bubble = make_bubble(rendered, self.catalogue.get(rendered.template,
                                                              rendered.language))
            if bubble.text_known:
                header = bubble.header if bubble.header_kind == "text" else ""
                return Received(bubble.body, header, bubble.footer)
        # A text message (the title is the page's heading), or a template whose text
        # the catalogue lacks: its parameters are flat, the paragraphs read better.
        return Received("\n\n".join(rendered.blocks), title=entry.title)


def page_html(received: Received) -> str:
    """Paragraphs of the bubble's HTML, the header bold before them, the footer after."""
    out = [f"<p><strong>{whatsapp_html(received.header)}</strong></p>"] if received.header else []
    out += [f"<p>{whatsapp_html(part)}</p>" for part in received.body.split("\n\n") if part]
    if received.footer:
        out.append(f'<p class="footer">{whatsapp_html(received.footer)}</p>')
    return "\n".join(out)


def telegram_html(received: Received) -> str:
    """The message for Telegram (parse_mode=HTML), as WhatsApp showed it: the title in
    bold unless the template's text carries it, line breaks as newlines, quotes as
    Telegram's blockquote."""
    parts = [f"<b>{whatsapp_html(received.title)}</b>"] if received.title else []
    parts += [_telegram(p) for p in (received.header, received.body, received.footer) if p]
    return "\n\n".join(parts)


def _telegram(markup: str) -> str:
    text = whatsapp_html(markup).replace("<br>", "\n")
    text = text.replace(_QUOTE_OPEN, "<blockquote>").replace(_QUOTE_CLOSE, "</blockquote>")
    return text.replace("</blockquote>\n<blockquote>", "\n")
