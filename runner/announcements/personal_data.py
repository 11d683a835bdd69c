"""Finding personal data in a text: phone numbers, e-mail addresses, codici fiscali, IBANs.

One detector for two uses: the ``personal-data`` policy rule refuses an
announcement that carries them, and :mod:`runner.subscribers.privacy` masks
them in what citizens wrote before anything of it is shown. Each finder yields
where the match is, so a caller can point at it (file:line) or cut it out.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

_PHONE = re.compile(r"(?<![\w.,/+-])(?:\+|00)?\d[\d .\-/]{4,}\d(?![\w])")
_DATE_LIKE = re.compile(r"^(?:\d{1,2}[./-]\d{1,2}[./-]\d{2,4}|\d{4}-\d{2}-\d{2})$")
_THOUSANDS = re.compile(r"^\d{1,3}(?:\.\d{3})+$")
_NOT_A_PHONE_BEFORE = re.compile(
    r"(?i)(?:p\.?\s?iva|partita\s+iva|c\.?\s?f\.?|codice\s+fiscale|cod\.\s*fisc\.?|cig|cup|"
    r"prot(?:ocollo)?\.?(?:\s*n\.?)?|n\.\s*reg\.?)\s*[:.]?\s*$")
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@((?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,})")
CODICE_FISCALE = re.compile(
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


def find_phones(text: str) -> Iterator[tuple[int, str, str]]:
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


def find_codici_fiscali(text: str) -> Iterator[re.Match]:
    """Codici fiscali of people (a company's is all digits, and public)."""
    for match in CODICE_FISCALE.finditer(text):
        if any(c.isdigit() for c in match.group(0)):
            yield match


def _iban_valid(iban: str) -> bool:
    compact = iban.replace(" ", "")
    if compact.startswith("IT"):
        return len(compact) == 27
    digits = "".join(str(int(c, 36)) for c in compact[4:] + compact[:4])
    return int(digits) % 97 == 1


def find_ibans(text: str) -> Iterator[re.Match]:
    for match in _IBAN.finditer(text):
        if _iban_valid(match.group(1)):
            yield match


def find_personal(text: str) -> list[tuple[int, int, str]]:
    """(start, end, kind) of everything personal in ``text``, in order and never
    overlapping (the earlier, then the longer match wins); kind is ``phone``,
    ``email``, ``codice-fiscale`` or ``iban``."""
    found = [(m.start(), m.end(), "email") for m in EMAIL.finditer(text)]
    found += [(m.start(), m.end(), "codice-fiscale") for m in find_codici_fiscali(text)]
    found += [(m.start(), m.end(), "iban") for m in find_ibans(text)]
    found += [(start, start + len(number), "phone") for start, number, _ in find_phones(text)]
    kept: list[tuple[int, int, str]] = []
    for start, end, kind in sorted(found, key=lambda f: (f[0], -f[1])):
        if not kept or start >= kept[-1][1]:
            kept.append((start, end, kind))
    return kept
