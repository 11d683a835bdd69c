"""The town's configuration: the settings model (:mod:`.settings`) and the pieces it is
made of (:mod:`.parts`), the file sources that refuse secrets (:mod:`.sources`), and
the plain-language explanation of whatever is wrong with them (:mod:`.explain`)."""

from .parts import (
    DEFAULT_CATEGORIES,
    DEFAULT_EMERGENCY_CATEGORIES,
    LifecycleLabels,
    TemplateConfig,
    TopicTexts,
)
from .settings import Settings, load_settings, pseudonym_key_check

__all__ = [
    "DEFAULT_CATEGORIES",
    "DEFAULT_EMERGENCY_CATEGORIES",
    "LifecycleLabels",
    "Settings",
    "TemplateConfig",
    "TopicTexts",
    "load_settings",
    "pseudonym_key_check",
]
