"""What a run sends: one request body per due announcement and per reply kind.

Each body is rendered and serialised once (:mod:`runner.whatsapp.bodies`) and
reused for every citizen. A repository media file is uploaded once and its id
cached for 29 days; an announcement whose media cannot be uploaded waits,
queued, for the next run. So does an announcement or a reply whose template Meta
paused, disabled or rejected (as the latest sync stored it): no send uses it.

A correction or withdrawal quotes, for each citizen, the original they received
(:class:`~runner.whatsapp.bodies.QuotingPayload`; the wamid comes with each delivery). Where the
town has a topic menu, the welcome carries it; each answer to a topic change is
the menu again, headed by what changed (one body per topic and change).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from ..announcements.bubble import as_text, bubble_of
from ..announcements.catalogue import known_templates
from ..announcements.render import Media, RenderError, render
from ..announcements.schedule import by_id as announcements_by_id
from ..announcements.schedule import in_quiet_hours, is_urgent
from ..errors import ConfigError
from ..messages import t
from ..subscribers.lifecycle.notices import menu_text, reply_template_name, reply_text
from ..subscribers.lifecycle.topics import EVERY_TOPIC, Topics, ack_keys
from ..vocabulary import REPLY_KINDS, TEXT_REPLY_KINDS, WELCOME
from ..whatsapp.answers import TEMPLATE_NOT_APPROVED, TEMPLATE_STATUS_CODES, Action, ApiError
from ..whatsapp.bodies import (
    LIST_TEXT_LIMIT,
    AnyPayload,
    Payload,
    QuotingPayload,
    announcement_message,
    compile_payload,
    list_message,
    reply_template_message,
    text_message,
)
from ..whatsapp.client import UploadError
from .results import AnnouncementPlan
from .store import figures, uploads

if TYPE_CHECKING:
    import duckdb

    from ..announcements.model import Announcement
    from ..config import Settings
    from ..whatsapp.transport import Transport

# How long an uploaded file's id is used: Meta keeps media 30 days.
MEDIA_KEPT = timedelta(days=29)


@dataclass
class Payloads:
    bodies: dict[str, AnyPayload] = field(default_factory=dict)  # by payload key
    plans: list[AnnouncementPlan] = field(default_factory=list)
    stop: ApiError | None = None  # an upload answered with an account-level error
    # reply bodies whose template Meta paused, disabled or rejected: never sent, their
    # replies wait queued (payload key -> what Meta would answer, and the reason)
    paused: dict[str, tuple[ApiError, str]] = field(default_factory=dict)

    def announcement_ids(self) -> list[str]:
        return [k for k in self.bodies if k.split("-")[0] not in REPLY_KINDS]


def build(settings: Settings, announcements: list[Announcement],
          con: duckdb.DuckDBPyConnection, transport: Transport | None, now: datetime, *,
          preview_only: bool) -> Payloads:
    """The bodies of the announcements queued and due at ``now``, and the replies'."""
    out = Payloads()
    quiet = in_quiet_hours(now, settings)
    queued = figures.queued_per_announcement(con)
    by_id = announcements_by_id(announcements)
    catalogue = known_templates(settings, con)  # as the latest sync left it
    for ann in announcements:
        if ann.id not in queued or not ann.is_due(now):
            continue
        entry = AnnouncementPlan(ann.id, ann.title, ann.urgency, audience=queued[ann.id])
        entry.held = quiet and not is_urgent(ann, by_id)
        entry.note = t("send.held") if entry.held else ""
        out.plans.append(entry)
        try:
            rendered = render(ann, settings)
        except RenderError as exc:  # validated already; kept queued, reported
            entry.preview = exc.message()
            continue
        entry.preview = as_text(bubble_of(rendered, settings, ann.file, catalogue))
        if entry.held:
            continue
        tpl = rendered.template and catalogue.get(rendered.template, rendered.language)
        if tpl and not tpl.approved:
            # Never with a template Meta paused, disabled or rejected (Meta would refuse
            # it, 132015 stopping the whole run): the announcement waits, queued, and goes
            # at the first run after Meta's re-approval is synced.
            entry.held = True
            entry.note = t("send.template-held", name=tpl.name, status=tpl.status)
            continue
        ref = None
        if rendered.header is not None:
            try:
                ref = media_ref(rendered.header, settings, con, transport, now, preview_only)
            except UploadError as exc:
                # Without its image the announcement waits (queued) for the next run;
                # an account-level answer stops the run like any send would.
                if exc.error.action is Action.STOP:
                    out.stop = exc.error
                    out.bodies.clear()
                    return out
                entry.held = True
                entry.note = t("send.upload-failed", code=exc.error.code, title=exc.error.title)
                continue
        message = announcement_message(rendered, ref)
        out.bodies[ann.id] = (QuotingPayload(message) if ann.references
                              else compile_payload(message))
    out.bodies.update(reply_bodies(settings))
    for kind in TEXT_REPLY_KINDS:
        name = reply_template(settings, kind)
        tpl = name and catalogue.get(name, settings.templates[name].language)
        if tpl and not tpl.approved:
            code = TEMPLATE_STATUS_CODES.get(tpl.status, TEMPLATE_NOT_APPROVED)
            note = t("send.reply-template-held", name=name, status=tpl.status,
                     setting=f"{kind}_template")
            out.paused[f"{kind}-template"] = (ApiError(code, note), note)
    return out


def reply_bodies(settings: Settings) -> dict[str, Payload]:
    """The text replies (welcome, goodbye, acknowledgements; their templates where the
    town has them) and every topic menu."""
    bodies: dict[str, Payload] = {}
    topics = Topics(settings)
    for kind in TEXT_REPLY_KINDS:
        text = reply_text(settings, kind)  # the text the consent record hashes
        message = text_message(text)
        if kind == WELCOME and settings.topics_menu:
            if len(text) > LIST_TEXT_LIMIT:
                raise ConfigError(t("topics.menu-too-long", length=len(text),
                                    most=LIST_TEXT_LIMIT))
            message = topic_menu(settings, topics, text)
        bodies[kind] = compile_payload(message)
        name = reply_template(settings, kind)
        if name:  # outside the 24-hour window only a template may be sent
            bodies[f"{kind}-template"] = compile_payload(
                reply_template_message(name, settings.templates[name], text, settings))
    for key in ack_keys(topics):
        text = menu_text(settings, topics, key)
        if text:
            bodies[key] = compile_payload(topic_menu(settings, topics, text)
                                          if settings.topics_menu else text_message(text))
    return bodies


def topic_menu(settings: Settings, topics: Topics, text: str) -> dict:
    """The topic menu under ``text``: a row per topic, then "all topics"."""
    texts = settings.topic_texts
    rows = [(topics.pick_id(topic.id), topic.label) for topic in topics.topics]
    rows.append((topics.pick_id(EVERY_TOPIC), texts.everything))
    return list_message(text, texts.button, texts.section, rows)


def reply_template(settings: Settings, kind: str) -> str | None:
    """The approved template a reply goes out as outside the 24-hour window (an
    acknowledgement or a hint has none: it is only ever sent inside the window)."""
    name = reply_template_name(settings, kind)
    if name and name not in settings.templates:
        raise ConfigError(t("send.reply-template-unknown", kind=kind, name=name,
                            known=", ".join(sorted(settings.templates)) or "-"))
    return name


def media_ref(header: Media, settings: Settings, con: duckdb.DuckDBPyConnection,
              transport: Transport | None, now: datetime, preview_only: bool) -> dict:
    """``{"link": url}`` or ``{"id": ...}`` of a repo file uploaded once and cached."""
    if header.url:
        return {"link": header.url}
    if preview_only or transport is None:
        return {"id": f"<{header.source}>"}
    assert header.path is not None  # a header without a URL is a repository file
    return {"id": media_id(con, transport, header.path, settings, now)}


def media_id(con: duckdb.DuckDBPyConnection, transport: Transport, path: Path, settings: Settings,
             now: datetime) -> str:
    """The id of a repo file uploaded through /media, uploading it only the first time."""
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    scope = f"{transport.name}:{settings.whatsapp_phone_number_id}"
    cached = uploads.uploaded_id(con, digest, scope, since=now - MEDIA_KEPT)
    if cached:
        return cached
    uploaded = transport.upload_media(Path(path))
    uploads.remember(con, digest, scope, str(path), uploaded, now)
    return uploaded
