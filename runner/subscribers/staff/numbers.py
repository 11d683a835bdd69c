"""Phone numbers as people write them, read into the form the project keeps a citizen's
number in: the international number's digits, country code first, no "+" (what Meta
sends as ``wa_id``, what ``test_recipients`` hold: ``393471234567``).

Italian numbers are read in every spelling: with +39, 0039 or 39 in front or with no
prefix at all (a mobile starts with 3, a landline with 0, whose 0 is part of the
number), and whatever is written between the digits (spaces of every width, the
no-break space of spreadsheets, dots, dashes, slashes, brackets). A foreign number
keeps its country code, and needs one (+41..., 0041...): without it, it cannot be
told from a mistyped Italian number, so it is refused with its reason, never guessed.

Only the length of a number is checked (Italian: a mobile is 9 or 10 digits, a
landline 6 to 11; foreign: E.164's 8 to 15 with the country code), not whether its
operator's range exists: a number that looks right but reaches no WhatsApp account
is recorded as such by Meta's answer (131026) when the first message goes.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

ITALY = "39"
# What people put between digits: spaces of every width (the no-break space of
# spreadsheets and phones), dots, dashes of every length, slashes, brackets, and the
# invisible direction marks a phone wraps a copied number in.
_SEPARATORS = re.compile(
    r"[\s\u00a0\u2007\u202f.\-\u2010-\u2015\u2212/()\[\]"
    r"\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]+")
# '+44 (0)20 7946 0958': the 0 written in brackets is dialled only inside that country.
_TRUNK = re.compile(r"\(\s*0\s*\)")
_DIGITS = re.compile(r"[0-9]+")
# Italian numbers without the country code: a mobile is 3 and 8 or 9 digits more, a
# landline 0 (the area code's) and 5 to 10 more.
_MOBILE = re.compile(r"3[0-9]{8,9}")
_LANDLINE = re.compile(r"0[0-9]{5,10}")
SHORTEST, LONGEST = 8, 15  # digits of an international number, country code included

# Why a text is not a number (messages: import.problem.<key>).
PROBLEMS = ("empty", "letters", "country", "mobile", "landline", "italian", "short", "long",
            "no-country")


@dataclass(frozen=True, slots=True)
class Reading:
    """A text read as a number: ``number`` (digits form), or ``problem`` (a key of
    PROBLEMS) with how many ``digits`` it had, for the message."""

    number: str | None
    problem: str | None = None
    digits: int = 0


def read_number(text: str) -> Reading:
    """The digits form of a phone number as written, or why it is none."""
    raw = text.strip()
    if not raw.isascii():  # full-width digits and plus signs, from some phones
        raw = unicodedata.normalize("NFKC", raw)
    if raw[:4].lower() == "tel:":  # vCard 4.0 and some 3.0 writers: a tel: URI
        raw = raw[4:]
    compact = _SEPARATORS.sub("", _trunk(raw))
    if not compact:
        return Reading(None, "empty")
    plus = compact.startswith("+")
    body = compact[1:] if plus else compact
    if not _DIGITS.fullmatch(body):
        return Reading(None, "letters", sum(c.isdigit() for c in body))
    if plus or body.startswith("00"):
        return _international(body if plus else body[2:])
    if body.startswith("0"):
        return _italian(body)
    if _MOBILE.fullmatch(body):
        return Reading(ITALY + body)
    if body.startswith(ITALY) and _national(body[2:]):
        return Reading(body)  # 39 in front, without + or 00
    return Reading(None, "mobile" if body.startswith("3") else "no-country", len(body))


def _international(digits: str) -> Reading:
    """Digits after + or 00: the country code comes first."""
    if not digits or digits.startswith("0"):
        return Reading(None, "country", len(digits))
    if digits.startswith(ITALY):
        return Reading(digits) if _national(digits[2:]) else Reading(None, "italian", len(digits))
    if len(digits) < SHORTEST:
        return Reading(None, "short", len(digits))
    if len(digits) > LONGEST:
        return Reading(None, "long", len(digits))
    return Reading(digits)


def _italian(national: str) -> Reading:
    if _national(national):
        return Reading(ITALY + national)
    return Reading(None, "landline" if national.startswith("0") else "mobile", len(national))


def _national(national: str) -> bool:
    """An Italian number as dialled in Italy: a mobile or a landline of the right length."""
    return bool(_MOBILE.fullmatch(national) or _LANDLINE.fullmatch(national))


def _trunk(raw: str) -> str:
    """``(0)`` dropped after a foreign country code; kept as ``0`` otherwise (an
    Italian number's 0 belongs to it, whether +39 is written or not)."""
    match = _TRUNK.search(raw)
    if match is None:
        return raw
    head = _SEPARATORS.sub("", raw[:match.start()])
    code = head[1:] if head.startswith("+") else head[2:] if head.startswith("00") else None
    keep = "0" if code is None or code.startswith(ITALY) else ""
    return raw[:match.start()] + keep + raw[match.end():]
