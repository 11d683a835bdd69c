"""The pieces the settings are made of: defaults, and the nested models a town writes
as tables (a template, the topic texts, the lifecycle labels, CAP's vocabulary)."""

from __future__ import annotations

import zoneinfo
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    SecretStr,
)
from pydantic_core import CoreSchema, core_schema

DEFAULT_CATEGORIES = [
    "emergenze",
    "protezione-civile",
    "allerta-meteo",
    "viabilita",
    "scadenze",
    "disservizi",
    "eventi",
    "info-comune",
]
DEFAULT_EMERGENCY_CATEGORIES = ["emergenze", "protezione-civile", "allerta-meteo"]
# How each category is named to the public (the site, the feeds, CAP's event, the form),
# accents included: a slug cannot carry them.
DEFAULT_CATEGORY_LABELS = {
    "emergenze": "Emergenze",
    "protezione-civile": "Protezione civile",
    "allerta-meteo": "Allerta meteo",
    "viabilita": "Viabilità",
    "scadenze": "Scadenze",
    "disservizi": "Disservizi",
    "eventi": "Eventi",
    "info-comune": "Info dal Comune",
}


def _known_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):  # the former is a KeyError
        raise ValueError(f"unknown time zone {value!r}") from None
    return value


TimeZone = Annotated[str, AfterValidator(_known_timezone)]


def _phone_numbers(value: list[str]) -> list[str]:
    digits = ["".join(c for c in number if c.isdigit()) for number in value]
    if any(len(d) < 8 for d in digits):
        raise ValueError("each test recipient is a number with its country code, "
                         "e.g. 393471234567")
    return digits


# Numbers as the Cloud API takes them: digits only, country code first.
PhoneNumbers = Annotated[list[str], AfterValidator(_phone_numbers)]
# Citizens' rights: retention_days (free text kept, then only its classification),
# near_miss_hint (one reply saying the exact keywords; off: the number never answers),
# privacy_notice_date (a new one sends notice_text to earlier consents; unset: a hash).
HINT_TEXT = ("Per iscriverti al servizio WhatsApp del {town} scrivi esattamente "
             "{subscribe_keyword}; per cancellarti scrivi {unsubscribe_keyword}.")
NOTICE_TEXT = ("Il {town} ha aggiornato l'informativa privacy del servizio WhatsApp: "
               "{privacy_url}. Per cancellarti scrivi {unsubscribe_keyword}.")
# Sent once to each citizen moved in from the town's old list (`subscribers import`):
# the service moved, the privacy notice, how to leave. They have not written to this
# number, so it goes as the approved migration_template; unset, it is skipped with its
# reason (outside_24h_window), and announcements reach them all the same.
MIGRATION_TEXT = ("Il servizio di avvisi WhatsApp del {town} a cui eri iscritto ora arriva "
                  "da questo numero. Informativa privacy: {privacy_url}. Per cancellarti "
                  "scrivi {unsubscribe_keyword}.")
# A citizen who left and subscribes again under the privacy notice they were welcomed
# with gets rejoined_text, not the welcome again; outside the 24-hour window it goes as
# rejoined_template, else as welcome_template (what returners got before it existed).
REJOINED_TEXT = ("Sei di nuovo iscritto al servizio WhatsApp del {town}. "
                 "Per cancellarti scrivi {unsubscribe_keyword}.")
# pause_keywords / resume_keywords: nothing reaches a paused citizen until they resume;
# their consent and topics stand. Each is acknowledged inside the window the keyword
# opened ({pause_keyword} and {resume_keyword} are the first of each list).
PAUSE_TEXT = ("Ricezione sospesa: non riceverai messaggi dal {town}, nemmeno gli avvisi di "
              "emergenza, finché non scrivi {resume_keyword}. "
              "Per cancellarti scrivi {unsubscribe_keyword}.")
RESUME_TEXT = ("Ricezione riattivata: da ora ricevi di nuovo i messaggi del {town}. "
               "Per sospenderla scrivi {pause_keyword}.")


class TemplateConfig(BaseModel):
    """An approved WhatsApp template, as configured in ``[tool.banditore.templates.NAME]``.

    ``body`` lists, in placeholder order, what fills each body parameter:
    ``title``, ``body`` (the whole text, flattened to one line), ``paragraph:N``
    (the N-th paragraph, from 1), ``category``, ``date``, ``town``. A ``text``
    header has one parameter, filled from ``header_text`` (the same sources).
    """

    model_config = ConfigDict(extra="forbid")

    language: str = "it"
    body: list[str] = Field(default_factory=lambda: ["title", "body"])
    # Named parameters ({{area}}) when the template was created with names;
    # empty means positional ({{1}}, {{2}}...).
    parameter_names: list[str] = Field(default_factory=list)
    header: Literal["none", "text", "image", "video", "document"] = "none"
    header_text: str = "title"  # what fills a text header's {{1}}
    category: Literal["UTILITY", "MARKETING"] = "UTILITY"


class TopicTexts(BaseModel):
    """What citizens read about topics, in ``[tool.banditore.topic_texts]``.

    ``{topic}`` is a topic's label, ``{button}`` the menu's button, ``{keyword}``
    the first of ``topics_keywords``. WhatsApp's limits: button 20 characters,
    section and row titles 24, a list message's text 1024.
    """

    model_config = ConfigDict(extra="forbid")

    menu: str = ("Scegli gli argomenti che ti interessano: tocca «{button}» e poi un "
                 "argomento per aggiungerlo o toglierlo. Gli avvisi di emergenza arrivano "
                 "sempre a tutti.")
    button: str = Field("Argomenti", max_length=20)
    section: str = Field("Argomenti", max_length=24)
    everything: str = Field("Tutti gli argomenti", max_length=24)
    # Added to the welcome when it carries the menu: the welcome says how to choose.
    hint: str = "Puoi scegliere gli argomenti con il pulsante «{button}» o scrivendo {keyword}."
    added: str = "Ora ricevi anche: {topic}."
    removed: str = "Non ricevi più: {topic}."
    only: str = "Ora ricevi solo: {topic}, oltre agli avvisi di emergenza."
    all: str = "Ora ricevi tutti gli argomenti."


class LifecycleLabels(BaseModel):
    """The word before the title of a correction, a withdrawal or a drill, in the bubble."""

    model_config = ConfigDict(extra="forbid")

    update: str = "RETTIFICA"
    cancel: str = "REVOCATO"
    exercise: str = "ESERCITAZIONE"
    test: str = "PROVA"


# --- public channels: CAP 1.2 vocabulary (OASIS CAP 1.2, section 3.2.2) ---------------
# CAP is for warnings: a category mapped to "none" (TOML has no null) gets no alert and
# stays in the Atom feeds. A deadline or a festival is not a warning.
NO_CAP = "none"
CapCategory = Literal["Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env",
                      "Transport", "Infra", "CBRNE", "Other", "none"]
DEFAULT_CAP_CATEGORIES: dict[str, str] = {
    "emergenze": "Safety",
    "protezione-civile": "Safety",
    "allerta-meteo": "Met",
    "viabilita": "Transport",
    "scadenze": NO_CAP,
    "disservizi": "Infra",
    "eventi": NO_CAP,
    "info-comune": NO_CAP,
}


class CapTable(dict[str, str]):
    """category -> CAP category, "none" for those that are not warnings."""

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any,
                                     handler: GetCoreSchemaHandler) -> CoreSchema:
        # Validated as the table a town writes, then kept as this class: the field's
        # type says it has of(), and so does the value.
        return core_schema.no_info_after_validator_function(
            cls, handler(dict[str, CapCategory]))

    def of(self, category: str, emergency_categories: list[str]) -> str | None:
        """The CAP category of an announcement's category; None: not a warning, no
        alert. A category the table lacks is a warning only if it is an emergency one."""
        found = self.get(category)
        if found is None:
            return "Safety" if category in emergency_categories else None
        return None if found == NO_CAP else found


class Labels(dict[str, str]):
    """category -> how the public reads it (``viabilita`` -> "Viabilità")."""

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any,
                                     handler: GetCoreSchemaHandler) -> CoreSchema:
        # As CapTable's.
        return core_schema.no_info_after_validator_function(cls, handler(dict[str, str]))

    def of(self, category: str) -> str:
        """The category's label; one without: its name, spaced and capitalised."""
        return self.get(category) or category.replace("-", " ").capitalize()


class CapLevels(BaseModel):
    """What an announcement's ``urgency`` says in CAP's three words."""

    model_config = ConfigDict(extra="forbid")

    urgency: Literal["Immediate", "Expected", "Future", "Past", "Unknown"]
    severity: Literal["Extreme", "Severe", "Moderate", "Minor", "Unknown"]
    certainty: Literal["Observed", "Likely", "Possible", "Unlikely", "Unknown"]


def default_cap_levels() -> dict[str, CapLevels]:
    # A notice from the town is known to be true (certainty); how soon citizens must
    # act and how much is at stake follow the announcement's urgency.
    return {
        "normal": CapLevels(urgency="Future", severity="Minor", certainty="Observed"),
        "high": CapLevels(urgency="Expected", severity="Moderate", certainty="Likely"),
        "emergency": CapLevels(urgency="Immediate", severity="Severe", certainty="Observed"),
    }


# A town that maps one category or urgency keeps the defaults for the rest.
CapCategories = Annotated[CapTable,
                          AfterValidator(lambda value: CapTable({**DEFAULT_CAP_CATEGORIES,
                                                                 **value}))]
CategoryLabels = Annotated[Labels,
                           AfterValidator(lambda value: Labels({**DEFAULT_CATEGORY_LABELS,
                                                                **value}))]
CapLevelsByUrgency = Annotated[dict[str, CapLevels],
                               AfterValidator(lambda value: {**default_cap_levels(), **value})]


class ReceiverSettings(BaseModel):
    """The settings only the webhook receiver reads (runner.webhook), all from its
    server's environment: Meta's app secret (signatures) and verify token
    (handshake), and asking GitHub for a send run when a citizen writes
    (runner.webhook.dispatch; without a repository and a token, the schedule alone)."""

    whatsapp_app_secret: SecretStr | None = None
    whatsapp_verify_token: SecretStr | None = None
    # "owner/name", and a fine-grained token limited to it (Actions: read and write).
    github_repository: str = Field("", pattern=r"^([\w.-]+/[\w.-]+)?$")
    github_dispatch_token: SecretStr | None = None
    github_api_base: str = "https://api.github.com"  # GitHub Enterprise: its API address
