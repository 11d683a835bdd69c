"""The text citizens received (WhatsApp markup) as HTML: for the archive's pages and,
in the tag subset Telegram accepts, for the channel.

Input is :func:`runner.announcements.render.render`'s output, never the Markdown
source, so every channel shows what WhatsApp showed: ``*bold*``, ``_italic_``,
``~strike~``, ```` ```mono``` ````, ``- `` / ``1. `` lists (three spaces per level),
``> `` quotes, links written ``label (https://...)``. Everything is escaped first;
only the tags made here reach the output.
"""

from __future__ import annotations

import html
import re

# WhatsApp's rule: a marker opens before a non-space and closes after one, and is
# not glued to a word on its outer side (so snake_case_names stay as they are).
_MARK = r"(?<![\w{m}]){m}(?=\S)(.+?)(?<=\S){m}(?![\w{m}])"
_INLINE = [(re.compile(_MARK.format(m=re.escape(mark))), tag)
           for mark, tag in (("*", "strong"), ("_", "em"), ("~", "s"))]
_CODE = re.compile(r"```(.+?)```", re.S)
_URL = re.compile(r"\bhttps?://[^\s<>\"]+")
_TRAILING = ".,;:!?)»"
_ITEM = re.compile(r"^( *)(- |\d+\. )(.*)$")
_HR = "———"

# Telegram's parse_mode=HTML knows b/i/s/code/pre/a/blockquote and no block tags.
TELEGRAM_TAGS = {"strong": "b", "em": "i", "s": "s"}


def inline(text: str, tags: dict[str, str] | None = None) -> str:
    """One line or paragraph: escaped, with marks, monospace and links as tags."""
    codes: list[str] = []

    def keep(match: re.Match) -> str:  # code is shown as typed: no marks inside
        codes.append(match.group(1))
        return f"\x00{len(codes) - 1}\x00"

    out = html.escape(_CODE.sub(keep, text), quote=False)
    out = _URL.sub(_link, out)
    for pattern, tag in _INLINE:
        name = (tags or {}).get(tag, tag)
        out = pattern.sub(lambda m, n=name: f"<{n}>{m.group(1)}</{n}>", out)
    return re.sub("\x00(\\d+)\x00",
                  lambda m: f"<code>{html.escape(codes[int(m.group(1))], quote=False)}</code>",
                  out)


def _link(match: re.Match) -> str:
    url = match.group(0)
    kept = url.rstrip(_TRAILING)
    if url.endswith(")") and kept.count("(") > kept.count(")"):  # a (balanced) URL
        kept += ")"
    rest = url[len(kept):]
    return f'<a href="{kept.replace(chr(34), "&quot;")}">{kept}</a>{rest}'


def page_html(blocks: list[str]) -> str:
    """The body's blocks as HTML elements: paragraphs, lists, quotes, code, rules."""
    return "\n".join(_block(block) for block in blocks)


def _block(block: str) -> str:
    lines = block.split("\n")
    if all(line.startswith(">") for line in lines):
        inner = "\n".join(line[2:] if line.startswith("> ") else line[1:] for line in lines)
        return f"<blockquote>{page_html([b for b in inner.split(chr(10) * 2) if b])}</blockquote>"
    if block.startswith("```") and block.endswith("```") and len(block) > 6:
        return f"<pre><code>{html.escape(block[3:-3], quote=False)}</code></pre>"
    if block == _HR:
        return "<hr>"
    if _ITEM.match(lines[0]):
        return _list(lines)
    return "<p>" + "<br>\n".join(inline(line) for line in lines) + "</p>"


def _list(lines: list[str]) -> str:
    """Nested lists from indentation (render writes three spaces per level)."""
    items: list[tuple[int, str, str]] = []  # (depth, marker, text)
    for line in lines:
        match = _ITEM.match(line)
        if match:
            items.append((len(match.group(1)) // 3, match.group(2), match.group(3)))
        elif items:  # a continuation line of the item above
            depth, marker, text = items[-1]
            items[-1] = (depth, marker, f"{text}\n{line.strip()}")
    out, open_tags = [], []
    for depth, marker, text in items:
        tag = "ul" if marker == "- " else "ol"
        while len(open_tags) > depth + 1:
            out.append(f"</li></{open_tags.pop()}>")
        if len(open_tags) == depth + 1:
            out.append("</li>")
        while len(open_tags) < depth + 1:
            start = marker[:-2] if tag == "ol" and marker[:-2] != "1" else None
            out.append(f'<{tag} start="{start}">' if start else f"<{tag}>")
            open_tags.append(tag)
        out.append("<li>" + "<br>".join(inline(part) for part in text.split("\n")))
    while open_tags:
        out.append(f"</li></{open_tags.pop()}>")
    return "".join(out)


def telegram_html(title: str, blocks: list[str]) -> str:
    """The message for Telegram (parse_mode=HTML): the bold title, then the blocks, with
    lists and quotes kept as WhatsApp shows them (Telegram has no list tags)."""
    parts = [f"<b>{inline(title, TELEGRAM_TAGS)}</b>"]
    for block in blocks:
        lines = block.split("\n")
        if all(line.startswith(">") for line in lines):
            inner = "\n".join(inline(line.lstrip(">").lstrip(), TELEGRAM_TAGS) for line in lines)
            parts.append(f"<blockquote>{inner}</blockquote>")
        elif block.startswith("```") and block.endswith("```") and len(block) > 6:
            parts.append(f"<pre>{html.escape(block[3:-3], quote=False)}</pre>")
        else:
            parts.append("\n".join(inline(line, TELEGRAM_TAGS) for line in lines))
    return "\n\n".join(parts)


def plain(blocks: list[str]) -> str:
    """The blocks as plain text (CAP's description): marks kept, as WhatsApp users read."""
    return "\n\n".join(blocks)
