"""Rules about the file: its name and folder carry its date, its stem is a unique id."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...messages import dates
from ..model import file_date
from .registry import problem, rule

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ..model import Announcement
    from ..problems import Problem
    from .context import Context


@rule("file-name")
def file_name(ann: Announcement, ctx: Context) -> Iterator[Problem]:
    if file_date(ann.path) is None:
        yield problem(ann, "file-name", "file-name", 1, name=ann.path.name)


@rule("file-date", needs=("publish_at",))
def file_date_matches(ann: Announcement, ctx: Context) -> Iterator[Problem]:
    day = file_date(ann.path)
    if day and ann.publish_at is not None:
        published = ann.publish_at.astimezone(ctx.settings.tz).date()
        if published != day:
            yield problem(ann, "file-date", "file-date", "publish_at",
                          name=ann.path.name, day=dates.day(day), publish=dates.day(published))


@rule("year-folder")
def year_folder(ann: Announcement, ctx: Context) -> Iterator[Problem]:
    day = file_date(ann.path)
    if day and ann.path.parent.name != str(day.year):
        yield problem(ann, "year-folder", "year-folder", 1,
                      folder=ann.path.parent.name, year=day.year)


@rule("duplicate-id", scope="always")
def duplicate_id(ann: Announcement, ctx: Context) -> Iterator[Problem]:
    others = [f for f in ctx.id_files.get(ann.id, []) if f != ann.file]
    if others:
        yield problem(ann, "duplicate-id", "duplicate-id", 1, id=ann.id, others=", ".join(others))
