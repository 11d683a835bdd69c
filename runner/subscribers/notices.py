"""The texts a citizen receives on joining or leaving, and the version of the notice.

The send engine sends exactly :func:`reply_text`; a consent records the
:func:`notice_version` in force, a hash of that same text.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..settings import Settings

# The replies a keyword earns, as deliveries.kind (an announcement is 'announcement').
REPLY_KINDS = ("welcome", "goodbye")
REPLY_KINDS_SQL = "('welcome', 'goodbye')"


def reply_text(settings: Settings, kind: str) -> str:
    """The welcome or goodbye text as the citizen reads it (the send engine formats
    the same placeholders)."""
    template = settings.welcome_text if kind == "welcome" else settings.goodbye_text
    return template.format(
        town=settings.town,
        privacy_url=settings.privacy_url,
        subscribe_keyword=(settings.subscribe_keywords or [""])[0],
        unsubscribe_keyword=(settings.unsubscribe_keywords or [""])[0],
    )


def notice_version(settings: Settings) -> str:
    """Content hash of the welcome/privacy notice in force: recorded with every consent."""
    text = "\n".join([reply_text(settings, "welcome"), settings.privacy_url])
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:16]
