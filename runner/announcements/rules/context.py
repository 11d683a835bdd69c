"""What a rule may consult beyond its own file: the settings, the repository root,
the whole repository's announcements (duplicate ids, the weekly cap, the original
of a correction) and the rendered messages.

validate builds one :class:`Context` per file for the rules about the file, and one
for the whole repository (:meth:`Context.build`) once every file is read.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ..schedule import by_id
from ..weekly_cap import weekly_counts

if TYPE_CHECKING:
    from ...config import Settings
    from ..model import Announcement
    from ..render import Rendered, RenderError


@dataclass
class Context:
    settings: Settings
    root: Path
    announcements: list[Announcement] = field(default_factory=list)  # the whole repo
    rendered: dict[str, Rendered | RenderError] = field(default_factory=dict)
    id_files: dict[str, list[str]] = field(default_factory=dict)
    by_id: dict[str, Announcement] = field(default_factory=dict)
    week_rank: dict[str, tuple[str, int]] = field(default_factory=dict)
    budget: dict[str, int] = field(default_factory=dict)
    now: datetime | None = None
    # Repository path -> where its content is, for files read as data (validate.check)
    files: Mapping[str, Path] = field(default_factory=dict)

    def content_of(self, path: Path) -> Path:
        """Where to read the repository file at ``path`` (absolute, under ``root``)."""
        return self.files.get(path.relative_to(self.root).as_posix(), path)

    @classmethod
    def build(cls, settings: Settings, announcements: list[Announcement], root: Path | None = None,
              newcomers: Collection[str] = frozenset(),
              broken: Collection[str] = frozenset()) -> Context:
        """``newcomers``: files under review; they take the weekly budget last, so a
        pull request is told when its file does not fit in an already full week.
        ``broken``: files with errors, never sent: after everyone else, not in the totals."""
        ctx = cls(settings, (root or Path.cwd()).resolve(), announcements,
                  now=settings.current_time())
        files: dict[str, list[str]] = defaultdict(list)
        for ann in announcements:
            files[ann.id].append(ann.file)
        ctx.id_files = dict(files)
        ctx.by_id = by_id(announcements)
        ctx.week_rank, ctx.budget = weekly_counts(announcements, settings, newcomers, broken)
        return ctx
