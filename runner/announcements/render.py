"""Markdown to exactly what a citizen receives on WhatsApp.

The body is parsed by markdown-it (CommonMark + strikethrough) and written back
in WhatsApp markup: ``*bold*``, ``_italic_``, ``~strike~``, ```` ```monospace``` ````,
``- `` / ``1. `` lists, ``> `` quotes, links as ``text (url)``, headings as bold
lines. A line wrapped in the source is one paragraph (a space), as GitHub shows it.

For a template, each body parameter is filled from the source configured in
``[tool.banditore.templates.NAME].body`` and made acceptable to Meta, which
refuses a newline, a tab or a run of spaces in a parameter: the blocks are joined
on one line the way people write them (:func:`join_blocks`: a heading leads its
text with a colon, list items follow each other with semicolons, ``1)`` numbers
kept); the preview notes when paragraphs were joined. Lengths are *checked* by the
policy (``Rendered.limits``), never silently cut. A drill, a correction or a
withdrawal has its label before the title (``lifecycle_labels``), counted too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from markdown_it import MarkdownIt
from markdown_it.token import Token

from ..messages import t
from .oneline import PUNCTUATION, WHITESPACE, join_blocks

if TYPE_CHECKING:
    from ..config import Settings
    from .model import Announcement


# html=False: raw HTML is shown as typed, which is what WhatsApp would show too.
# CommonMark has no tables: a table is shown as typed as well.
_MD = MarkdownIt("commonmark", {"html": False}).enable("strikethrough")
MARKDOWN = _MD  # what the staff's form offers is derived from it

# Limits from the Cloud API docs (text body, media caption, template body text, a
# body parameter and a text header).
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
PARAM_LIMIT = 1024
TEMPLATE_BODY_LIMIT = 1024
HEADER_TEXT_LIMIT = 60

MEDIA_TYPES = {  # extension -> (WhatsApp media kind, MIME type)
    ".jpg": ("image", "image/jpeg"),
    ".jpeg": ("image", "image/jpeg"),
    ".png": ("image", "image/png"),
    ".mp4": ("video", "video/mp4"),
    ".3gp": ("video", "video/3gpp"),
    ".pdf": ("document", "application/pdf"),
    ".txt": ("document", "text/plain"),
    ".doc": ("document", "application/msword"),
    ".docx": ("document", "application/vnd.openxmlformats-officedocument"
                          ".wordprocessingml.document"),
    ".xls": ("document", "application/vnd.ms-excel"),
    ".xlsx": ("document", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ".ppt": ("document", "application/vnd.ms-powerpoint"),
    ".pptx": ("document", "application/vnd.openxmlformats-officedocument"
                          ".presentationml.presentation"),
}
MEDIA_MAX_BYTES = {"image": 5 * 1024**2, "video": 16 * 1024**2, "document": 100 * 1024**2}
SOURCES = ("title", "body", "category", "date", "town")  # plus paragraph:N


class RenderError(Exception):
    """The announcement cannot be rendered; ``key``/``values`` name a catalogue message."""

    def __init__(self, key: str, values: dict | None = None, **more: object) -> None:
        values = {**(values or {}), **more}
        super().__init__(key, values)  # both in args: it survives pickling between processes
        self.key, self.values = key, values

    def message(self) -> str:
        return t(self.key, **self.values)


@dataclass(frozen=True)
class Media:
    """The file or URL sent as the template header or with the text."""

    kind: str | None  # image | video | document; None: an unsupported type
    mime: str | None
    path: Path | None  # inside the repository...
    url: str | None  # ...or a public https URL
    source: str  # as written in the front matter


@dataclass(frozen=True)
class Limit:
    label: str
    length: int
    limit: int
    source: str | None = None  # what fills it (title, body...), for the problem's line

    @property
    def ok(self) -> bool:
        return self.length <= self.limit


@dataclass
class Rendered:
    text: str  # the message as text: bold title + body in WhatsApp markup
    template: str | None  # the template name, or None for a text (or media + caption)
    language: str
    parameters: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)  # what fills each parameter
    parameter_names: list[str] = field(default_factory=list)  # empty: positional
    header: Media | None = None
    header_text: str | None = None  # a template's text header, filled in
    header_source: str | None = None
    blocks: list[str] = field(default_factory=list)  # the body's paragraphs, rendered
    notes: list[str] = field(default_factory=list)  # e.g. paragraphs flattened

    def limits(self) -> list[Limit]:
        """Every WhatsApp length limit this message must respect, with its current size."""
        if self.template is None:
            if self.header is not None:
                return [Limit(t("render.limit-caption"), len(self.text), CAPTION_LIMIT)]
            return [Limit(t("render.limit-text"), len(self.text), TEXT_LIMIT)]
        found = []
        if self.header_text is not None:
            found.append(Limit(t("render.limit-header", source=self.header_source),
                               len(self.header_text), HEADER_TEXT_LIMIT, self.header_source))
        found += [
            Limit(t("render.limit-param", n=i, source=src), len(value), PARAM_LIMIT, src)
            for i, (src, value) in enumerate(zip(self.sources, self.parameters, strict=True), 1)
        ]
        total = sum(len(p) for p in self.parameters)
        found.append(Limit(t("render.limit-template-total"), total, TEMPLATE_BODY_LIMIT))
        return found


def markdown_blocks(source: str) -> list[str]:
    """The body as WhatsApp markup, one string per top-level block (paragraph, list...)."""
    writer = _BlockWriter()
    for tok in _MD.parse(source):
        writer.token(tok)
    writer.end_block()
    return [b for b in writer.blocks if b.strip()]


class _BlockWriter:
    """Walks markdown-it's block tokens, keeping the quote depth and list markers."""

    def __init__(self) -> None:
        self.blocks: list[str] = []
        self.lines: list[str] = []
        self.quote = 0
        self.lists: list[list] = []  # [ordered, next number]
        self.pending = ""  # list marker waiting for the item's first line
        self.heading = False

    def token(self, tok: Token) -> None:
        handler = getattr(self, f"_{tok.type}", None)
        if handler is not None:
            handler(tok)
        if tok.level == 0 and tok.nesting <= 0 and tok.block:
            self.end_block()

    def end_block(self) -> None:
        if self.lines:
            self.blocks.append("\n".join(self.lines).rstrip())
            self.lines = []

    def write(self, text: str) -> None:
        indent = " " * len(self.pending) if self.lists else ""
        for i, line in enumerate(text.split("\n")):
            prefix = self.pending if i == 0 and self.pending else (indent if i else "")
            self.lines.append("> " * self.quote + prefix + line)
        self.pending = ""

    def _blockquote_open(self, tok: Token) -> None:
        self.quote += 1

    def _blockquote_close(self, tok: Token) -> None:
        self.quote -= 1

    def _bullet_list_open(self, tok: Token) -> None:
        self.lists.append([False, 1])

    def _ordered_list_open(self, tok: Token) -> None:
        self.lists.append([True, int(tok.attrGet("start") or 1)])

    def _bullet_list_close(self, tok: Token) -> None:
        self.lists.pop()

    _ordered_list_close = _bullet_list_close

    def _list_item_open(self, tok: Token) -> None:
        ordered, number = self.lists[-1]
        self.pending = "   " * (len(self.lists) - 1) + (f"{number}. " if ordered else "- ")
        self.lists[-1][1] += 1

    def _heading_open(self, tok: Token) -> None:
        self.heading = True

    def _heading_close(self, tok: Token) -> None:
        self.heading = False

    def _inline(self, tok: Token) -> None:
        text = _inline(tok.children or [])
        if self.heading and text.strip():
            text = text.strip()
            if not (text.startswith("*") and text.endswith("*")):  # "# **Orari**" once
                text = f"*{text}*"
        self.write(text)

    def _fence(self, tok: Token) -> None:
        self.write(f"```{tok.content.rstrip(chr(10))}```")

    _code_block = _fence

    def _hr(self, tok: Token) -> None:
        self.write("———")


_MARKS = {"strong": "*", "em": "_", "s": "~"}


def _inline(children: list[Token]) -> str:
    out: list[str] = []
    links: list[tuple[int, str]] = []
    for tok in children:
        kind = tok.type
        if kind == "text":
            out.append(tok.content)
        elif kind == "softbreak":
            out.append(" ")
        elif kind == "hardbreak":
            out.append("\n")
        elif kind == "code_inline":
            out.append(f"```{tok.content}```")
        elif kind.endswith(("_open", "_close")) and kind.rsplit("_", 1)[0] in _MARKS:
            out.append(_MARKS[kind.rsplit("_", 1)[0]])
        elif kind == "link_open":
            links.append((len(out), str(tok.attrGet("href") or "")))
        elif kind == "link_close" and links:
            start, href = links.pop()
            label = "".join(out[start:]).strip()
            shown = href.removeprefix("mailto:").removeprefix("tel:")
            if _bare(label) == _bare(shown):  # [comune.it](https://www.comune.it): once
                out[start:] = [shown]
            else:
                out.append(f" ({shown})")
        elif kind == "image":
            alt = tok.content.strip()
            src = str(tok.attrGet("src") or "")
            out.append(f"{alt} ({src})" if alt else src)
        else:
            out.append(tok.content)
    return "".join(out)


def _bare(url: str) -> str:
    url = url.strip().lower()
    for prefix in ("https://", "http://", "www."):
        url = url.removeprefix(prefix)
    return url.rstrip("/")


def flatten(text: str) -> str:
    """A value Meta accepts as a template parameter: no newline, tab or run of spaces.

    Lines are joined with a space after punctuation and with " · " otherwise, so a
    heading or a list item stays readable as its own piece.
    """
    pieces = [WHITESPACE.sub(" ", line).strip() for line in text.split("\n")]
    out = ""
    for piece in filter(None, pieces):
        if out:
            out += " " if out.rstrip("*_~").endswith(PUNCTUATION) else " · "
        out += piece
    return out


def resolve_media(source: str | None, root: Path | None = None) -> Media | None:
    """Where ``media:`` points: an https URL, or a file relative to the repository root."""
    if not source:
        return None
    suffix = Path(source.split("?", 1)[0]).suffix.lower()
    kind, mime = MEDIA_TYPES.get(suffix, (None, None))
    if re.match(r"^[a-z][a-z0-9+.-]*://", source, re.I):
        return Media(kind, mime, None, source, source)
    return Media(kind, mime, (root or Path.cwd()) / source, None, source)


def template_for(announcement: Announcement, settings: Settings) -> str | None:
    return announcement.template or settings.default_template or None


def render(announcement: Announcement, settings: Settings) -> Rendered:
    """What the citizen receives for ``announcement``; RenderError if it cannot be built."""
    blocks = markdown_blocks(announcement.body)
    title = flatten(announcement.title)
    label = lifecycle_label(announcement, settings)
    if label:
        title = f"{label}: {title[len(repeated_label(announcement, settings)):]}"
    text = "\n\n".join([f"*{title}*", *blocks]) if blocks else f"*{title}*"
    header = resolve_media(announcement.media)
    name = template_for(announcement, settings)
    if name is None:
        return Rendered(text=text, template=None, language=settings.language,
                        header=header, blocks=blocks)
    config = settings.templates.get(name)
    if config is None:
        raise RenderError("render.template-unknown", name=name,
                          known=", ".join(sorted(settings.templates)) or "-")
    rendered = Rendered(text=text, template=name, language=config.language,
                        sources=list(config.body), parameter_names=list(config.parameter_names),
                        header=header, blocks=blocks)
    last_paragraph = max((_paragraph_number(s) for s in config.body), default=0)
    for src in config.body:
        raw = _source_value(src, announcement, settings, blocks, title, last_paragraph)
        value = flatten(raw)
        lines = sum(len(b.split("\n")) for b in _source_blocks(src, blocks, last_paragraph))
        if lines > 1:
            rendered.notes.append(t("render.flattened", n=len(rendered.parameters) + 1,
                                    source=src, count=lines))
        rendered.parameters.append(value)
    if config.header == "text":
        rendered.header_source = config.header_text
        rendered.header_text = flatten(_source_value(config.header_text, announcement, settings,
                                                     blocks, title, last_paragraph))
    return rendered


def applicable_labels(announcement: Announcement, settings: Settings) -> dict[str, str]:
    """The lifecycle labels that apply ({"update": "RETTIFICA"}), in the bubble's order."""
    labels = settings.lifecycle_labels
    kinds = ([announcement.status] if announcement.status != "actual" else []) + (
        [announcement.msg_type] if announcement.msg_type != "alert" else [])
    return {kind: getattr(labels, kind) for kind in kinds if getattr(labels, kind)}


def lifecycle_label(announcement: Announcement, settings: Settings) -> str:
    """What the bubble says before the title of a drill, a correction or a withdrawal
    ("ESERCITAZIONE · RETTIFICA"), so no one mistakes it for a new alert; "" otherwise."""
    return " · ".join(applicable_labels(announcement, settings).values())


_LABEL_END = re.compile(r"\s*[:\-–—·.]\s*")


def repeated_label(announcement: Announcement, settings: Settings) -> str:
    """The start of the title that already says the label ("Rettifica: " in "Rettifica:
    orari" for a correction), which the bubble drops rather than print the word twice;
    "" when there is none. The ``title-label`` rule tells staff."""
    title, cut = flatten(announcement.title), 0
    for label in applicable_labels(announcement, settings).values():
        if title[cut:].casefold().startswith(label.casefold()):
            end = _LABEL_END.match(title, cut + len(label))
            if end:
                cut = end.end()
    return title[:cut]


def _paragraph_number(source: str) -> int:
    if source.startswith("paragraph:"):
        number = source.removeprefix("paragraph:")
        if number.isdigit() and int(number) >= 1:
            return int(number)
    return 0


def _source_blocks(src: str, blocks: list[str], last_paragraph: int) -> list[str]:
    """The body blocks a source joins into its parameter."""
    if src == "body":
        return blocks
    number = _paragraph_number(src)
    if number == 0:
        return []
    return blocks[number - 1:] if number == last_paragraph else blocks[number - 1:number]


def check_source(source: str) -> bool:
    return source in SOURCES or _paragraph_number(source) > 0


def _source_value(src: str, announcement: Announcement, settings: Settings,
                  blocks: list[str], title: str, last_paragraph: int) -> str:
    if src == "title":
        return title
    if src == "body" or _paragraph_number(src):
        return join_blocks(_source_blocks(src, blocks, last_paragraph))
    if src == "category":
        return settings.category_labels.of(announcement.category)
    if src == "town":
        return settings.town
    if src == "date":
        start = announcement.effective_publish_at
        return start.astimezone(settings.tz).strftime("%d/%m/%Y") if start else ""
    # the last paragraph parameter carries the rest too (_source_blocks)
    raise RenderError("render.source-unknown", source=src, allowed=", ".join(SOURCES))
