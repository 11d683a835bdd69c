"""Configuration errors explained: in the town's language, with the setting's name, the
bad value and where it came from, what the setting takes and the likely intended name.

:func:`runner.config.load_settings` turns every failure into one of these
texts; what a setting takes is read from its declaration in the model, so the
explanations never drift from the settings.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import tomllib
import zoneinfo
from collections.abc import Iterable

from pydantic_core import ErrorDetails

from ..messages import t
from .environment_only import ENVIRONMENT_ONLY

_PYPROJECT = "pyproject.toml"


def config_language() -> str:
    """The town's language even when its settings do not load: the variable, else
    pyproject.toml read on its own, else Italian."""
    chosen: str | None = os.environ.get("BANDITORE_LANGUAGE", "")
    if chosen not in ("it", "en"):
        try:
            with open(_PYPROJECT, "rb") as f:
                chosen = tomllib.load(f).get("tool", {}).get("banditore", {}).get("language")
        except (OSError, tomllib.TOMLDecodeError, AttributeError):
            chosen = None
    return chosen if chosen in ("it", "en") else "it"


def _where(name: str, overrides: dict) -> str:
    language = config_language()
    if name in overrides:
        return t("config.where-argument", language)
    if f"BANDITORE_{name.upper()}" in os.environ:
        return t("config.where-env", language, variable=f"BANDITORE_{name.upper()}")
    return t("config.where-pyproject", language, path=_PYPROJECT)


def _expected(name: str, error: ErrorDetails, fields: dict) -> str:
    """What the setting takes, from its declaration (one schema: the model)."""
    language, kind = config_language(), error.get("type", "")
    field = fields.get(name)
    if name == "timezone":
        return t("config.expect-timezone", language)
    ctx = error.get("ctx") or {}
    if kind == "literal_error" and "expected" in ctx:
        return t("config.expect-one-of", language, allowed=ctx["expected"])
    if "ge" in ctx or "gt" in ctx or "le" in ctx:
        bound = ", ".join(f"{op} {ctx[k]}" for k, op in (("ge", "≥"), ("gt", ">"), ("le", "≤"))
                          if k in ctx)
        return t("config.expect-number", language, bound=bound)
    if kind == "string_pattern_mismatch":
        return t(f"config.expect-pattern-{name}", language) if name in _PATTERNS else \
            t("config.expect-pattern", language)
    annotation = str(field.annotation) if field else ""
    for marker, key in (("list", "config.expect-list"), ("dict", "config.expect-table"),
                        ("bool", "config.expect-bool"), ("int", "config.expect-int"),
                        ("float", "config.expect-float"), ("datetime.time", "config.expect-time"),
                        ("datetime.date", "config.expect-date"),
                        ("datetime.datetime", "config.expect-datetime")):
        if marker in annotation:
            return t(key, language)
    return t("config.expect-text", language, detail=error.get("msg", ""))


def _guess(word: object, choices: Iterable[object]) -> str:
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return t("config.did-you-mean", config_language(), name=close[0]) if close else ""


def explain(errors: list[ErrorDetails], overrides: dict, fields: dict) -> str:
    """pydantic's validation errors as staff read them, one line each."""
    language = config_language()
    lines = []
    for error in errors:
        loc = [str(part) for part in error.get("loc") or ()]
        if not loc:  # a rule across settings (a model validator): its own message says all
            lines.append(str(error.get("msg", "")).removeprefix("Value error, "))
            continue
        name = loc[0]
        value = error.get("input")
        if error.get("type") == "extra_forbidden":
            lines.append(t("config.unknown-key", language, name=".".join(loc),
                           where=_where(name, overrides),
                           guess=_guess(name, fields)))
            continue
        if name in ENVIRONMENT_ONLY:  # never repeat it, not even rewritten
            lines.append(t("config.bad-secret", language, name=name,
                           variable=f"BANDITORE_{name.upper()}",
                           expected=_secret_expected(name, error, fields)))
            continue
        guess = ""
        if name == "timezone":
            guess = _guess(value, zoneinfo.available_timezones())
        elif error.get("type") == "literal_error":
            guess = _guess(value, re.findall(r"'([^']*)'", str((error.get("ctx") or {})
                                                               .get("expected", ""))))
        lines.append(t("config.bad-value", language, name=".".join(loc), value=_shown(value),
                       where=_where(name, overrides), expected=_expected(name, error, fields),
                       guess=guess))
    return "\n".join(lines)


# Settings with a pattern, each explained in words (config.expect-pattern-NAME).
_PATTERNS = {"istat_code", "cap_sender"}


def _secret_expected(name: str, error: ErrorDetails, fields: dict) -> str:
    """What an environment-only setting takes, said without its value: a validator's
    own reason when it gave one (test_recipients: the country code)."""
    if name == "test_recipients" and error.get("type") == "value_error":
        return t("config.expect-test-recipients", config_language())
    return _expected(name, error, fields)


def _shown(value: object) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:79] + "…"


def explain_unreadable(message: str) -> str:
    """pydantic-settings could not even read a value: a list or a table in a
    variable that is not JSON (``BANDITORE_CATEGORIES=eventi,scadenze``)."""
    language = config_language()
    found = re.search(r'field "([^"]+)"', message)
    name = found.group(1) if found else "?"
    variable = f"BANDITORE_{name.upper()}"
    value = os.environ.get(variable)
    if name in ENVIRONMENT_ONLY:  # never repeat it, not even rewritten as JSON
        return t("config.secret-not-json", language, name=name, variable=variable)
    if value is None:
        return t("config.unreadable", language, name=name, detail=message)
    example = json.dumps([part.strip() for part in value.split(",") if part.strip()],
                         ensure_ascii=False)
    return t("config.env-not-json", language, name=name, variable=variable, value=_shown(value),
             example=example)


def explain_toml(detail: str) -> str:
    """A pyproject.toml tomllib cannot read; appending a town file twice is the usual cause."""
    language = config_language()
    twice = "Cannot declare" in detail or "Cannot overwrite" in detail
    return t("config.toml-broken", language, path=_PYPROJECT, detail=detail,
             fix=t("config.toml-twice" if twice else "config.toml-fix", language))
