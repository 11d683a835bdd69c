"""The town's settings: one pydantic-settings model, the only place they are defined.

Precedence (highest first): constructor arguments > ``BANDITORE_*`` environment
variables > ``.env`` > ``[tool.banditore]`` in pyproject.toml > defaults.

Secrets (access token, app secret, verify token, pseudonym key) are accepted
only from the environment or the constructor: a secret in pyproject.toml would
be committed to git, so finding one there is a configuration error.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from ..errors import ConfigError
from ..messages import t
from .explain import explain, explain_toml, explain_unreadable
from .parts import (
    DEFAULT_CAP_CATEGORIES,
    DEFAULT_CATEGORIES,
    DEFAULT_EMERGENCY_CATEGORIES,
    HINT_TEXT,
    MIGRATION_TEXT,
    NOTICE_TEXT,
    PAUSE_TEXT,
    REJOINED_TEXT,
    RESUME_TEXT,
    CapCategories,
    CapLevelsByUrgency,
    CapTable,
    CategoryLabels,
    Labels,
    LifecycleLabels,
    PhoneNumbers,
    ReceiverSettings,
    TemplateConfig,
    TimeZone,
    TopicTexts,
    default_cap_levels,
)
from .sources import DotEnvSource, PyprojectSource


class Settings(BaseSettings, ReceiverSettings):
    model_config = SettingsConfigDict(
        env_prefix="BANDITORE_",
        env_file=".env",
        env_file_encoding="utf-8",
        # GitHub Actions passes an unset secret as an empty string: treat it as unset.
        env_ignore_empty=True,
        extra="forbid",
        pyproject_toml_table_header=("tool", "banditore"),
    )

    # --- the town -----------------------------------------------------------
    town: str = "Comune di Esempio"
    town_site: str = "comune.esempio.it"
    language: Literal["it", "en"] = "it"
    timezone: TimeZone = "Europe/Rome"

    # --- where things are ----------------------------------------------------
    database: Path = Path("subscribers.duckdb")
    announcements_dir: Path = Path("announcements")
    webhook_logs: str = "webhook-logs"
    outbox: Path = Path("outbox/outbox.jsonl")
    decisions_file: Path = Path("subscribers/decisions.txt")

    # --- WhatsApp Cloud API ----------------------------------------------------
    whatsapp_token: SecretStr | None = None
    whatsapp_phone_number_id: str = ""
    whatsapp_api_base: str = "https://graph.facebook.com"
    whatsapp_api_version: str = "v25.0"
    rate_per_second: float = Field(80, gt=0, le=1000)
    # DuckDB's memory during `send` (see runner.send.manager): flat whatever the queue.
    send_memory_mb: int = Field(128, ge=1)
    templates: dict[str, TemplateConfig] = Field(default_factory=dict)
    default_template: str | None = None

    # --- subscriptions --------------------------------------------------------
    subscribe_keywords: list[str] = Field(default_factory=lambda: ["MI ISCRIVO"])
    unsubscribe_keywords: list[str] = Field(default_factory=lambda: ["MI CANCELLO"])
    capture_name: bool = False
    moderate_subscribe: bool = False
    moderate_unsubscribe: bool = False
    privacy_url: str = ""
    welcome_text: str = (
        "Benvenuto nel servizio WhatsApp del {town}. Riceverai avvisi e notizie utili. "
        "Informativa privacy: {privacy_url}. Per cancellarti scrivi {unsubscribe_keyword}."
    )
    goodbye_text: str = (
        "Sei stato cancellato dal servizio WhatsApp del {town}. "
        "Per iscriverti di nuovo scrivi {subscribe_keyword}."
    )
    # Approved templates (names in `templates`) for the welcome/goodbye reply once the
    # citizen's 24-hour window has closed; unset: the reply is skipped with a reason.
    welcome_template: str | None = None
    goodbye_template: str | None = None
    migration_text: str = MIGRATION_TEXT  # to citizens moved in (explained at MIGRATION_TEXT)
    migration_template: str | None = None
    # Returners and pauses (explained at REJOINED_TEXT); [] turns a keyword off.
    rejoined_text: str = REJOINED_TEXT
    rejoined_template: str | None = None
    pause_keywords: list[str] = Field(default_factory=lambda: ["PAUSA"])
    resume_keywords: list[str] = Field(default_factory=lambda: ["RIPRENDI"])
    pause_text: str = PAUSE_TEXT
    resume_text: str = RESUME_TEXT
    # Keyed hash for the pseudonymous ids that staff decisions are stored under.
    pseudonym_key: SecretStr | None = None

    # --- announcements policy --------------------------------------------------
    categories: list[str] = Field(default_factory=lambda: list(DEFAULT_CATEGORIES))
    emergency_categories: list[str] = Field(
        default_factory=lambda: list(DEFAULT_EMERGENCY_CATEGORIES)
    )
    category_labels: CategoryLabels = Field(default_factory=Labels)  # public names, accented
    weekly_cap: int = Field(10, ge=0)
    quiet_hours_start: time = time(21, 0)
    quiet_hours_end: time = time(8, 0)
    allowed_link_domains: list[str] = Field(default_factory=lambda: ["gov.it"])
    allowed_phone_numbers: list[str] = Field(default_factory=list)
    # An announcement with no expires_at stops being sendable this long after
    # it is published, so an old file never goes out from a new deployment.
    default_validity_days: int = Field(7, ge=1)

    # --- templates, the reviewer's figures, welcome first (see runner.whatsapp.templates)
    # The committed catalogue of the account's templates, text included
    # (`templates sync` writes it; a town without API access writes it by hand).
    templates_file: Path = Path("templates.toml")
    whatsapp_waba_id: str = ""  # the WhatsApp Business Account `templates sync` reads
    # The counts-only file the send workflow publishes (active subscribers, deliveries
    # per announcement, template changes): the reviewer's audience and warnings.
    counts_file: Path = Path("banditore-counts.json")
    # Price of one delivered template message by category (Meta charges per delivered
    # template since July 2025), for the reviewer's estimate only. The defaults are of
    # the order of Italy's rates and not authoritative: set the figures of the current
    # rate card (WhatsApp Manager > Insights / the pricing page) in your currency.
    prices: dict[str, float] = Field(default_factory=lambda: {
        "UTILITY": 0.03, "MARKETING": 0.07, "AUTHENTICATION": 0.03})
    price_currency: str = "USD"
    # The acknowledgement a moderated request gets at once, inside the 24-hour window
    # (staff decide later): for a subscription and for an unsubscription.
    received_subscribe_text: str = (
        "Richiesta ricevuta: il {town} la esaminerà e ti scriverà quando sarà approvata. "
        "Informativa privacy: {privacy_url}."
    )
    received_unsubscribe_text: str = (
        "Richiesta ricevuta: da ora non riceverai più messaggi dal {town}. "
        "Per iscriverti di nuovo scrivi {subscribe_keyword}."
    )

    # --- topics: the town's categories, as citizens choose them ----------------
    # Friendlier topics, each a label over some categories ({"Traffico" = ["viabilita",
    # "disservizi"]}); a category in no group is a topic of its own.
    topic_groups: dict[str, list[str]] = Field(default_factory=dict)
    # Categories that reach every subscriber whatever they chose, like emergency_categories.
    mandatory_categories: list[str] = Field(default_factory=list)
    # The welcome carries the topic menu (an interactive list, inside the 24-hour
    # window), and topics_keywords ask for it again.
    topics_menu: bool = False
    topics_keywords: list[str] = Field(default_factory=lambda: ["ARGOMENTI"])
    topic_texts: TopicTexts = Field(default_factory=TopicTexts)

    # --- the alert lifecycle: corrections, withdrawals, drills -------------------
    # The staff test group that receives drills (status: exercise | test). Only from the
    # environment, BANDITORE_TEST_RECIPIENTS='["393471234567"]': never committed.
    test_recipients: PhoneNumbers = Field(default_factory=list)
    lifecycle_labels: LifecycleLabels = Field(default_factory=LifecycleLabels)
    # Corrections and withdrawals quote the original (context.message_id); false if
    # Meta refuses quotes on the town's templates.
    quote_original: bool = True

    # --- the staff's form (Decap CMS, admin/config.yml) ---------------------------
    # The GitHub repository ("owner/name") and branch it opens pull requests on; the
    # receiver's address, whose /auth and /callback log staff in (runner.webhook.oauth)
    # with the town's GitHub OAuth app. `make cms` needs none of them.
    cms_repo: str = ""
    cms_branch: str = "main"
    cms_auth_url: str = ""
    cms_oauth_client_id: str = ""
    cms_oauth_client_secret: SecretStr | None = None  # from the environment only
    github_url: str = "https://github.com"  # GitHub Enterprise: its own (API at /api/v3)

    # --- public channels: archive site, Atom, CAP 1.2, Telegram (runner.channels) ---
    # The site's address (Pages sets it): absolute links in feeds; CAP (istat_code) needs it.
    site_url: str = ""
    public_number: str = Field("", pattern=r"^(\+[0-9 ().-]+)?$")  # "+39 0165 123456": join
    site_feed_entries: int = Field(50, ge=1)  # the latest N in each Atom feed
    istat_code: str = Field("", pattern=r"^(\d{6})?$")  # the town's, 6 digits
    cap_sender: str = Field("", pattern=r"^[^\s,<&]*$")  # unique; unset: town_site
    cap_language: str = "it-IT"
    cap_categories: CapCategories = Field(default_factory=lambda: CapTable(DEFAULT_CAP_CATEGORIES))
    cap_levels: CapLevelsByUrgency = Field(default_factory=default_cap_levels)
    telegram_token: SecretStr | None = None  # Telegram is on with both of these
    telegram_chat_id: str = ""  # @channelname or -100...
    telegram_api_base: str = "https://api.telegram.org"
    retention_days: int = Field(30, ge=1)  # --- citizens' rights (explained at HINT_TEXT)
    near_miss_hint: bool = False
    hint_text: str = HINT_TEXT
    privacy_notice_date: date | None = None
    notice_text: str = NOTICE_TEXT
    notice_template: str | None = None

    # --- clock ------------------------------------------------------------------
    now: datetime | None = None

    @model_validator(mode="after")
    def _welcome_first(self) -> Settings:
        """Welcome first: a moderating town approves requests long after the citizen
        wrote, when only a template can reach them; without one the welcome (privacy
        notice, how to leave) would be skipped and announcements would follow it."""
        if (self.moderate_subscribe or self.moderate_unsubscribe) and not self.welcome_template:
            raise ValueError(t("settings.welcome-template-required"))
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def current_time(self) -> datetime:
        """The configured clock (BANDITORE_NOW) or the real one, always timezone-aware."""
        if self.now is None:
            return datetime.now(self.tz)
        return self.now if self.now.tzinfo else self.now.replace(tzinfo=self.tz)

    def link_domains(self) -> list[str]:
        """Domains links may point to: the configured ones plus the town's own site."""
        return [d for d in [self.town_site, *self.allowed_link_domains] if d]

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            DotEnvSource(settings_cls),
            PyprojectSource(settings_cls),
        )


def load_settings(**overrides: Any) -> Settings:
    """Build the settings; any way they can be wrong is a ConfigError that
    :mod:`.explain` explains: never a traceback."""
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(explain(exc.errors(), overrides, Settings.model_fields)) from None
    except SettingsError as exc:
        raise ConfigError(explain_unreadable(str(exc))) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(explain_toml(str(exc))) from None


def pseudonym_key_check(settings: Settings, environ: Mapping[str, str]) -> str | None:
    """Without BANDITORE_PSEUDONYM_KEY the citizen ids could be reversed (every number
    hashed with the public fallback key): an error in CI, a warning elsewhere."""
    if settings.pseudonym_key is not None:
        return None
    if environ.get("CI") == "true":
        raise ConfigError(t("config.pseudonym-key-ci"))
    return t("config.pseudonym-key-local")
