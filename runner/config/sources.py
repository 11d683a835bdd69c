"""The file sources of the settings (pyproject.toml, .env), which refuse what may only
come from the environment: secrets, phone numbers git must never hold, and the
addresses the tokens are sent to."""

from __future__ import annotations

from pydantic_settings import DotEnvSettingsSource, PyprojectTomlConfigSettingsSource

from ..errors import ConfigError
from ..messages import t
from .explain import config_language

SECRET_FIELDS = frozenset(
    {"whatsapp_token", "whatsapp_app_secret", "whatsapp_verify_token", "pseudonym_key",
     "telegram_token", "github_dispatch_token"}
)
# Where each token goes. Read from a file, a merged change to pyproject.toml (a
# pull request staff may approve for its announcements' settings) could send the
# WhatsApp, Telegram or GitHub token to another host; from the environment only,
# changing them takes the server's or the workflow's own configuration. Tests and
# GitHub Enterprise set them there, or through the constructor.
TOKEN_ADDRESSES = frozenset({"whatsapp_api_base", "telegram_api_base", "github_api_base"})
# Accepted only from the environment too: phone numbers, which git must never hold.
ENVIRONMENT_ONLY = SECRET_FIELDS | {"test_recipients"}


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
