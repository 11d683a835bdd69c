"""The catalogue of staff-facing text, in the town's language.

Every message staff read (validation problems, summaries, report titles) is a
key in one of the ``*.toml`` files beside this module, one file per area, each
key with an ``it`` and an ``en`` text in ``str.format`` syntax::

    [policy.category-unknown]
    it = "La categoria «{value}» non esiste. Usa una di: {allowed}."
    en = "Category “{value}” does not exist. Use one of: {allowed}."

Code never holds the text itself: it calls ``t("policy.category-unknown", ...)``.
A count takes its noun's number from :func:`tn`: ``[count.problem.one]`` and
``[count.problem.other]`` ("1 problema", "3 problemi"; 0 is plural in both languages).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from functools import cache
from importlib import resources

LANGUAGES = ("it", "en")
_current = "it"


class MissingMessage(KeyError):
    pass


@cache
def catalogue() -> dict[str, dict[str, str]]:
    """All messages, keyed by dotted name; a key defined twice is a bug."""
    merged: dict[str, dict[str, str]] = {}
    for entry in sorted(resources.files(__package__).iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".toml"):
            continue
        for key, texts in _flatten(tomllib.loads(entry.read_text("utf-8"))):
            if key in merged:
                raise ValueError(f"message {key!r} is defined twice (again in {entry.name})")
            merged[key] = texts
    return merged


def _flatten(table: dict, prefix: str = "") -> Iterator[tuple[str, dict]]:
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and set(value) <= set(LANGUAGES) and value:
            yield name, value
        elif isinstance(value, dict):
            yield from _flatten(value, f"{name}.")


def set_language(language: str) -> None:
    """Choose the language for ``t`` (the CLI does this once from the settings)."""
    global _current
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}; use one of {', '.join(LANGUAGES)}")
    _current = language


def t(key: str, language: str | None = None, /, **values: object) -> str:
    """The message ``key`` in ``language`` (default: the current one), formatted."""
    try:
        texts = catalogue()[key]
    except KeyError:
        raise MissingMessage(key) from None
    text = texts.get(language or _current) or texts["it"]
    return text.format(**values) if values else text


def tn(key: str, count: int, /, **values: object) -> str:
    """The message ``key.one`` or ``key.other`` by ``count``, formatted with it."""
    return t(f"{key}.{'one' if count == 1 else 'other'}", count=count, **values)
