"""The site build (the ``publish`` command): the static site of everything that has
gone out, built in one pass.

Only announcements that pass ``validate`` are considered (a file with problems
was never sent), and of those only what has gone out
(:mod:`.selection`). The site is written to ``<out>.new`` and moved into place
at the end, so a failed build leaves the previous site whole and a page of an
announcement that no longer qualifies does not linger. ``<out>`` must be a
folder ``publish`` wrote (it holds ``.banditore-site``), hold only the staff's
form (``admin/``, which ``make cms-site`` puts there and every publish carries
over), or not exist: ``--out .`` can never wipe the repository.

Cost: one page and one alert per announcement, written by worker processes for
large archives, as ``validate`` reads them (``bench/publish.py`` measures the build
against ``validate`` on the same files).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import shutil
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..announcements.validate import PARALLEL_FROM, check
from ..errors import ConfigError
from ..messages import t
from . import atom, cap
from .bubble_text import page_html
from .join import QR_FILE, qr_svg
from .selection import Entry, select
from .site import Site, media_file, page_path
from .store import send_records

if TYPE_CHECKING:
    from ..config import Settings

MARKER = ".banditore-site"
KEPT = ("admin",)  # what others put in the site (the staff's form): carried over


@dataclass
class PublishResult:
    out: Path
    pages: int = 0
    feeds: int = 0
    alerts: int = 0
    left_out: int = 0  # announcements with problems: never sent, never published
    database: bool = True  # False: no database, the clock alone decided
    cap: bool = True
    notes: list[str] = field(default_factory=list)

    def lines(self, settings: Settings) -> list[str]:
        out = [t("publish.written", out=self.out, pages=self.pages, feeds=self.feeds,
                 alerts=self.alerts)]
        if not self.database:
            out.append(t("publish.no-database", path=settings.database))
        if not self.cap:
            out.append(t("publish.no-cap"))
        if self.left_out:
            out.append(t("publish.left-out", count=self.left_out))
        return out + self.notes


def publish(settings: Settings, out: str | Path = "site") -> PublishResult:
    """Build the site of what has gone out by now into ``out``."""
    cap.check_settings(settings)
    result = check(settings)
    records = send_records(settings.database)
    entries = select(settings, result.valid, settings.current_time(), records)
    built = build(settings, entries, Path(out), due_only=records is None)
    built.database = records is not None
    built.left_out = len({p.file for p in result.errors})  # warnings do not stop a send
    return built


def build(settings: Settings, entries: list[Entry], out: Path, *,
          due_only: bool = False) -> PublishResult:
    """Write the site of ``entries`` to ``out`` (replacing the one there); ``due_only``:
    there were no send records, and every page says the list is of what was due."""
    _check_target(out)
    new = out.with_name(out.name + ".new")
    shutil.rmtree(new, ignore_errors=True)
    with_cap = cap.enabled(settings)
    alerts = cap.warnings(settings, entries) if with_cap else {}
    site = Site(settings, entries, cap=set(alerts) if with_cap else None, due_only=due_only)
    links = atom.Links(settings)
    result = PublishResult(out=out, cap=with_cap)
    for folder in ("avvisi", "archivio", "categorie", *(["cap"] if with_cap else [])):
        (new / folder).mkdir(parents=True)
    warned = [e for e in entries if e.id in alerts]
    job = _Job(settings, site, links, entries, new, atom.listed(settings, entries, warned),
               alerts)
    result.pages, result.alerts, bodies = _write_entries(job)
    for path, text in site.listings().items():
        (new / path).write_text(text, encoding="utf-8")
    (new / "style.css").write_bytes(site.stylesheet())
    if site.join is not None:
        (new / QR_FILE).write_bytes(qr_svg(site.join, settings.language))
    else:
        result.notes.append(t("publish.no-number"))
    result.notes += _copy_media(entries, new, settings)
    written = atom.feeds(settings, entries, lambda entry: bodies[entry.id], links,
                         cap=warned if with_cap else None)
    for path, data in written.items():
        (new / path).write_bytes(data)
    result.feeds = len(written)
    (new / MARKER).write_text("Written by `python -m runner publish`; replaced whole by it.\n",
                              encoding="utf-8")
    _swap(new, out)
    return result


def _check_target(out: Path) -> None:
    if not out.exists():
        return
    foreign = out.is_dir() and not (out / MARKER).exists() and any(
        entry.name not in KEPT for entry in out.iterdir())
    if not out.is_dir() or foreign:
        raise ConfigError(t("publish.not-a-site", out=out, marker=MARKER))


def _swap(new: Path, out: Path) -> None:
    old = out.with_name(out.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    for name in KEPT:
        if (out / name).exists():
            (out / name).rename(new / name)
    if out.exists():
        out.rename(old)
    new.rename(out)
    shutil.rmtree(old, ignore_errors=True)


def _copy_media(entries: list[Entry], new: Path, settings: Settings) -> list[str]:
    """Each repository media file once, at the same path as in the repository."""
    notes, done = [], set()
    for entry in entries:
        media = entry.media()
        if media is None or media.url is not None or media.source in done:
            continue
        done.add(media.source)
        path = media_file(media.source)
        if path is None:
            notes.append(t("publish.media-missing", file=entry.ann.file, media=media.source))
            continue
        target = new / media.source
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    return notes


@dataclass
class _Job:
    settings: Settings
    site: Site
    links: atom.Links
    entries: list[Entry]
    root: Path
    in_feeds: set[str]  # ids whose body HTML the feeds need back
    alerts: dict[str, str]  # ids that get a CAP alert -> its CAP category


_JOB: _Job | None = None  # what forked workers inherit (nothing is pickled but a range)


def _write_range(bounds: tuple[int, int]) -> tuple[int, int, dict[str, str]]:
    """Pages and alerts of entries[start:end]: (pages, alerts, the body HTML of those
    the feeds list). Each text is rendered once, for all three."""
    job = _JOB
    assert job is not None
    alerts, bodies = 0, {}
    for entry in job.entries[bounds[0]:bounds[1]]:
        body = page_html(job.site.texts.of(entry))
        if entry.id in job.in_feeds:
            bodies[entry.id] = body
        _write(job.root / page_path(entry.id), job.site.page(entry, body).encode())
        if entry.id in job.alerts:
            _write(job.root / "cap" / f"{entry.id}.xml",
                   cap.alert(job.settings, entry, job.links, job.alerts[entry.id]))
            alerts += 1
    return bounds[1] - bounds[0], alerts, bodies


def _write(path: Path, data: bytes) -> None:
    """One new file, with the fewest system calls (creating files is what a large
    site costs: bench/publish.py)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def _write_entries(job: _Job) -> tuple[int, int, dict[str, str]]:
    """Every page and alert; over the CPUs (fork) for a large archive, like validate."""
    global _JOB
    _JOB = job
    try:
        count = len(job.entries)
        workers = min(os.cpu_count() or 1, 4)
        if count < PARALLEL_FROM or workers < 2 or "fork" not in mp.get_all_start_methods():
            return _write_range((0, count))
        size = -(-count // (workers * 4))
        ranges = [(i, min(i + size, count)) for i in range(0, count, size)]
        with ProcessPoolExecutor(workers, mp_context=mp.get_context("fork")) as pool:
            done = list(pool.map(_write_range, ranges))
        bodies = {k: v for d in done for k, v in d[2].items()}
        return sum(d[0] for d in done), sum(d[1] for d in done), bodies
    finally:
        _JOB = None
