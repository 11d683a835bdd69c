"""An announcement: one Markdown file with YAML front matter, and its one model.

``announcements/YYYY/YYYY-MM-DD-slug.md``::

    ---
    title: Chiusura di via Roma
    category: viabilita
    urgency: normal            # normal | high | emergency
    publish_at: 2024-04-03T10:00:00+02:00
    expires_at: 2024-04-05T18:00:00+02:00
    media: announcements/media/via-roma.jpg   # a file in the repo, or an https URL
    template: avviso_comune
    updates: 2024-04-02-via-roma   # or cancels: ..., never both (see "Lifecycle")
    status: actual             # actual | exercise | test
    instruction: Evitate via Roma   # what to do: the CAP alert's <instruction>
    ---
    Il testo in Markdown...

:class:`Announcement` is the only definition of the front-matter vocabulary:
unknown keys are errors (with a "did you mean" for typos), and the messages and
docs derive from its fields. The id is the file stem, so it is unique and stable.

When an announcement is sent (the rule the send engine uses, via
:meth:`Announcement.is_due`):

* It is *published* at ``publish_at``; without one, at 00:00 (town time) of the
  date in its file name. A naive date/time means the town's time zone.
* It *expires* at ``expires_at``; without one, ``default_validity_days`` (7) after
  it is published. So a file committed long ago is past its expiry and is never
  sent by a new deployment (or after the database is lost): only announcements
  whose window ``publish <= now < expiry`` contains "now" go out.
* A ``cancelled: true`` announcement is never sent again.

Lifecycle (the same vocabulary as CAP 1.2's msgType and status):

* no ``updates``/``cancels``: an *Alert*, to the subscribers of its category's topic
  (everyone for emergency and mandatory categories);
* ``updates: <id>``: an *Update*, a correction of the earlier announcement ``<id>``
  (a file stem). It goes only to the citizens who received that one, quoting it,
  never to later subscribers, and keeps its category;
* ``cancels: <id>``: a *Cancel*, a withdrawal. The original's remaining sends stop
  and those who received it are told, quoting it. Unlike ``cancelled: true``
  (stop silently), it is a message of its own;
* ``status: exercise`` or ``test``: a drill (CAP Exercise / Test), sent only to the
  staff test group (``test_recipients``), labelled as such, outside the weekly cap.
  ``actual`` (the default) is CAP's Actual.

Validation follows the same clock: an expired announcement is history, held only
to being readable and to a unique id (:func:`.schedule.is_history`), so a later
policy change never turns old files into errors.

Reading a file into this model is :mod:`.reading`'s job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
)

FILE_NAME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})-[a-z0-9]+(?:-[a-z0-9]+)*$")


@dataclass(frozen=True)
class Source:
    path: Path
    file: str
    body: str
    body_line: int
    lines: dict[str, int] = field(default_factory=dict)
    tz: ZoneInfo = ZoneInfo("Europe/Rome")
    validity_days: int = 7
    # Front-matter keys whose value is wrong or missing: a draft (reading.py) holds the
    # rest, and the rules that read none of these still apply to it.
    broken: frozenset[str] = frozenset()

    @property
    def id(self) -> str:
        return self.path.stem

class Announcement(BaseModel):
    """The front matter of an announcement. Field names are the allowed keys."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Field(description="the headline citizens read first")
    category: str = Field(description="one of the town's categories")
    urgency: Literal["normal", "high", "emergency"] = Field(
        "normal", description="emergency only for emergency categories; skips the weekly cap")
    publish_at: datetime | None = Field(
        None, description="when it goes out; default 00:00 of the date in the file name")
    expires_at: datetime | None = Field(
        None, description="not sent from then on; default publish_at + default_validity_days")
    media: str | None = Field(
        None, description="image, video or document: a repo path or an https URL")
    template: str | None = Field(None, description="a configured template; default_template")
    cancelled: bool = Field(False, description="true: never sent (again)")
    updates: str | None = Field(
        None, description="id of an earlier announcement this one corrects: it goes only "
        "to those who received that one, quoting it (CAP msgType Update)")
    cancels: str | None = Field(
        None, description="id of an earlier announcement this one withdraws: its remaining "
        "sends stop and those who received it are told, quoting it (CAP msgType Cancel)")
    status: Literal["actual", "exercise", "test"] = Field(
        "actual", description="exercise or test: a drill, sent only to the staff test group "
        "(CAP status Actual / Exercise / Test)")
    instruction: str | None = Field(
        None, description="what citizens should do, in plain words: the CAP alert's "
        "instruction (the WhatsApp message is the text below)")

    _source: Source = PrivateAttr()

    @field_validator("title", "category", "updates", "cancels")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value:
            raise ValueError("blank")
        return value

    @field_validator("publish_at", "expires_at", "media", "template", "updates", "cancels",
                     "instruction", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        # "expires_at: ''" is how a form (the staff's CMS) writes a field emptied again.
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("publish_at", "expires_at", mode="before")
    @classmethod
    def _date_is_midnight(cls, value: Any) -> Any:
        if isinstance(value, date) and not isinstance(value, datetime):
            return datetime.combine(value, time(0))
        return value

    @field_validator("publish_at", "expires_at")
    @classmethod
    def _naive_is_town_time(cls, value: datetime | None,
                            info: ValidationInfo) -> datetime | None:
        if value is not None and value.tzinfo is None:
            tz = (info.context or {}).get("tz") or ZoneInfo("Europe/Rome")
            value = value.replace(tzinfo=tz)
        return value

    # --- where it came from ---------------------------------------------------
    @property
    def source(self) -> Source:
        # Straight from the private dict: pydantic's __getattr__ fallback for private
        # attributes is slow, and rules read these thousands of times.
        # A model with private attributes always has this dict; pydantic types it optional.
        return self.__pydantic_private__["_source"]  # type: ignore[index]

    @property
    def id(self) -> str:
        return self.source.id

    @property
    def path(self) -> Path:
        return self.source.path

    @property
    def file(self) -> str:
        """The path as shown to staff (relative to the working directory when possible)."""
        return self.source.file

    @property
    def body(self) -> str:
        return self.source.body

    @property
    def is_draft(self) -> bool:
        """Read with some front-matter values wrong or missing (:attr:`Source.broken`):
        checked as far as it can be, never sent."""
        return bool(self.source.broken)

    @property
    def body_line(self) -> int:
        """Line number (1-based) of the first body line in the file."""
        return self.source.body_line

    def line(self, key: str | None = None) -> int:
        """Line of a front-matter key (the opening ``---`` when absent)."""
        return self.source.lines.get(key, 1) if key else 1

    # --- its place in a chain (CAP msgType) ----------------------------------
    @property
    def references(self) -> str | None:
        """The id of the announcement this one corrects or withdraws, if any."""
        return self.updates or self.cancels

    @property
    def msg_type(self) -> Literal["alert", "update", "cancel"]:
        """CAP's msgType, lower case: alert (a new announcement), update, or cancel."""
        if self.cancels:
            return "cancel"
        return "update" if self.updates else "alert"

    @property
    def is_drill(self) -> bool:
        """An exercise or a test: only the staff test group receives it."""
        return self.status != "actual"

    # --- when it is sent ----------------------------------------------------
    @property
    def effective_publish_at(self) -> datetime | None:
        if self.publish_at is not None:
            return self.publish_at
        day = file_date(self.path)
        return datetime.combine(day, time(0), tzinfo=self.source.tz) if day else None

    @property
    def effective_expires_at(self) -> datetime | None:
        if self.expires_at is not None:
            return self.expires_at
        start = self.effective_publish_at
        return start + timedelta(days=self.source.validity_days) if start else None

    def is_due(self, now: datetime) -> bool:
        """True when it may be sent at ``now``: published, not expired, not cancelled."""
        start, end = self.effective_publish_at, self.effective_expires_at
        if now.tzinfo is None:  # a naive clock is the town's time, as in the files
            now = now.replace(tzinfo=self.source.tz)
        return not self.cancelled and start is not None and end is not None and \
            start <= now < end


FRONT_MATTER_KEYS = tuple(Announcement.model_fields)


def file_date(path: Path) -> date | None:
    """The date in ``YYYY-MM-DD-slug.md``, or None when the name does not follow it."""
    match = FILE_NAME.match(path.stem)
    if not match:
        return None
    try:
        return date(*map(int, match.groups()))
    except ValueError:
        return None
