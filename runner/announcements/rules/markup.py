"""Rules about Markdown that cannot reach a WhatsApp bubble: tables, raw HTML and
headings deeper than the bubble can show (it has bold, nothing bigger).

They parse the body with tables and HTML switched on, so that what the renderer
would pass through as literal text (``| a | b |``, ``<b>``) is found at its line.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from markdown_it import MarkdownIt

from .registry import problem, rule

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ..model import Announcement
    from ..problems import Problem
    from .context import Context

# Headings of level 1 and 2 become one bold line; a third level would look the same,
# so the structure the writer meant is lost.
MAX_HEADING = 2
_PARSER = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
_TAG = re.compile(r"</?([A-Za-z][A-Za-z0-9-]*)")


@rule("markup", scope="content")
def whatsapp_markup(ann: Announcement, ctx: Context) -> Iterator[Problem]:
    tokens = _PARSER.parse(ann.body)
    for tok in tokens:
        line = ann.body_line + (tok.map[0] if tok.map else 0)
        if tok.type == "table_open":
            yield problem(ann, "markup", "markup-table", line)
        elif tok.type == "heading_open" and int(tok.tag[1:]) > MAX_HEADING:
            level = int(tok.tag[1:])
            yield problem(ann, "markup", "markup-heading", line, level=level,
                          marks="#" * level, max="#" * MAX_HEADING)
        elif tok.type == "html_block":
            yield problem(ann, "markup", "markup-html", line, tag=_tag(tok.content))
        elif tok.type == "inline":
            for child in tok.children or []:
                if child.type == "html_inline" and not child.content.startswith("</"):
                    yield problem(ann, "markup", "markup-html", line, tag=_tag(child.content))


def _tag(html: str) -> str:
    match = _TAG.search(html)
    return f"<{match.group(1)}>" if match else html.strip()[:20]
