"""Finding personal data in a text: phone numbers, e-mail addresses, codici fiscali, IBANs.

One detector for two uses: the ``personal-data`` policy rule refuses an
announcement that carries them, and :mod:`runner.subscribers.privacy` masks
them in what citizens wrote before anything of it is shown. Each finder yields
where the match is, so a caller can point at it (file:line) or cut it out.

Phone numbers are found from data, not from one regular expression: the
characters people (and word processors) put between the groups of a number
(:data:`SEPARATORS`), the country prefixes (:data:`PREFIXES`), the shapes of an
Italian mobile and landline number (:func:`phone_kind`), and what only looks
like a number (:data:`NOT_PHONES`: dates, times, amounts, protocol numbers,
postal codes, IBANs, web addresses), blanked out before the search.
``tests/announcements/test_personal_data.py`` holds the table of spellings that
must be found and of look-alikes that must not.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

# --- the spellings, as data ------------------------------------------------------------
# What may stand between two groups of digits, each mapped to the one character the
# search sees: spaces of every width, dashes of every length, dots, slashes, brackets.
SEPARATORS = {
    " ": " ", "\u00a0": " ", "\u202f": " ", "\u2007": " ", "\u2009": " ", "\u200a": " ",
    "\u2002": " ", "\u2003": " ", "\u3000": " ", "\t": " ",
    "-": "-", "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-",
    "\u2212": "-", "\ufe63": "-", "\uff0d": "-",
    ".": ".", "\u00b7": ".", "\u2022": ".", "\uff0e": ".",
    "/": "/", "\uff0f": "/", "(": "(", ")": ")", "\uff08": "(", "\uff09": ")",
    "\n": "\n",  # a number wrapped in the source is one line in the bubble
}
# Country prefixes of an Italian number, as digits (a "+" before them is optional).
PREFIXES = ("0039", "39")
# Two-digit area codes; every other one has three or four digits (0721, 035).
TWO_DIGIT_AREAS = ("02", "06")

_DATE = (r"(?:0?[1-9]|[12]\d|3[01])([./-])(?:0?[1-9]|1[0-2])\1(?:\d{4}|\d{2})")
_CODE = r"\d(?:[\d./-]*\d)?"  # a code is written without spaces
_AMOUNT = r"(?:\d{1,3}(?:[. ]\d{3})+|\d+)(?:,\d+)?"
# Words after which a number is a code, not a phone: tax and company codes, public
# tenders, protocol and register numbers, postal and ISTAT codes, bank accounts.
_CODE_WORDS = (
    r"p\.?\s?iva|partita\s+iva|c\.?\s?f\.?|codice(?:\s+[a-z]+)?|cod\.(?:\s*fisc\.?)?|cig|cup|"
    r"prot(?:ocollo)?\.?|n\.\s*reg\.?|reg(?:istro)?\.?|c\.?a\.?p\.?|istat|pratica|fattura|"
    r"determina|delibera|ordinanza|decreto|matricola|iban|conto(?:\s+corrente)?|c/c|abi|cab")
# (what it is, pattern): blanked out before phone numbers are looked for.
NOT_PHONES = [
    ("web address", r"(?i)\b(?:https?://(?!(?:www\.)?(?:wa\.me|api\.whatsapp\.com)/)|www\.)"
                    r"[^\s<>()\[\]]+"),
    ("code after its name", rf"(?i)\b(?:{_CODE_WORDS})\s*(?:n\.|nr\.|num\.|n°|°)?\s*[:.]?\s*"
                            + _CODE),
    ("IBAN", r"\b[A-Z]{2}\d{2}[A-Z0-9]{11,30}\b"),
    ("IBAN", r"\b[A-Z]{2}\s?\d{2}(?:\s?[A-Z]{1,4})?(?:\s?\d){10,30}"),  # IT60 X054 2811 …
    # 02.04.2024, 2/4/24; not the start of 06.12.34.56.78
    ("date", rf"(?<![\d.])(?:{_DATE})(?![\d]|[./-]\d)"),
    # 08.30, 8:30 (a range 08.30-12.30 is two); not the start of 06.12.34.56
    ("time", r"(?<![\d.:])(?:[01]?\d|2[0-4])[.:][0-5]\d(?![\d]|[.:]\d)"),
    ("number/year", r"(?<![\d/])\d{1,7}/(?:19|20)\d{2}(?![\d/])"),  # 45/2024, 0721/2024
    ("thousands", r"(?<![\d.])[1-9]\d{0,2}(?:\.\d{3})+(?:,\d+)?(?![\d]|\.\d)"),  # 3.500.000
    ("amount", r"(?i)(?:€|\beur(?:o)?\b)\s*" + _AMOUNT),
    ("amount", r"(?i)" + _AMOUNT + r"\s*(?:€|\beur(?:o)?\b)"),
]
_NOT_PHONES = [re.compile(pattern) for _, pattern in NOT_PHONES]
_BLANK = "#"
# The separators the search does not see as they are (most texts have none: one scan).
_ODD = re.compile("[" + re.escape("".join(c for c, to in SEPARATORS.items() if c != to)) + "]")
_OTHER_DIGIT = re.compile(r"(?![0-9])\d")  # a decimal digit of another script
# Six digits close together: without them there is no phone number to look for.
_ENOUGH_DIGITS = re.compile(r"\d(?:\D{0,3}\d){5}")

# A run of digit groups and separators, maybe after "+" or "(": cut into numbers below.
_CANDIDATE = re.compile(r"(?<!\w)(?<!\d[.,])[(+]{0,2}\d(?:\d|[ .\-/()\n]{1,3}\+?(?=\d))*")
_GROUP = re.compile(r"\d+")
_MAX_GROUPS = 12  # "3 4 7 1 2 3 4 5 6 7": one digit at a time


def canonical(text: str) -> str:
    """``text`` with every digit as 0-9 and every separator as one of `` .-/()``, the
    same length, so an offset found here is an offset in ``text``."""
    text = _ODD.sub(lambda m: SEPARATORS[m.group()], text)
    return _OTHER_DIGIT.sub(lambda m: str(unicodedata.decimal(m.group())), text)


def _windows(text: str) -> list[tuple[int, int]]:
    """Where a look-alike could touch a run of digits that might be a number: from the
    start of its web address or a code's name (40 characters before it, back to a space)
    to a currency after it, cut at spaces so that no pattern sees a different edge."""
    found: list[tuple[int, int]] = []
    for match in _CANDIDATE.finditer(text):
        if not _ENOUGH_DIGITS.search(match.group()):
            continue
        start, end = match.span()
        left = min(start - 40, _space_before(text, start))
        left = _space_before(text, max(left, 0))
        right = text.find(" ", min(len(text), end + 20))
        right = len(text) if right < 0 else right
        if found and left <= found[-1][1]:
            found[-1] = (found[-1][0], right)
        else:
            found.append((left, right))
    return found


def _space_before(text: str, at: int) -> int:
    return max(text.rfind(" ", 0, at), text.rfind("\n", 0, at)) + 1


def _blanked(text: str) -> str:
    """``text`` with everything :data:`NOT_PHONES` lists replaced by ``#`` (looked for
    only around runs of digits: a long text is mostly words)."""
    spans = sorted(m.span() for left, right in _windows(text)
                   for pattern in _NOT_PHONES for m in pattern.finditer(text, left, right))
    if not spans:
        return text
    out, position = [], 0
    for start, end in spans:
        if end > position:
            start = max(start, position)
            out += [text[position:start], _BLANK * (end - start)]
            position = end
    return "".join([*out, text[position:]])


# --- what a number is --------------------------------------------------------------------
def national_number(number: str) -> str:
    """Digits of an Italian number without the +39 / 0039 prefix."""
    digits = re.sub(r"\D", "", canonical(number))
    if digits.startswith("0039"):
        return digits[4:]
    if digits.startswith("39") and len(digits) >= 11:
        return digits[2:]
    return digits


def _national_kind(groups: list[str]) -> str | None:
    """``mobile``/``landline`` when the digit groups (no prefix) read as an Italian number."""
    digits = "".join(groups)
    single = all(len(g) == 1 for g in groups)  # spelled one digit at a time
    rest_ok = single or all(len(g) >= 2 for g in groups[1:])
    # The operator's or the area's code is written whole: "347 …", "0721 …", not "35010 …".
    whole_code = len(groups) == 1 or single or len(groups[0]) in (3, 4)
    if digits[:1] == "3" and 9 <= len(digits) <= 10:
        return "mobile" if rest_ok and whole_code else None
    if re.match(r"0[1-9]", digits) and 6 <= len(digits) <= 11 and rest_ok:
        if whole_code:
            return "landline"
        if groups[0] in TWO_DIGIT_AREAS and len(digits) >= 9:
            return "landline"
    return None


def _drop(groups: list[str], count: int) -> list[str]:
    """The groups without their first ``count`` digits (a prefix written apart or not)."""
    out = list(groups)
    while count and out:
        if len(out[0]) <= count:
            count -= len(out[0])
            out.pop(0)
        else:
            out[0] = out[0][count:]
            count = 0
    return out


def _kind_of_groups(groups: list[str], plus: bool) -> str | None:
    digits = "".join(groups)
    if not plus and not digits.startswith("00"):
        kind = _national_kind(groups)
        if kind:
            return kind
    for prefix in PREFIXES:
        if digits.startswith(prefix) and (plus or prefix != "39" or len(digits) >= 11):
            rest = _drop(groups, len(prefix))
            return _national_kind(rest) if rest else None
    # Another country's number: "+44 7700 900123", "0044 …"
    international = digits[2:] if digits.startswith("00") and not plus else digits
    if (plus or digits.startswith("00")) and international[:1] not in ("", "0") \
            and 8 <= len(international) <= 15:
        return "mobile"
    return None


def phone_kind(candidate: str) -> str | None:
    """``mobile``/``landline`` when all of ``candidate`` reads as a phone number."""
    text = canonical(candidate).strip()
    if _blanked(text) != text:
        return None
    return _kind_of_groups(_GROUP.findall(text), text.lstrip("(").startswith("+"))


def find_phones(text: str) -> Iterator[tuple[int, str, str]]:
    """(offset, candidate, kind) of every phone number in ``text``: in each run of digits,
    the longest stretch of whole groups that reads as a number, left to right ("ore 10
    0721 123456" is the hour, then a number; two numbers side by side are two)."""
    searched = canonical(text)
    if not _ENOUGH_DIGITS.search(searched):
        return
    searched = _blanked(searched)
    for match in _CANDIDATE.finditer(searched):
        run, base = match.group(0), match.start()
        groups = list(_GROUP.finditer(run))
        digits = [0]  # digits[k]: how many in the first k groups
        for g in groups:
            digits.append(digits[-1] + len(g.group(0)))
        i = 0
        while i < len(groups):
            found = None
            first = groups[i].start()
            plus = run.rfind("+", max(0, first - 2), first)  # "+39", "(+39"
            for j in range(min(len(groups), i + _MAX_GROUPS), i, -1):
                if not 6 <= digits[j] - digits[i] <= 15:  # no number is shorter or longer
                    continue
                kind = _kind_of_groups([g.group(0) for g in groups[i:j]], plus >= 0)
                if kind:
                    start = plus if plus >= 0 else first
                    end = groups[j - 1].end()
                    if start and run[start - 1] == "(" and ")" in run[start:end]:
                        start -= 1  # "(347) 1234567", "(+39) …"; not "Rossi (347 1234567)"
                    found = (start, end, kind)
                    break
            if found is None:
                i += 1
                continue
            start, end, kind = found
            yield base + start, text[base + start:base + end], kind
            i = j


# --- the rest ----------------------------------------------------------------------------
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@((?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,})")
CODICE_FISCALE = re.compile(
    r"(?i)\b[A-Z]{6}[0-9LMNPQRSTUV]{2}[ABCDEHLMPRST][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]\b")
_IBAN = re.compile(r"\b([A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30})\b")


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
