"""Whom staff mean: what staff typed, turned into citizens.

A ``c_`` id; a phone number in any common spelling (``+39 347 123 4567``, ``0039…``,
``347/1234567``), found by its pseudonym, which only the town's key makes (so a
number typed under another key is an error, never the wrong citizen); or, where the
town captures names, a name. Whatever was typed is echoed back masked.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ...messages import t
from ..lifecycle.decisions import DecisionError
from ..lifecycle.keywords import fold
from ..privacy import citizen_id as pseudonym
from ..privacy import mask_number, pseudonym_key
from ..store import citizens

if TYPE_CHECKING:
    import duckdb

    from ...config import Settings

_ID = re.compile(r"c_[0-9a-f]{16}")
_NUMBER = re.compile(r"\+?[\d\s\-./()]{6,}")


def number_id(settings: Settings, typed: str) -> str | None:
    """The id of a number typed any common way, or None if it is not a number.
    Without a country prefix it is Italian: ``347 1234567`` is ``+39 347 1234567``."""
    text = typed.strip()
    if not _NUMBER.fullmatch(text):
        return None
    digits = re.sub(r"\D", "", text)
    if text.startswith("+"):
        pass
    elif digits.startswith("00"):
        digits = digits[2:]
    elif not (digits.startswith("39") and len(digits) >= 11):
        digits = "39" + digits
    return pseudonym(digits, pseudonym_key(settings))


def shown(typed: str) -> str:
    """What staff typed, as it may be echoed: masked if it holds digits (an id is
    pseudonymous already, and shown as typed)."""
    typed = typed.strip()
    if _ID.fullmatch(typed):
        return typed
    return mask_number(typed) if re.search(r"\d{3}", typed) else typed


def key_matches(con: duckdb.DuckDBPyConnection, settings: Settings) -> bool | None:
    """Whether the database's ids were made with this BANDITORE_PSEUDONYM_KEY (None: no
    citizen with a number to tell). Numbers are found by their id, so with another
    key (or none, where CI has one) no number is ever found."""
    row = citizens.numbered(con)
    return None if row is None else pseudonym(row[1], pseudonym_key(settings)) == row[0]


def _key_error(settings: Settings) -> DecisionError:
    key = "rights.key-missing" if settings.pseudonym_key is None else "rights.key-other"
    return DecisionError(t(key, database=settings.database))


def find(con: duckdb.DuckDBPyConnection, settings: Settings, who: str, *,
         known_only: bool = False) -> list[str]:
    """The citizen ids ``who`` names: an id or a number (one, even if unknown, unless
    ``known_only``), or every citizen whose captured name holds all the typed words."""
    who = who.strip()
    cid = who if _ID.fullmatch(who) else number_id(settings, who)
    if cid is not None:
        # A number made into an id with the wrong key names no one (or the wrong one).
        if cid != who and key_matches(con, settings) is False:
            raise _key_error(settings)
        if known_only and not citizens.is_known(con, cid):
            return []
        return [cid]
    words = set(fold(who).split())
    if not words or not re.search(r"[^\W\d_]", who):
        raise DecisionError(t("rights.who-invalid", who=shown(who)))
    return sorted({cid for cid, name in citizens.names(con)
                   if words <= set(fold(name).split())})


def one(con: duckdb.DuckDBPyConnection, settings: Settings, who: str, *,
        known_only: bool = True) -> str:
    """Exactly one citizen, or an error that echoes what was typed (masked) and, when
    several match, lists them so staff can choose by id."""
    found = find(con, settings, who, known_only=known_only)
    if not found:
        raise DecisionError(t("rights.no-match", who=shown(who)))
    if len(found) > 1:
        lines = [t("rights.several", who=shown(who), count=len(found))]
        lines += [f"  {_summary_line(con, cid)}" for cid in found]
        raise DecisionError("\n".join(lines))
    return found[0]


def _summary_line(con: duckdb.DuckDBPyConnection, cid: str) -> str:
    number, state, name = citizens.brief(con, cid)
    return f"{cid}  {mask_number(number) if number else '-':16s}  {state or '-':12s}  " \
           f"{name or '-'}"
