"""Text from an announcement file, made inert where GitHub renders Markdown.

The pull request's comment and the job summary show titles, file names, ids and
problem messages that quote what a file says. A file is written by whoever opens
the pull request: a title such as ``@octocat <img src=x onerror=…> [clicca](https://…)``
must read as those characters, never mention someone, load an image, or become a
link under the bot's name. So:

- :func:`text` for running text (a heading, a table cell, never at a line's start):
  the Markdown punctuation that makes emphasis, code, links, tables and math
  backslash-escaped, ``& < >`` as entities, and an invisible word joiner (U+2060)
  after ``@`` and ``#`` and inside ``://`` and ``www.``, which GitHub would otherwise
  turn into mentions, issue links and links after Markdown is rendered;
- :func:`code` for a name shown as code (an id, a file name): a code span whose
  backtick fence is longer than any run inside it;
- :func:`html` for text inside raw HTML (``<summary>``).

Control characters (a newline in a file name would end a table row) become spaces.
The bubble itself is shown in a fenced block, where nothing is interpreted, so it
stays readable as the citizen will read it.
"""

from __future__ import annotations

import html as _html
import re

JOINER = "\u2060"  # WORD JOINER: invisible, and breaks what GitHub links after rendering
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")
_MARKDOWN = re.compile(r"([\\`*_\[\]|~$])")
_LINKERS = re.compile(r"(?i)([@#])|(:)(//)|\b(www)(\.)")


def _linkers(value: str) -> str:
    def joined(match: re.Match) -> str:
        return JOINER.join(part for part in match.groups() if part) + (
            JOINER if match.group(1) else "")

    return _LINKERS.sub(joined, value)


def text(value: object) -> str:
    """``value`` as literal text in Markdown (a heading, a paragraph, a table cell)."""
    plain = _linkers(_CONTROL.sub(" ", str(value)))
    return _html.escape(_MARKDOWN.sub(r"\\\1", plain), quote=False)


def code(value: object) -> str:
    """``value`` as an inline code span (safe in a table cell too)."""
    plain = _CONTROL.sub(" ", str(value)).replace("|", "\\|")
    fence = "`" * (max((len(run) for run in re.findall(r"`+", plain)), default=0) + 1)
    pad = " " if plain.startswith("`") or plain.endswith("`") else ""
    return f"{fence}{pad}{plain}{pad}{fence}"


def html(value: object) -> str:
    """``value`` as text inside raw HTML (``<summary><code>…</code></summary>``)."""
    return _linkers(_html.escape(_CONTROL.sub(" ", str(value)), quote=True))
