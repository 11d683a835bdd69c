"""The texts a citizen receives on joining or leaving, and the version of the notice.

The send engine sends exactly :func:`reply_text`; a consent records the
:func:`notice_version` in force, a hash of that same text.

Where staff moderate, a request is acknowledged at once, inside the citizen's
24-hour window (``ack_subscribe``: "richiesta ricevuta"; ``ack_unsubscribe``:
sending has stopped); the welcome or goodbye follows the staff decision.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..settings import Settings

# The replies a keyword earns, as deliveries.kind (an announcement is 'announcement').
REPLY_KINDS = ("welcome", "goodbye", "ack_subscribe", "ack_unsubscribe")
REPLY_KINDS_SQL = "(" + ", ".join(f"'{kind}'" for kind in REPLY_KINDS) + ")"
# The delivery id of a reply: this prefix and the wamid of the message it answers.
REPLY_PREFIX = {"welcome": "w", "goodbye": "g", "ack_subscribe": "r", "ack_unsubscribe": "l"}


def reply_text(settings: Settings, kind: str) -> str:
    """The welcome or goodbye text as the citizen reads it (the send engine formats
    the same placeholders)."""
    template = {"welcome": settings.welcome_text, "goodbye": settings.goodbye_text,
                "ack_subscribe": settings.received_subscribe_text,
                "ack_unsubscribe": settings.received_unsubscribe_text}[kind]
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
