"""Which announcements the public channels show: those that have gone out.

An announcement has gone out when its publish time has passed and the send
stage's records agree (:func:`has_gone_out`): WhatsApp accepted at least one of its
deliveries. No deliveries at all is not "no audience": it is what an announcement
held by quiet hours, or never planned, looks like, so it is not shown. Without a
database (a fresh checkout) the clock alone decides, and the site says that it lists
what was due. It is *withdrawn* when a withdrawal
(``cancels: <id>``) of it has gone out, or when it was stopped after some citizens
had it (``cancelled: true`` once sending began); *updated* when a correction
(``updates: <id>``) has. One left out of WhatsApp is left out everywhere:
cancelled before anything was sent, still queued (quiet hours), never planned,
never valid (a file with problems is never sent, so the channels only ever see
what passed ``validate``), and drills (``status: exercise|test``: the staff test
group's only).

Every channel reads the same :class:`Entry`: the text as citizens received it
(:mod:`.bubble_text`, from the bubble staff previewed), its media, and
what CAP calls its status, message type and references.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from ..announcements.render import Media, flatten, resolve_media
from .store import Evidence

if TYPE_CHECKING:
    from ..announcements.model import Announcement
    from ..config import Settings


@dataclass
class Entry:
    """One announcement as the channels publish it."""

    ann: Announcement
    published: datetime  # effective publish time, in the town's zone
    expires: datetime | None
    # When it really went out (WhatsApp accepted its first delivery); without a
    # database, the publish time (what was due).
    sent: datetime | None = None
    status: str = "Actual"  # CAP status: Actual, or Exercise for a drill
    msg_type: str = "Alert"  # CAP msgType: Alert, Update (a correction), Cancel (a withdrawal)
    references: tuple[str, ...] = ()  # ids of the announcements it updates or cancels
    # When each of those went out (CAP's references name it by sender, id, sent).
    reference_sent: dict[str, datetime] = field(default_factory=dict)
    withdrawn: bool = False
    withdrawn_by: str | None = None  # the withdrawal's id (None: stopped by `cancelled`)
    updated_by: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.ann.id

    @property
    def went_out(self) -> datetime:
        return self.sent or self.published

    @property
    def title(self) -> str:
        return flatten(self.ann.title)

    @property
    def category(self) -> str:
        return self.ann.category

    @property
    def urgency(self) -> str:
        return self.ann.urgency

    def media(self) -> Media | None:
        return resolve_media(self.ann.media)


def lifecycle(ann: Announcement) -> tuple[str, str, tuple[str, ...]]:
    """(CAP status, msgType, references) from the front matter: ``status`` actual,
    exercise or test is Actual, Exercise or Test; ``updates``/``cancels`` make an
    Update/Cancel that references the original."""
    refs = (ann.references,) if ann.references else ()
    return ann.status.capitalize(), ann.msg_type.capitalize(), refs


def has_gone_out(ann: Announcement, now: datetime, evidence: Evidence | None,
                 have_records: bool) -> bool:
    """The publish time has passed, and: with no database, it was not cancelled; with
    one, WhatsApp accepted at least one of its deliveries."""
    start = ann.effective_publish_at
    if start is None or start > now:
        return False
    if not have_records:
        return not ann.cancelled
    return evidence is not None and evidence.reached > 0


def select(settings: Settings, announcements: list[Announcement], now: datetime,
           records: dict[str, Evidence] | None) -> list[Entry]:
    """The entries of everything that has gone out, oldest first, with the marks that
    tie a correction or a withdrawal to its original."""
    tz = settings.tz
    published = {a.id: a.effective_publish_at for a in announcements}
    entries: dict[str, Entry] = {}
    sent = {key: e.first_sent for key, e in (records or {}).items() if e.first_sent}
    for ann in announcements:
        status, msg_type, references = lifecycle(ann)
        if status != "Actual":  # drills and tests reach the staff only, never the public
            continue
        evidence = records.get(ann.id) if records is not None else None
        if not has_gone_out(ann, now, evidence, records is not None):
            continue
        expires = ann.effective_expires_at
        start = ann.effective_publish_at
        assert start is not None  # has_gone_out: it has a publish time
        start = start.astimezone(tz)
        entries[ann.id] = Entry(
            ann=ann, published=start, expires=expires.astimezone(tz) if expires else None,
            sent=sent[ann.id].astimezone(tz) if ann.id in sent else start,
            status=status, msg_type=msg_type, references=references, withdrawn=ann.cancelled,
            reference_sent={r: (sent.get(r) or at).astimezone(tz)
                            for r in references if (at := published.get(r)) is not None})
    for entry in entries.values():
        for ref in entry.references:
            original = entries.get(ref)
            if original is None:
                continue
            if entry.msg_type == "Cancel":
                original.withdrawn, original.withdrawn_by = True, entry.id
            else:
                original.updated_by.append(entry.id)
    return sorted(entries.values(), key=lambda e: (e.published, e.id))
