"""The file sources of the settings (pyproject.toml, .env), which refuse what may only
come from the environment: secrets, and phone numbers git must never hold."""

from __future__ import annotations

from pydantic_settings import DotEnvSettingsSource, PyprojectTomlConfigSettingsSource

from ..errors import ConfigError
from ..messages import t
from .explain import config_language

SECRET_FIELDS = frozenset(
    {"whatsapp_token", "whatsapp_app_secret", "whatsapp_verify_token", "pseudonym_key",
     "telegram_token", "cms_oauth_client_secret"}
)
# Accepted only from the environment too: phone numbers, which git must never hold.
ENVIRONMENT_ONLY = SECRET_FIELDS | {"test_recipients"}


class _RefuseSecrets:
    """Mixed into a file source: secrets found in a file are refused, not used."""

    where = ""

    def __call__(self) -> dict:
        values = super().__call__()
        found = sorted(ENVIRONMENT_ONLY & values.keys())
        if found:
            names = ", ".join(f"BANDITORE_{name.upper()}" for name in found)
            raise ConfigError(t("config.secret-in-file", config_language(), where=self.where,
                                found=", ".join(found), names=names))
        return values


class PyprojectSource(_RefuseSecrets, PyprojectTomlConfigSettingsSource):
    where = "pyproject.toml"


class DotEnvSource(_RefuseSecrets, DotEnvSettingsSource):
    where = ".env"
