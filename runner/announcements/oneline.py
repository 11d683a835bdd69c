"""Rendered blocks on one line: how one template parameter carries paragraphs.

Meta refuses a newline, a tab or a run of spaces in a parameter, so a body with
paragraphs, headings and lists must be written on one line, the way people do.
"""

from __future__ import annotations

import re

WHITESPACE = re.compile(r"\s+")
PUNCTUATION = tuple(".,;:!?…")
_ITEM = re.compile(r"^( *)(?:- |(\d+)\. )(.*)$")


def join_blocks(blocks: list[str]) -> str:
    """Rendered blocks on one line, readable: how a parameter carries paragraphs.

    ``*Come pagare*`` and a numbered list become ``*Come pagare*: 1) con pagoPA;
    2) in banca.``; paragraphs follow each other after their own punctuation, and a
    paragraph without any gets a full stop.
    """
    out = ""
    after_heading = False
    for block in blocks:
        piece, is_list = _one_line(block)
        if not piece:
            continue
        if out:
            ended = out.rstrip("*_~").endswith(PUNCTUATION)
            # "Orari: lunedì 9-12; giovedì 15-17." A heading or a list leads with a colon.
            out += " " if ended else (": " if after_heading or is_list else ". ")
            if is_list and out.rstrip("*_~ ").endswith((".", "!", "?")):
                piece = piece[:1].upper() + piece[1:]  # a new sentence
        out += piece
        if is_list and not piece.rstrip("*_~").endswith(PUNCTUATION):
            out += "."
        after_heading = "\n" not in block and block.startswith("*") and block.endswith("*")
    return out


def _one_line(block: str) -> tuple[str, bool]:
    """One block on one line, and whether it was a list."""
    lines = block.split("\n")
    if lines[0].startswith("> "):
        text = " ".join(line.removeprefix("> ").strip() for line in lines)
        return f"«{WHITESPACE.sub(' ', text).strip()}»", False
    if not _ITEM.match(lines[0]) or lines[0].startswith(" "):
        return WHITESPACE.sub(" ", " ".join(lines)).strip(), False
    items: list[str] = []
    for line in lines:
        match = _ITEM.match(line)
        if match:
            number, text = match.group(2), match.group(3)
            items.append(f"{number}) {text}" if number else text)
        elif items:
            items[-1] += " " + line.strip()
    joined = "; ".join(WHITESPACE.sub(" ", i).strip().rstrip(";") for i in items)
    return joined, True
