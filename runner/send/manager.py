"""A send run, from the database to the transport: the manager of the stage.

In order: fold what a killed run journaled, settle ambiguous deliveries from the
status webhooks and the outbox, plan the due announcements, settle again (a
rebuilt database re-creates rows that already went out), skip what cannot be
sent (with the reason), build the bodies, and let the
:class:`~runner.send.engine.Engine` send. Last, what the run left undone is
counted by reason, and any active subscriber an emergency missed makes it exit 1
(:mod:`.left_out`).
Planning and settling also run after ``sync --rebuild`` from an empty database,
so losing the database never repeats a broadcast. Failures that can succeed now
(transient errors whose retries ran out, 131049 after 24 h) go back to the queue
at every run. SIGTERM (what GitHub sends to cancel a job) stops a send as Ctrl-C
does: the engine lets no request start after it and records what was answered.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, TextIO

import duckdb

from .. import db
from ..errors import BanditoreError
from ..messages import t
from ..vocabulary import ANNOUNCEMENT, EXPIRED, NOT_SUBSCRIBED, REPLY_KINDS
from ..whatsapp.answers import advice
from ..whatsapp.pacing import workers_for
from ..whatsapp.transport import Transport, make_transport
from . import payloads
from .engine import Engine
from .journal import SendLog, log_path
from .left_out import left_out, unwatch, watch
from .plan import plan
from .progress import Progress
from .queue import Queue, fold_log, requeue_failed
from .results import Sending
from .settle import settle
from .store import figures
from .summary import SendSummary, write_step_summary
from .welcome_first import release_held_back

if TYPE_CHECKING:
    from ..announcements.model import Announcement
    from ..config import Settings


def send(settings: Settings, announcements: list[Announcement], *, dry_run: bool = False,
         retry_failed: bool = False, transport: Transport | None = None,
         clock: Callable[[], float] = time.monotonic,
         sleep: Callable[[float], object] = time.sleep, progress: Progress | None = None,
         out: TextIO = sys.stderr, environ: Mapping[str, str] | None = None,
         max_seconds: float | None = None) -> SendSummary:
    """Settle, plan and send ``announcements`` (already validated) where due.

    ``max_seconds`` stops taking new deliveries after that long (a CI job has a time
    limit): what is left stays queued for the next run. ``environ`` is where GitHub's
    variables are read (the step summary, CI): none by default.
    """
    environ = environ or {}
    # DuckDB's share of a send (cache and query state; beyond it, joins spill to disk):
    # without a cap the blocks read from a year of deliveries and statuses stay cached.
    # The default is what settling a million queued against a million-line outbox
    # (read_csv buffers are not spillable) and a dry run planning a million in one
    # transaction both need (bench/send_memory.py; docs/measurements.md).
    con = db.connect(settings.database, memory_limit=f"{settings.send_memory_mb}MB")
    own_transport = transport is None
    if transport is None and not dry_run:
        transport = make_transport(settings, workers_for(settings.rate_per_second))
    try:
        run = _Run(con, settings, transport, clock=clock, sleep=sleep, out=out,
                   environ=environ, max_seconds=max_seconds)
        try:
            summary = run.run(announcements, dry_run=dry_run, retry_failed=retry_failed,
                              progress=progress)
        except duckdb.OutOfMemoryException:
            # What was sent is journaled; the next start folds it in and goes on.
            mb = settings.send_memory_mb
            raise BanditoreError(t("send.out-of-memory", mb=mb, more=2 * mb)) from None
        if not dry_run:
            write_step_summary(summary, environ)
        return summary
    finally:
        if own_transport and transport is not None:
            transport.close()
        con.close()


class _Run:
    def __init__(self, con: duckdb.DuckDBPyConnection, settings: Settings,
                 transport: Transport | None, *,
                 clock: Callable[[], float], sleep: Callable[[float], object], out: TextIO,
                 environ: Mapping[str, str], max_seconds: float | None) -> None:
        self.con, self.settings, self.transport = con, settings, transport
        self.clock, self.sleep, self.out, self.environ = clock, sleep, out, environ
        self.max_seconds = max_seconds
        self.now = settings.current_time()
        self.t0 = clock()
        self.log = log_path(settings.database)
        self.queue = Queue(con, self.now, self.log)
        self.summary = SendSummary(transport=getattr(transport, "name", None) or (
            "outbox" if settings.whatsapp_token is None else "cloud"),
            configured_rate=settings.rate_per_second)

    def run(self, announcements: list[Announcement], *, dry_run: bool, retry_failed: bool,
            progress: Progress | None) -> SendSummary:
        summary, queue = self.summary, self.queue
        summary.dry_run = dry_run
        watch(self.con, announcements, self.now)  # before anything changes
        fold_log(self.con, self.log, discard=True)  # what a killed run journaled, first
        at_once = summary.transport == "outbox"  # the outbox is the whole truth
        # ... and, with the Cloud API, no truth at all: a line a trial run wrote there
        # (a delivery id is the same in any database) reached nobody.
        outbox_path = Path(self.settings.outbox) if at_once else None
        # A dry run plans and counts in a transaction it rolls back: it changes nothing.
        with db.transaction(self.con, commit=False) if dry_run else nullcontext():
            summary.settled = settle(self.con, self.now, outbox_path, at_once=at_once)
            # before planning, which closes those of expired announcements
            summary.requeued_failed = requeue_failed(self.con, self.now, payload=retry_failed)
            summary.requeued_failed += release_held_back(self.con, self.now)
            summary.plan = plan(self.con, self.settings, announcements, self.now)
            again = settle(self.con, self.now, outbox_path, at_once=at_once)
            summary.settled.from_statuses += again.from_statuses
            summary.settled.from_outbox += again.from_outbox
            summary.settled.awaiting = again.awaiting
            skipped = queue.skip_unsendable(
                [k for k in REPLY_KINDS if not payloads.reply_template(self.settings, k)])
            for reason, n in ((NOT_SUBSCRIBED, summary.plan.left),
                              (EXPIRED, summary.plan.expired)):
                skipped[ANNOUNCEMENT, reason] += n
            summary.skipped_by = +skipped  # (without the reasons of none)
            summary.skipped = sum(summary.skipped_by.values())
            built = payloads.build(self.settings, announcements, self.con, self.transport,
                                   self.now, preview_only=dry_run)
            summary.announcements = built.plans
            for entry in built.plans:
                entry.reach = summary.plan.reach.get(entry.id)
            total, summary.replies_queued = queue.prepare(built.announcement_ids())
            if dry_run:  # what the run would leave an emergency's audience without
                summary.left_out = left_out(self.con)
        if dry_run:  # (the rollback took the queue's tables with it)
            unwatch(self.con)
            return summary
        assert self.transport is not None  # made by run() for every run that is not dry
        engine = Engine(queue, SendLog(self.log, self._now_ms), self.transport,
                        rate=self.settings.rate_per_second, clock=self.clock, sleep=self.sleep,
                        deadline=self.clock() + self.max_seconds if self.max_seconds else None)
        engine.stop_error = built.stop
        # A reply template Meta paused is never sent: its replies wait, queued, as if
        # Meta had refused the body (without asking it: 132015 would stop the run).
        engine.courier.halted.update({key: err for key, (err, _) in built.paused.items()})
        sending = Sending()
        if engine.stop_error is None:
            with _sigterm_as_interrupt():
                sending = engine.run(built.bodies,
                                     progress or Progress(total, self.out, self.environ))
        queue.close()
        summary = self._finish(summary, sending, engine)
        summary.halted.update({key: note for key, (_, note) in built.paused.items()})
        return summary

    def _finish(self, summary: SendSummary, sending: Sending, engine: Engine) -> SendSummary:
        summary.elapsed = self.clock() - self.t0
        summary.sent, summary.failed = sending.sent, sending.failed
        summary.retries, summary.failures = sending.retries, sending.failures
        summary.send_elapsed, summary.send_cpu = sending.elapsed, sending.cpu
        summary.throttled = engine.pacer.throttle_count
        summary.paced_rate = engine.pacer.rate
        summary.slowest_rate = min([engine.pacer.configured_rate,
                                    *(d.rate for d in engine.pacer.decisions)])
        summary.backoffs = list(engine.courier.backoffs)
        done = summary.sent + summary.failed
        summary.rate = done / summary.send_elapsed if summary.send_elapsed else 0.0
        ids = sorted({*summary.plan.planned, *(a.id for a in summary.announcements)})
        summary.table = figures.run_table(self.con, ids)
        summary.halted = {key: t("send.halted", code=err.code, title=err.title)
                          for key, err in engine.courier.halted.items()}
        summary.left_out = left_out(self.con)
        unwatch(self.con)
        if engine.stop_error is not None:
            err = engine.stop_error
            summary.stopped = t("send.stopped", code=err.code, title=err.title,
                                advice=t(f"send.advice-{advice(err.code)}"))
        return summary

    def _now_ms(self) -> int:
        """The time journaled with a row: the run's start plus the time since, on its clock."""
        return int((self.now.timestamp() + self.clock() - self.t0) * 1000)


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (a cancelled CI job) stops the send as Ctrl-C does; without this Python
    would die at once, leaving requests it had queued to whoever runs next."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt
