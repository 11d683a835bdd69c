"""CAP 1.2 (OASIS Common Alerting Protocol): one ``cap/<id>.xml`` alert per warning.

CAP is for warnings: only announcements whose category ``cap_categories`` maps to a
CAP category get an alert (a deadline or a festival maps to ``none`` and stays in the
Atom feeds); a correction or withdrawal gets one when what it refers to is a warning.

Every alert has ``identifier`` (``<sender>.<announcement id>``), ``sender`` (the
town's: ``cap_sender``, or its site), ``sent`` (when it really went out: WhatsApp
accepted its first delivery), ``status`` (Actual; Exercise for a drill), ``msgType``
(Alert; Update or Cancel with ``references`` to the original), ``scope`` Public, and
one ``info`` in ``cap_language``: ``category`` from ``cap_categories``, ``event``
(the category's label), ``urgency``/``severity``/``certainty`` from ``cap_levels``
by the announcement's urgency, ``expires``, ``senderName``, ``headline`` (the
title), ``description`` (the announcement's text, plain: no WhatsApp marks, no
template words), ``instruction`` (the front matter's, when given), ``web`` (its
archive page), the media as a ``resource``, and one ``area``: the town, by its
ISTAT code. CAP asks for absolute URIs, so every link is under ``site_url``, which
a town with CAP (an ``istat_code``) must set.

Elements are written in the order the schema's sequences require; the tests
validate every alert against the OASIS schema.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING

from lxml import etree

from ..errors import ConfigError
from ..messages import t
from .atom import Links
from .bubble_text import plain_text
from .selection import Entry
from .site import media_file, page_path

if TYPE_CHECKING:
    from ..config import Settings

NS = "urn:oasis:names:tc:emergency:cap:1.2"
GEOCODE_NAME = "ISTAT"  # the value is the town's six-digit ISTAT code


def enabled(settings: Settings) -> bool:
    """CAP needs the town's ISTAT code for the area; without it no alert is written."""
    return bool(settings.istat_code)


def check_settings(settings: Settings) -> None:
    """A town with CAP needs ``site_url``: an alert's links must be absolute (CAP 1.2,
    3.3.2), and an aggregator has no page to resolve a relative one against."""
    if enabled(settings) and not settings.site_url.strip():
        raise ConfigError(t("publish.cap-needs-site-url", istat=settings.istat_code))


def warnings(settings: Settings, entries: list[Entry]) -> dict[str, str]:
    """id -> CAP category of the entries that get an alert: those of a warning
    category, and the corrections and withdrawals of one (in the original's)."""
    found = {e.id: c for e in entries if (c := cap_category(settings, e.category))}
    by_id = {e.id: e for e in entries}
    for entry in entries:
        for ref in entry.references:
            category = cap_category(settings, by_id[ref].category) if ref in by_id else None
            if entry.id not in found and category:
                found[entry.id] = category
    return found


def cap_category(settings: Settings, category: str) -> str | None:
    return settings.cap_categories.of(category, settings.emergency_categories)


def sender(settings: Settings) -> str:
    return settings.cap_sender or settings.town_site


def identifier(settings: Settings, entry_id: str) -> str:
    return f"{sender(settings)}.{entry_id}"


def cap_time(moment: datetime) -> str:
    """``2024-04-03T08:30:00+02:00``: seconds, an explicit offset (CAP forbids ``Z``)."""
    return moment.replace(microsecond=0).isoformat()


def reference(settings: Settings, original_id: str, sent: datetime) -> str:
    """``sender,identifier,sent`` of an earlier alert, as ``references`` lists it."""
    return f"{sender(settings)},{identifier(settings, original_id)},{cap_time(sent)}"


def _sub(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    node = etree.SubElement(parent, f"{{{NS}}}{name}")
    if text is not None:
        node.text = text
    return node


def alert(settings: Settings, entry: Entry, links: Links, category: str | None = None) -> bytes:
    """The CAP 1.2 alert of ``entry`` as UTF-8 XML, in CAP ``category`` (default: its
    own category's)."""
    root = etree.Element(f"{{{NS}}}alert", nsmap={None: NS})
    _sub(root, "identifier", identifier(settings, entry.id))
    _sub(root, "sender", sender(settings))
    _sub(root, "sent", cap_time(entry.went_out))
    _sub(root, "status", entry.status)
    _sub(root, "msgType", entry.msg_type)
    _sub(root, "scope", "Public")
    # The original is named even when it is not published itself (stopped before
    # it went out): a reader of the Cancel still learns what it cancels.
    refs = [reference(settings, ref, sent) for ref, sent in entry.reference_sent.items()]
    if refs:
        _sub(root, "references", " ".join(refs))
    info = _sub(root, "info")
    _sub(info, "language", settings.cap_language)
    _sub(info, "category", category or cap_category(settings, entry.category) or "Other")
    _sub(info, "event", settings.category_labels.of(entry.category))
    levels = settings.cap_levels[entry.urgency]
    _sub(info, "urgency", levels.urgency)
    _sub(info, "severity", levels.severity)
    _sub(info, "certainty", levels.certainty)
    if entry.expires is not None:
        _sub(info, "expires", cap_time(entry.expires))
    _sub(info, "senderName", settings.town)
    _sub(info, "headline", entry.title)
    description = plain_text(entry.ann.body)
    if description:
        _sub(info, "description", description)
    if entry.ann.instruction:
        _sub(info, "instruction", entry.ann.instruction)
    _sub(info, "web", links.url(page_path(entry.id), "cap"))
    _resource(info, entry, links)
    area = _sub(info, "area")
    _sub(area, "areaDesc", settings.town)
    geocode = _sub(area, "geocode")
    _sub(geocode, "valueName", GEOCODE_NAME)
    _sub(geocode, "value", settings.istat_code)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _resource(info: etree._Element, entry: Entry, links: Links) -> None:
    """The announcement's media, with its size and SHA-1 digest (CAP's) when it is a
    file of the repository."""
    media = entry.media()
    if media is None:
        return
    resource = _sub(info, "resource")
    _sub(resource, "resourceDesc", media.kind or "file")
    _sub(resource, "mimeType", media.mime or "application/octet-stream")
    facts = _file_facts(media.source) if media.url is None else None
    if facts is not None:
        _sub(resource, "size", str(facts[0]))
        _sub(resource, "uri", links.url(media.source, "cap"))
        _sub(resource, "digest", facts[1])
    elif media.url is not None:
        _sub(resource, "uri", media.url)


@lru_cache(maxsize=256)
def _file_facts(source: str) -> tuple[int, str] | None:
    """(size, SHA-1) of a repository media file: read once per run, however many alerts
    share it."""
    path = media_file(source)
    if path is None:
        return None
    data = path.read_bytes()
    return len(data), hashlib.sha1(data).hexdigest()
