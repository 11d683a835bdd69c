"""The texts a citizen receives besides announcements, and when each is due.

The send engine sends exactly :func:`reply_text`; a consent records the
:func:`notice_version` in force at its time (``notices`` dates each version).

Where staff moderate, a request is acknowledged at once, inside the citizen's
24-hour window (``ack_subscribe``: "richiesta ricevuta"; ``ack_unsubscribe``:
sending has stopped); the welcome or goodbye follows the staff decision. Where the
town has a topic menu, the welcome carries it and says how to use it
(``topic_texts.hint``), and :func:`menu_text` heads each later menu with what changed.
Sync also queues the new notice for subscribers who consented to an older one
(:func:`queue_notices`) and, where the town wants it, one hint for a near miss
(:func:`queue_hints`).
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ...vocabulary import REPLY_KINDS, sql
from ..store import notices as store

if TYPE_CHECKING:
    import duckdb

    from ...config import Settings
    from .topics import Topics

REPLY_KINDS_SQL = sql(REPLY_KINDS)
_TEXTS = {"welcome": "welcome_text", "goodbye": "goodbye_text",
          "ack_subscribe": "received_subscribe_text",
          "ack_unsubscribe": "received_unsubscribe_text", "hint": "hint_text",
          "notice": "notice_text", "rejoined": "rejoined_text", "pause": "pause_text",
          "resume": "resume_text", "migration": "migration_text"}
# Outside the 24-hour window a returner's short reply goes as its own template where
# the town has one, else as the welcome's: what every returner got before the short
# reply existed (a moderating town approves a returner when only a template reaches).
_TEMPLATE_FALLBACK = {"rejoined": "welcome"}


def reply_text(settings: Settings, kind: str) -> str:
    """The text of a reply kind as the citizen reads it (the send engine formats the
    same placeholders)."""
    template = getattr(settings, _TEXTS[kind])
    text = template.format(
        town=settings.town,
        privacy_url=settings.privacy_url,
        subscribe_keyword=(settings.subscribe_keywords or [""])[0],
        unsubscribe_keyword=(settings.unsubscribe_keywords or [""])[0],
        pause_keyword=(settings.pause_keywords or [""])[0],
        resume_keyword=(settings.resume_keywords or [""])[0],
    )
    if kind == "welcome" and settings.topics_menu and settings.topic_texts.hint:
        text = f"{text} {_topic_format(settings, settings.topic_texts.hint)}"
    return text


def reply_template_name(settings: Settings, kind: str) -> str | None:
    """The setting naming the template a reply kind goes out as once the window has
    closed (``<kind>_template``); None: the kind has none and is skipped there."""
    for candidate in (kind, _TEMPLATE_FALLBACK.get(kind)):
        name = getattr(settings, f"{candidate}_template", None) if candidate else None
        if name:
            return name
    return None


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


def _topic_format(settings: Settings, text: str, **values: object) -> str:
    return text.format(button=settings.topic_texts.button,
                       keyword=(settings.topics_keywords or [""])[0], **values)


def notice_version(settings: Settings) -> str:
    """The privacy notice in force, recorded with every consent: the day it came into
    force (``privacy_notice_date``), else a content hash of the welcome text and
    ``privacy_url``."""
    if settings.privacy_notice_date:
        return settings.privacy_notice_date.isoformat()
    text = "\n".join([reply_text(settings, "welcome"), settings.privacy_url])
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:16]


def record_notice(con: duckdb.DuckDBPyConnection, settings: Settings) -> str:
    """Date the notice in force in ``notices`` if it is new: ``privacy_notice_date``,
    else the first one ever covers all history (imported consents included) and a
    later one starts now. Returns its version."""
    version = notice_version(settings)
    if settings.privacy_notice_date:
        start = datetime.combine(settings.privacy_notice_date, datetime.min.time(), settings.tz)
    else:
        start = (store.first_event(con) if not store.any_notice(con)
                 else None) or settings.current_time()
    store.date_notice(con, version, start)
    return version


def queue_notices(con: duckdb.DuckDBPyConnection, settings: Settings, version: str) -> int:
    """A 'notice' reply to each active subscriber whose latest consent was given under
    another notice, once per version (the delivery id names it)."""
    return store.queue_notices(con, version, settings.current_time())


def queue_hints(con: duckdb.DuckDBPyConnection, settings: Settings) -> int:
    """With ``near_miss_hint``: a 'hint' reply to the first near miss of a citizen in 24
    hours, while the window it opened is still open, unless a keyword followed or the
    citizen is blocked. Earlier near misses could only be answered by a template."""
    if not settings.near_miss_hint:
        return 0
    now = settings.current_time()
    return store.queue_hints(con, since=now - timedelta(hours=48),
                             still_open=now - timedelta(hours=24))
