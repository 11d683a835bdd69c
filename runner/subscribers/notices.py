"""The texts a citizen receives on joining or leaving, or about topics, and the
version of the notice.

The send engine sends exactly :func:`reply_text`; a consent records the
:func:`notice_version` in force, a hash of that same text.

Where staff moderate, a request is acknowledged at once, inside the citizen's
24-hour window (``ack_subscribe``: "richiesta ricevuta"; ``ack_unsubscribe``:
sending has stopped); the welcome or goodbye follows the staff decision. Where the
town has a topic menu, the welcome carries it and says how to use it
(``topic_texts.hint``), and :func:`menu_text` heads each later menu with what changed.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..settings import Settings
    from .topics import Topics

# The replies a keyword earns, as deliveries.kind (an announcement is 'announcement').
REPLY_KINDS = ("welcome", "goodbye", "ack_subscribe", "ack_unsubscribe", "topics")
REPLY_KINDS_SQL = "(" + ", ".join(f"'{kind}'" for kind in REPLY_KINDS) + ")"
# The delivery id of a reply: this prefix and the wamid of the message it answers (a
# topic menu headed by a change: "t").
REPLY_PREFIX = {"welcome": "w", "goodbye": "g", "ack_subscribe": "r", "ack_unsubscribe": "l",
                "topics": "m"}
# The replies that are one text (reply_text), sent as a template outside the 24-hour
# window where the town has one; a topic menu is an interactive list, only inside it.
TEXT_REPLY_KINDS = ("welcome", "goodbye", "ack_subscribe", "ack_unsubscribe")


def reply_text(settings: Settings, kind: str) -> str:
    """The welcome or goodbye text as the citizen reads it (the send engine formats
    the same placeholders)."""
    template = {"welcome": settings.welcome_text, "goodbye": settings.goodbye_text,
                "ack_subscribe": settings.received_subscribe_text,
                "ack_unsubscribe": settings.received_unsubscribe_text}[kind]
    text = template.format(
        town=settings.town,
        privacy_url=settings.privacy_url,
        subscribe_keyword=(settings.subscribe_keywords or [""])[0],
        unsubscribe_keyword=(settings.unsubscribe_keywords or [""])[0],
    )
    if kind == "welcome" and settings.topics_menu and settings.topic_texts.hint:
        text = f"{text} {_topic_format(settings, settings.topic_texts.hint)}"
    return text


def menu_text(settings: Settings, topics: Topics, key: str) -> str:
    """The text of a topic menu with payload ``key``: ``topics`` (asked for), or
    ``topics-all`` / ``topics-<added|removed|only>-<topic id>`` (what just changed)."""
    texts = settings.topic_texts
    menu = _topic_format(settings, texts.menu) if settings.topics_menu else ""
    if key == "topics":
        return menu
    if key == "topics-all":
        head = _topic_format(settings, texts.all)
    else:
        _, change, topic = key.split("-", 2)
        head = _topic_format(settings, getattr(texts, change), topic=topics.label(topic))
    return f"{head}\n\n{menu}" if menu else head


def _topic_format(settings: Settings, text: str, **values) -> str:
    return text.format(button=settings.topic_texts.button,
                       keyword=(settings.topics_keywords or [""])[0], **values)


def notice_version(settings: Settings) -> str:
    """Content hash of the welcome/privacy notice in force: recorded with every consent."""
    text = "\n".join([reply_text(settings, "welcome"), settings.privacy_url])
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:16]
