"""Citizens' phone numbers and what they write are personal data: how they are
masked and pseudonymised.

Anything printed, logged, reported or committed refers to a citizen by a
masked number or by a pseudonymous ``citizen_id``, never by the raw number,
and shows what a citizen wrote only as its :func:`masked_form`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from .lifecycle.keywords import fold

if TYPE_CHECKING:
    from ..config import Settings

# Used when the town sets no BANDITORE_PSEUDONYM_KEY. Ids are then stable but
# could be reversed by hashing every possible number, so production sets a key.
_FALLBACK_KEY = b"banditore-pseudonym-v1"

_NON_DIGITS = re.compile(r"\D")


def mask_number(number: str | None) -> str:
    """``393471234567`` -> ``+39 347 *****67``: enough to recognise, not to dial."""
    if not number:
        return "(unknown)"
    digits = _NON_DIGITS.sub("", number)
    if len(digits) < 6:
        return "*" * len(digits)
    return f"+{digits[:2]} {digits[2:5]} {'*' * (len(digits) - 7)}{digits[-2:]}"


def pseudonym_key(settings: Settings) -> bytes | None:
    """The town's key for :func:`citizen_id` (None: the fallback key)."""
    secret = settings.pseudonym_key
    return secret.get_secret_value().encode() if secret else None


def citizen_id(identity: str, key: bytes | None = None) -> str:
    """The pseudonymous id of a citizen, from their wa_id (digits) or business-scoped id.

    A keyed hash (HMAC-SHA256), so the id can be committed with staff decisions
    without revealing the number to whoever reads the repository.
    """
    is_number = identity[:1].isdigit() or identity[:1] == "+"
    normalised = _NON_DIGITS.sub("", identity) if is_number else identity
    digest = hmac.new(key or _FALLBACK_KEY, normalised.encode(), hashlib.sha256).hexdigest()
    return "c_" + digest[:16]


# What replaces each kind of personal data in a masked form (language-neutral marks).
PLACEHOLDERS = {"phone": "‹tel›", "email": "‹e-mail›", "codice-fiscale": "‹CF›",
                "iban": "‹IBAN›", "digits": "‹#›"}
MASKED_WORD = "…"
FORM_WORDS = 8


def masked_form(text: str | None, known: Callable[[str], bool],
                max_words: int = FORM_WORDS) -> str:
    """What a citizen wrote, reduced to a form safe to show and to keep: folded
    (``fold``), phone numbers, e-mail addresses, codici fiscali, IBANs and any other
    digits replaced by a mark, every word ``known`` does not vouch for (a name, a
    street) replaced by «…», at most ``max_words`` words.

    ``"SERVIZIO INFO ON - Anna Verdi, via Roma 3"`` -> ``"servizio info on … ‹#›"``.
    """
    if not text:
        return ""
    # Imported on first use: importing the announcements package costs an eighth
    # of a sync that finds nothing new, which never masks a text
    # (docs/measurements.md).
    from ..announcements.personal_data import find_personal

    tokens: list[str] = []
    position = 0
    for start, end, kind in find_personal(text):
        tokens += _words(text[position:start], known)
        tokens.append(PLACEHOLDERS[kind])
        position = end
    tokens += _words(text[position:], known)
    form: list[str] = []
    for token in tokens:
        if not (token == MASKED_WORD and form and form[-1] == MASKED_WORD):
            form.append(token)
    if len(form) > max_words:
        form = form[:max_words] + ([] if form[max_words - 1] == MASKED_WORD else [MASKED_WORD])
    return " ".join(form)


def _words(part: str, known: Callable[[str], bool]) -> list[str]:
    return [PLACEHOLDERS["digits"] if any(c.isdigit() for c in word)
            else word if known(word) else MASKED_WORD for word in fold(part).split()]
