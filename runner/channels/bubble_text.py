"""The bubble's text: what citizens' WhatsApp showed them (:class:`BubbleText`), as
HTML for the archive's pages and in the tags Telegram accepts; and the announcement
as plain text, for CAP.

The text is :mod:`runner.announcements.bubble`'s: for a template, its fixed text
with the parameters filled in (as flat as WhatsApp made them), its text header and
footer; for a text message, the body. Its WhatsApp markup becomes HTML through the
bubble's own :func:`~runner.announcements.bubble.whatsapp_html` (escaped first),
so the archive shows exactly what the preview showed staff. When the template's
text is not in the catalogue (or the template is gone), the body's paragraphs
stand in for it.

CAP's ``description`` is read by aggregators and their apps, not by WhatsApp: it is
the announcement's own text (:func:`plain_text`), without WhatsApp's marks and without
the template's fixed words ("Per cancellarti scrivi ..." is for the chat, not for a
reader of an alert feed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..announcements.bubble import make_bubble, whatsapp_html
from ..announcements.catalogue import known_templates
from ..announcements.render import MARKDOWN, RenderError, markdown_blocks, render

if TYPE_CHECKING:
    from markdown_it.token import Token

    from ..config import Settings
    from .selection import Entry

_QUOTE_OPEN, _QUOTE_CLOSE = '<span class="wa-quote">', "</span>"


@dataclass(frozen=True)
class BubbleText:
    """The text of the message as the citizen's WhatsApp showed it (the chat bubble),
    in WhatsApp markup."""

    body: str
    header: str = ""  # a template's text header, filled in
    footer: str = ""
    title: str = ""  # set when the body does not carry the title itself (a text message)

    def plain(self) -> str:
        """Header, body and footer as text: marks kept, as read."""
        return "\n\n".join(part for part in (self.header, self.body, self.footer) if part)


class BubbleTexts:
    """Each entry's :class:`BubbleText`, for one town (its catalogue read once)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.catalogue = known_templates(settings)

    def of(self, entry: Entry) -> BubbleText:
        try:
            rendered = render(entry.ann, self.settings)
        except RenderError:  # a template removed since: the text is still the body's
            return BubbleText("\n\n".join(markdown_blocks(entry.ann.body)), title=entry.title)
        if rendered.template is not None:
            bubble = make_bubble(rendered, self.catalogue.get(rendered.template,
                                                              rendered.language))
            if bubble.text_known:
                header = bubble.header if bubble.header_kind == "text" else ""
                return BubbleText(bubble.body, header, bubble.footer)
        # A text message (the title is the page's heading), or a template whose text
        # the catalogue lacks: its parameters are flat, the paragraphs read better.
        return BubbleText("\n\n".join(rendered.blocks), title=entry.title)


def page_html(text: BubbleText) -> str:
    """Paragraphs of the bubble's HTML, the header bold before them, the footer after."""
    out = [f"<p><strong>{whatsapp_html(text.header)}</strong></p>"] if text.header else []
    out += [f"<p>{whatsapp_html(part)}</p>" for part in text.body.split("\n\n") if part]
    if text.footer:
        out.append(f'<p class="footer">{whatsapp_html(text.footer)}</p>')
    return "\n".join(out)


def telegram_html(text: BubbleText) -> str:
    """The message for Telegram (parse_mode=HTML), as WhatsApp showed it: the title in
    bold unless the template's text carries it, line breaks as newlines, quotes as
    Telegram's blockquote."""
    parts = [f"<b>{whatsapp_html(text.title)}</b>"] if text.title else []
    parts += [_telegram(p) for p in (text.header, text.body, text.footer) if p]
    return "\n\n".join(parts)


def _telegram(markup: str) -> str:
    text = whatsapp_html(markup).replace("<br>", "\n")
    text = text.replace(_QUOTE_OPEN, "<blockquote>").replace(_QUOTE_CLOSE, "</blockquote>")
    return text.replace("</blockquote>\n<blockquote>", "\n")


def plain_text(source: str) -> str:
    """A Markdown body as plain text: paragraphs apart, list items one a line with their
    ``-`` or number, links as ``text (address)``, emphasis and quotes as bare text."""
    blocks: list[str] = []
    lines: list[str] = []
    lists: list[list] = []  # [ordered, next number]
    marker = ""  # a list item's marker, waiting for the item's first line
    for tok in MARKDOWN.parse(source):
        if tok.type in ("bullet_list_open", "ordered_list_open"):
            lists.append([tok.type == "ordered_list_open", int(tok.attrGet("start") or 1)])
        elif tok.type in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
        elif tok.type == "list_item_open":
            ordered, number = lists[-1]
            lists[-1][1] += 1
            marker = "  " * (len(lists) - 1) + (f"{number}. " if ordered else "- ")
        elif tok.type in ("inline", "fence", "code_block"):
            text = (_plain_inline(tok.children or []) if tok.type == "inline"
                    else tok.content.rstrip("\n"))
            lines.append(marker + text)
            marker = ""
        if tok.level == 0 and tok.nesting <= 0 and tok.block and lines:
            blocks.append("\n".join(line.rstrip() for line in lines))
            lines = []
    return "\n\n".join(b for b in blocks if b.strip())


def _plain_inline(children: list[Token]) -> str:
    out: list[str] = []
    links: list[tuple[int, str]] = []
    for tok in children:
        if tok.type in ("text", "code_inline"):
            out.append(tok.content)
        elif tok.type == "softbreak":
            out.append(" ")
        elif tok.type == "hardbreak":
            out.append("\n")
        elif tok.type == "link_open":
            links.append((len(out), str(tok.attrGet("href") or "")))
        elif tok.type == "link_close" and links:
            start, href = links.pop()
            shown = href.removeprefix("mailto:").removeprefix("tel:")
            if "".join(out[start:]).strip() not in (shown, href):
                out.append(f" ({shown})")
        elif tok.type == "image":
            out.append(tok.content.strip() or str(tok.attrGet("src") or ""))
    return "".join(out)
