"""The file sources of the settings (pyproject.toml, .env), which refuse what may only
come from the environment: secrets, phone numbers git must never hold, and the
addresses the tokens are sent to."""

from __future__ import annotations

from pydantic_settings import DotEnvSettingsSource, PyprojectTomlConfigSettingsSource

from ..errors import ConfigError
from ..messages import t
from .environment_only import ENVIRONMENT_ONLY, TOKEN_ADDRESSES
from .explain import config_language


class _RefuseSecrets:
    """Mixed into a file source: secrets and token addresses found in a file are
    refused, not used."""

    where = ""

    def __call__(self) -> dict:
        values = super().__call__()
        language = config_language()
        found = sorted(ENVIRONMENT_ONLY & values.keys())
        if found:
            raise ConfigError(t("config.secret-in-file", language, where=self.where,
                                found=", ".join(found), names=_variables(found)))
        found = sorted(TOKEN_ADDRESSES & values.keys())
        if found:
            raise ConfigError(t("config.address-in-file", language, where=self.where,
                                found=", ".join(found), names=_variables(found)))
        return values


def _variables(names: list[str]) -> str:
    return ", ".join(f"BANDITORE_{name.upper()}" for name in names)


class PyprojectSource(_RefuseSecrets, PyprojectTomlConfigSettingsSource):
    where = "pyproject.toml"


class DotEnvSource(_RefuseSecrets, DotEnvSettingsSource):
    where = ".env"
