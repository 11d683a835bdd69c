"""Rules about what an announcement says: links to allowed sites only, no personal data
(found by :mod:`runner.announcements.personal_data`)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ..model import Announcement
from ..personal_data import EMAIL, find_codici_fiscali, find_ibans, find_phones, national_number
from .registry import problem, rule

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ..model import Announcement
    from ..problems import Problem
    from .context import Context

# --- links -----------------------------------------------------------------------------
_URL = re.compile(r"(?i)\b(?:https?://|www\.)[^\s<>()\[\]\"'`]+")
# WhatsApp also makes a link of a bare "name.it/page": domains under the endings a
# citizen meets (not "Sig.ra" or "modulo.pdf"); not after "@", where it is an e-mail.
_BARE = re.compile(
    r"(?i)(?<![@\w.-])(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+"
    r"(?:it|eu|com|org|net|info|gov|edu|io|me|ly|gl|app|link|online|site|biz)"
    r"(?![\w-])(?:/[^\s<>()\[\]\"'`]*)?")
_MD_HREF = re.compile(r"\]\(\s*<?([^)\s>]*)")
_TRAILING = ".,;:!?*_~"


def domain_allowed(host: str, domains: list[str]) -> bool:
    host = host.lower().rstrip(".")
    return any(host == d.lower() or host.endswith("." + d.lower()) for d in domains)


@rule("link-domain", scope="content")
def links_allowed(ann: Announcement, ctx: Context) -> Iterator[Problem]:
    domains = ctx.settings.link_domains()
    for text, base in _texts(ann):
        for start, url in _links(text):
            full = url if "://" in url else "https://" + url
            host = urlsplit(full).hostname or ""
            if not domain_allowed(host, domains):
                line, col = _position(text, start, base)
                yield problem(ann, "link-domain", "link-domain", line, col, url=url,
                              host=host, allowed=", ".join(domains))
        for match in _MD_HREF.finditer(text):
            href = match.group(1)
            if not re.match(r"(?i)^(?:https?://|mailto:|tel:)", href):
                line, col = _position(text, match.start(1), base)
                yield problem(ann, "link-domain", "link-relative", line, col, href=href)


def _links(text: str) -> Iterator[tuple[int, str]]:
    """(offset, address) of every link in the text: full, www. and bare domains."""
    taken: list[tuple[int, int]] = []
    for match in _URL.finditer(text):
        taken.append(match.span())
        yield match.start(), match.group(0).rstrip(_TRAILING)
    for match in _BARE.finditer(text):
        if not any(a <= match.start() < b for a, b in taken):
            yield match.start(), match.group(0).rstrip(_TRAILING)


def _texts(ann: Announcement) -> Iterator[tuple[str, int]]:
    """The texts anyone reads, with the line where each starts: the instruction
    too, which the public CAP feed carries."""
    yield ann.title, ann.line("title")
    if ann.instruction:
        yield ann.instruction, ann.line("instruction")
    yield ann.body, ann.body_line


def _position(text: str, offset: int, base_line: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset)
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return base_line + line, col


# --- personal data ---------------------------------------------------------------------
@rule("personal-data", scope="content")
def personal_data(ann: Announcement, ctx: Context) -> Iterator[Problem]:
    settings = ctx.settings
    allowed_numbers = {national_number(n) for n in settings.allowed_phone_numbers}
    domains = settings.link_domains()
    for text, base in _texts(ann):
        for offset, number, kind in find_phones(text):
            if national_number(number) not in allowed_numbers:
                line, col = _position(text, offset, base)
                yield problem(ann, "personal-data", f"phone-{kind}", line, col)
        for match in EMAIL.finditer(text):
            if not domain_allowed(match.group(1), domains):
                line, col = _position(text, match.start(), base)
                yield problem(ann, "personal-data", "email", line, col,
                              domain=match.group(1), allowed=", ".join(domains))
        for match in find_codici_fiscali(text):
            line, col = _position(text, match.start(), base)
            yield problem(ann, "personal-data", "codice-fiscale", line, col)
        for match in find_ibans(text):
            line, col = _position(text, match.start(), base)
            yield problem(ann, "personal-data", "iban", line, col)
