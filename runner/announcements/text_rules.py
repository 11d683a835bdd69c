"""Rules about what an announcement says: links to allowed sites only, no personal data."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from .model import Announcement
from .policy import problem, rule

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
def links_allowed(ann, ctx):
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


def _links(text: str):
    """(offset, address) of every link in the text: full, www. and bare domains."""
    taken = []
    for match in _URL.finditer(text):
        taken.append(match.span())
        yield match.start(), match.group(0).rstrip(_TRAILING)
    for match in _BARE.finditer(text):
        if not any(a <= match.start() < b for a, b in taken):
            yield match.start(), match.group(0).rstrip(_TRAILING)


def _texts(ann: Announcement):
    """The texts a citizen reads, with the line where each starts."""
    yield ann.title, ann.line("title")
    yield ann.body, ann.body_line


def _position(text: str, offset: int, base_line: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset)
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return base_line + line, col


# --- personal data ---------------------------------------------------------------------
_PHONE = re.compile(r"(?<![\w.,/+-])(?:\+|00)?\d[\d .\-/]{4,}\d(?![\w])")
_DATE_LIKE = re.compile(r"^(?:\d{1,2}[./-]\d{1,2}[./-]\d{2,4}|\d{4}-\d{2}-\d{2})$")
_THOUSANDS = re.compile(r"^\d{1,3}(?:\.\d{3})+$")
_NOT_A_PHONE_BEFORE = re.compile(
    r"(?i)(?:p\.?\s?iva|partita\s+iva|c\.?\s?f\.?|codice\s+fiscale|cod\.\s*fisc\.?|cig|cup|"
    r"prot(?:ocollo)?\.?(?:\s*n\.?)?|n\.\s*reg\.?)\s*[:.]?\s*$")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@((?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,})")
_CF = re.compile(
    r"(?i)\b[A-Z]{6}[0-9LMNPQRSTUV]{2}[ABCDEHLMPRST][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]\b")
_IBAN = re.compile(r"\b([A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30})\b")


def national_number(number: str) -> str:
    """Digits of an Italian number without the +39 / 0039 prefix."""
    digits = re.sub(r"\D", "", number)
    if digits.startswith("0039"):
        return digits[4:]
    if digits.startswith("39") and len(digits) >= 11:
        return digits[2:]
    return digits


def phone_kind(candidate: str) -> str | None:
    """``mobile``/``landline`` when ``candidate`` reads as an Italian phone number."""
    text = candidate.strip()
    if _DATE_LIKE.match(text) or _THOUSANDS.match(text):
        return None
    # "orari 08 12 14 18": several one- or two-digit groups are a list, not a number.
    if sum(len(group) <= 2 for group in re.split(r"[ .\-/]+", text.lstrip("+"))) > 1:
        return None
    digits = re.sub(r"\D", "", text)
    if text.startswith("+") and not digits.startswith("39"):
        return "mobile" if 8 <= len(digits) <= 15 else None  # a foreign number
    national = national_number(text)
    if national.startswith("3") and 9 <= len(national) <= 10:
        return "mobile"
    if re.match(r"^0[1-9]", national) and 6 <= len(national) <= 11:
        return "landline"
    return None


def find_phones(text: str):
    """(offset, candidate, kind) of every phone number in ``text``."""
    for match in _PHONE.finditer(text):
        candidate = match.group(0)
        if _NOT_A_PHONE_BEFORE.search(text, max(0, match.start() - 30), match.start()):
            continue
        # "ore 10 0721 123456": drop leading groups until what is left reads as a number.
        parts = candidate.split(" ")
        for i in range(len(parts)):
            group = " ".join(parts[i:])
            kind = phone_kind(group)
            if kind:
                yield match.end() - len(group), group, kind
                break


def _iban_valid(iban: str) -> bool:
    compact = iban.replace(" ", "")
    if compact.startswith("IT"):
        return len(compact) == 27
    digits = "".join(str(int(c, 36)) for c in compact[4:] + compact[:4])
    return int(digits) % 97 == 1


@rule("personal-data", scope="content")
def personal_data(ann, ctx):
    settings = ctx.settings
    allowed_numbers = {national_number(n) for n in settings.allowed_phone_numbers}
    domains = settings.link_domains()
    for text, base in _texts(ann):
        for offset, number, kind in find_phones(text):
            if national_number(number) not in allowed_numbers:
                line, col = _position(text, offset, base)
                yield problem(ann, "personal-data", f"phone-{kind}", line, col)
        for match in _EMAIL.finditer(text):
            if not domain_allowed(match.group(1), domains):
                line, col = _position(text, match.start(), base)
                yield problem(ann, "personal-data", "email", line, col,
                              domain=match.group(1), allowed=", ".join(domains))
        for match in _CF.finditer(text):
            if any(c.isdigit() for c in match.group(0)):
                line, col = _position(text, match.start(), base)
                yield problem(ann, "personal-data", "codice-fiscale", line, col)
        for match in _IBAN.finditer(text):
            if _iban_valid(match.group(1)):
                line, col = _position(text, match.start(), base)
                yield problem(ann, "personal-data", "iban", line, col)
