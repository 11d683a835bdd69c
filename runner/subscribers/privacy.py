"""Citizens' phone numbers are personal data: how they are masked and pseudonymised.

Anything printed, logged, reported or committed refers to a citizen by a
masked number or by a pseudonymous ``citizen_id``, never by the raw number.
"""

from __future__ import annotations

import hashlib
import hmac
import re

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


def citizen_id(identity: str, key: bytes | None = None) -> str:
    """The pseudonymous id of a citizen, from their wa_id (digits) or business-scoped id.

    A keyed hash (HMAC-SHA256), so the id can be committed with staff decisions
    without revealing the number to whoever reads the repository.
    """
    is_number = identity[:1].isdigit() or identity[:1] == "+"
    normalised = _NON_DIGITS.sub("", identity) if is_number else identity
    digest = hmac.new(key or _FALLBACK_KEY, normalised.encode(), hashlib.sha256).hexdigest()
    return "c_" + digest[:16]
