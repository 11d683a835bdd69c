"""The file sources of the settings (pyproject.toml, .env), which refuse what may only
come from the environment: secrets, phone numbers git must never hold, and the
addresses the tokens are sent to."""

from __future__ import annotations

from typing import Any

from pydantic_settings import DotEnvSettingsSource, PyprojectTomlConfigSettingsSource

from ..errors import ConfigError
from ..messages import t
from .environment_only import ENVIRONMENT_ONLY, TOKEN_ADDRESSES
from .explain import config_language


def _refused(values: dict[str, Any], where: str) -> dict[str, Any]:
    """A file source's values, unless the file holds secrets or token addresses:
    those are refused, not used."""
    language = config_language()
    found = sorted(ENVIRONMENT_ONLY & values.keys())
    if found:
        raise ConfigError(t("config.secret-in-file", language, where=where,
                            found=", ".join(found), names=_variables(found)))
    found = sorted(TOKEN_ADDRESSES & values.keys())
    if found:
        raise ConfigError(t("config.address-in-file", language, where=where,
                            found=", ".join(found), names=_variables(found)))
    return values


def _variables(names: list[str]) -> str:
    return ", ".join(f"BANDITORE_{name.upper()}" for name in names)


class PyprojectSource(PyprojectTomlConfigSettingsSource):
    def __call__(self) -> dict[str, Any]:
        return _refused(super().__call__(), "pyproject.toml")


class DotEnvSource(DotEnvSettingsSource):
    def __call__(self) -> dict[str, Any]:
        return _refused(super().__call__(), ".env")
