"""The send engine: queued -> sending -> sent | failed, exactly once, paced, with retries.

Exactly once rests on three habits:

- A delivery is marked ``sending`` (committed) *before* its request leaves and
  ``sent``/``failed`` after the answer. State is written in batches (a DuckDB
  write per row is slow) to an append-only journal (``send_journal``, folded
  into ``deliveries`` every chunk: an UPDATE of a million-row table costs
  20 ms, an append does not), so ``sending`` covers at most two batches, the
  results of the last half second and the requests in flight: that is all a
  kill -9 can leave ambiguous.
- At start, ambiguous deliveries are settled from the status webhooks
  (``biz_opaque_callback_data`` = ``banditore:<delivery_id>``) and the outbox
  before anything is sent; only those with no trace are sent again.
- Planning and settling also run after ``sync --rebuild`` from an empty
  database, so losing the database never repeats a broadcast.

Errors are classified by ``error.code`` (runner.meta_errors); tenacity retries
the transient ones with exponential backoff and jitter; an account-level error
stops the whole run at once.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
from tenacity import Retrying, retry_if_result, wait_exponential_jitter

from . import store
from .errors import BanditoreError, ConfigError
from .messages import t
from .meta_errors import (
    FIRST_WAIT,
    PAYLOAD_CODES,
    RETRY_LATER_AFTER_S,
    RETRY_LATER_CODES,
    Action,
    ApiError,
)
from .outbox import OutboxTransport
from .pacing import Pacer, wake_grid, workers_for
from .plan import PlanSummary, Settled, in_quiet_hours, plan, settle
from .subscribers import reply_text
from .whatsapp import (
    CloudTransport,
    Payload,
    Result,
    UploadError,
    announcement_message,
    compile_payload,
    media_id,
    reply_template_message,
    text_message,
)

_RETRYABLE = frozenset({Action.RETRY, Action.THROUGHPUT, Action.PAIR_RATE})
_REPLIES = ("welcome", "goodbye")
# Queued deliveries the run may send (temp tables filled by _prepare_queue).
_QUEUED_SENDABLE = """d.state = 'queued' AND (d.kind IN (SELECT kind FROM sendable_kinds)
    OR (d.kind = 'announcement' AND d.announcement_id IN (SELECT announcement_id FROM sendable)))"""
HALT_AFTER = 3  # payload errors, with no success, before an announcement is halted


@dataclass
class AnnouncementPlan:
    """What one announcement sends, for the dry run and the summary."""

    id: str
    title: str
    urgency: str
    audience: int = 0
    held: bool = False  # not sent this time: quiet hours, or its media could not be uploaded
    preview: str = ""
    note: str = ""  # why it was held


@dataclass
class SendSummary:
    transport: str
    dry_run: bool = False
    settled: Settled = field(default_factory=Settled)
    plan: PlanSummary = field(default_factory=PlanSummary)
    announcements: list[AnnouncementPlan] = field(default_factory=list)
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    retries: int = 0
    throttled: int = 0
    requeued_failed: int = 0
    failures: Counter = field(default_factory=Counter)  # (code, title) -> count
    stopped: str | None = None
    elapsed: float = 0.0
    rate: float = 0.0
    # per announcement (or reply kind): audience, sent, delivered/read, failed, queued, skipped
    table: list[tuple] = field(default_factory=list)
    configured_rate: float = 0.0
    backoffs: list[float] = field(default_factory=list)  # retry waits (the last 1,000)
    send_elapsed: float = 0.0  # wall and process CPU seconds of the sending phase alone
    send_cpu: float = 0.0
    replies_queued: int = 0
    # announcement (or reply kind) -> why it was halted: Meta rejected the body itself
    halted: dict[str, str] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        if self.stopped:
            return 2
        return 1 if self.failed or self.halted else 0


def make_transport(settings, pool_size: int):
    """The Cloud API with a token; the local outbox without one."""
    if settings.whatsapp_token is None:
        return OutboxTransport(settings.outbox)
    if not settings.whatsapp_phone_number_id:
        raise BanditoreError(t("send.no-phone-number-id"))
    return CloudTransport(settings.whatsapp_api_base, settings.whatsapp_api_version,
                          settings.whatsapp_phone_number_id,
                          settings.whatsapp_token.get_secret_value(), pool_size=pool_size)


def valid_announcements(settings) -> list:
    """The announcements that pass validation: an invalid one is reported, never sent."""
    from . import validate

    return list(validate.check(settings).valid)


def send(settings, *, dry_run: bool = False, retry_failed: bool = False, announcements=None,
         transport=None, clock=time.monotonic, sleep=time.sleep, progress=None,
         out=sys.stderr, max_seconds: float | None = None) -> SendSummary:
    """Settle, plan and send everything due; see the module docstring.

    ``max_seconds`` stops taking new deliveries after that long (a CI job has a time
    limit): what is left stays queued for the next run.
    """
    if announcements is None:
        announcements = valid_announcements(settings)
    # DuckDB's share of a send (cache and query state; beyond it, joins spill to disk):
    # without a cap the blocks read from a year of deliveries and statuses stay cached.
    # 96 MB is too little to settle 1,000,000 queued against a 1,000,000-line outbox
    # (read_csv buffers are not spillable), 64 MB for a dry run planning 1,000,000 in
    # one transaction; the default 128 MB does both (bench/send_memory.py).
    con = store.connect(settings.database, memory_limit=f"{settings.send_memory_mb}MB")
    own_transport = transport is None
    if transport is None and not dry_run:
        transport = make_transport(settings, workers_for(settings.rate_per_second))
    try:
        engine = Engine(con, settings, transport, clock=clock, sleep=sleep, out=out)
        engine.max_seconds = max_seconds
        try:
            summary = engine.run(announcements, dry_run=dry_run, retry_failed=retry_failed,
                                 progress=progress)
        except duckdb.OutOfMemoryException:
            # What was sent is journaled; the next start folds it in and goes on.
            mb = settings.send_memory_mb
            raise BanditoreError(t("send.out-of-memory", mb=mb, more=2 * mb)) from None
        if not dry_run:
            write_step_summary(summary)
        return summary
    finally:
        if own_transport and transport is not None:
            transport.close()
        con.close()


class Engine:
    def __init__(self, con: duckdb.DuckDBPyConnection, settings, transport, *,
                 clock=time.monotonic, sleep=time.sleep, out=sys.stderr) -> None:
        self.con = con
        self.settings = settings
        self.transport = transport
        self.clock = clock
        self.sleep = sleep
        self.out = out
        self.now = settings.current_time()
        self._t0 = clock()
        self.summary = SendSummary(transport=getattr(transport, "name", None) or (
            "outbox" if settings.whatsapp_token is None else "cloud"),
            configured_rate=settings.rate_per_second)
        self.stop_error: ApiError | None = None
        self.halted: dict[str, ApiError] = {}  # payload key -> the error that halted it
        self._worked: set[str] = set()  # payload keys that were accepted at least once
        self._payload_errors: Counter = Counter()
        self._halt_lock = threading.Lock()
        self.max_seconds: float | None = None
        self.results: deque = deque()
        self.pacer = Pacer(settings.rate_per_second, clock=clock, sleep=sleep,
                           grid=wake_grid(settings.rate_per_second))
        self._retrying = Retrying(
            sleep=sleep, stop=self._stop_rule, wait=self._wait_rule,
            retry=retry_if_result(self._should_retry),
            retry_error_callback=lambda state: state.outcome.result(),
            before_sleep=lambda state: self.backoffs.append(state.next_action.sleep),
        )
        self.backoffs: deque[float] = deque(maxlen=1000)  # the last retry waits, for tests
        self._wait_fast = wait_exponential_jitter(multiplier=1, max=60, jitter=1)
        self._wait_slow = wait_exponential_jitter(multiplier=60, max=600, jitter=10)

    # --- the run ------------------------------------------------------------
    def run(self, announcements, *, dry_run: bool, retry_failed: bool, progress) -> SendSummary:
        summary = self.summary
        summary.dry_run = dry_run
        outbox_path = Path(self.settings.outbox)
        fold_journal(self.con)  # what a killed run journaled, before settling it
        if dry_run:
            self.con.execute("BEGIN TRANSACTION")  # a dry run changes nothing
        try:
            summary.settled = settle(self.con, self.now, outbox_path)
            if retry_failed:  # before planning, which closes those of expired announcements
                summary.requeued_failed = self._requeue_failed()
            summary.plan = plan(self.con, self.settings, announcements, self.now)
            # Planning after a rebuild re-creates rows that already went out: settle again.
            again = settle(self.con, self.now, outbox_path)
            summary.settled.from_statuses += again.from_statuses
            summary.settled.from_outbox += again.from_outbox
            summary.skipped = self._skip_unsendable()
            payloads = self._payloads(announcements, preview_only=dry_run)
            total = self._prepare_queue(payloads)
            if dry_run:
                return summary
            if self.stop_error is None:
                self._send_all(payloads, total, progress)
        finally:
            if dry_run:
                self.con.execute("ROLLBACK")
        summary.elapsed = self.clock() - self._t0
        summary.throttled = self.pacer.throttle_count
        summary.backoffs = list(self.backoffs)
        done = summary.sent + summary.failed
        summary.rate = done / summary.send_elapsed if summary.send_elapsed else 0.0
        summary.table = self._table()
        summary.halted = {key: t("send.halted", code=err.code, title=err.title)
                          for key, err in self.halted.items()}
        if self.stop_error is not None:
            err = self.stop_error
            summary.stopped = t("send.stopped", code=err.code, title=err.title,
                                advice=t(f"send.advice-{_advice(err.code)}"))
        return summary

    def _table(self) -> list[tuple]:
        ids = sorted({*self.summary.plan.planned, *(a.id for a in self.summary.announcements)})
        return self.con.execute(
            """
            SELECT CASE WHEN kind = 'announcement' THEN announcement_id ELSE kind END AS name,
                   count(*), count_if(state = 'sent'),
                   count_if(state IN ('delivered', 'read', 'played')), count_if(state = 'failed'),
                   count_if(state IN ('queued', 'sending')),
                   count_if(state IN ('skipped', 'cancelled'))
            FROM deliveries
            WHERE announcement_id IN (SELECT unnest($ids::VARCHAR[]))
               OR kind IN ('welcome', 'goodbye')
            GROUP BY 1 ORDER BY (name IN ('welcome', 'goodbye')), name
            """,
            {"ids": ids},
        ).fetchall()

    def _requeue_failed(self) -> int:
        retry_codes = sorted(RETRY_LATER_CODES)
        return self.con.execute(
            """
            UPDATE deliveries SET state = 'queued', updated_at = $now
            WHERE state = 'failed' AND (
                (error_code IN (SELECT unnest($later)) AND updated_at <= $cutoff)
                OR error_code IN (SELECT unnest($transient)))
            """,
            {"now": self.now, "later": retry_codes,
             "cutoff": self.now - timedelta(seconds=RETRY_LATER_AFTER_S),
             "transient": _transient_codes()},
        ).fetchone()[0]

    def _skip_unsendable(self) -> int:
        """Welcome/goodbye outside the 24-hour window, or to a citizen with no number."""
        skipped = self.con.execute(
            """
            UPDATE deliveries SET state = 'skipped', error_title = $reason, updated_at = $now
            FROM citizens c
            WHERE deliveries.citizen_id = c.citizen_id AND deliveries.state = 'queued'
              AND deliveries.kind IN (SELECT unnest($no_template::VARCHAR[]))
              AND (c.last_inbound_at IS NULL OR c.last_inbound_at < $window)
            """,
            {"now": self.now, "reason": "outside_24h_window",
             "window": self.now - timedelta(hours=24),
             "no_template": [k for k in ("welcome", "goodbye") if not self._reply_template(k)]},
        ).fetchone()[0]
        skipped += self.con.execute(
            """
            UPDATE deliveries SET state = 'skipped', error_title = 'no_phone_number',
                   updated_at = $now
            WHERE state = 'queued' AND citizen_id NOT IN (
                SELECT citizen_id FROM citizens WHERE wa_id IS NOT NULL AND wa_id <> '')
            """,
            {"now": self.now},
        ).fetchone()[0]
        return skipped

    # --- what is sent -----------------------------------------------------------
    def _payloads(self, announcements, *, preview_only: bool) -> dict[str, Payload | None]:
        """One serialised body per sendable announcement (and for welcome/goodbye)."""
        from .render import RenderError, render

        settings = self.settings
        quiet = in_quiet_hours(self.now, settings)
        queued = dict(self.con.execute(
            "SELECT announcement_id, count(*) FROM deliveries "
            "WHERE state = 'queued' AND kind = 'announcement' GROUP BY ALL").fetchall())
        payloads: dict[str, Payload | None] = {}
        for ann in announcements:
            if ann.id not in queued or not ann.is_due(self.now):
                continue
            entry = AnnouncementPlan(ann.id, ann.title, ann.urgency, audience=queued[ann.id])
            entry.held = quiet and ann.urgency != "emergency"
            entry.note = t("send.held") if entry.held else ""
            try:
                rendered = render(ann, settings)
            except RenderError as exc:  # validated already; kept queued, reported
                entry.preview = exc.message()
                self.summary.announcements.append(entry)
                continue
            entry.preview = _preview(rendered)
            self.summary.announcements.append(entry)
            if entry.held:
                continue
            media = None
            if rendered.header is not None:
                try:
                    media = self._media_ref(rendered.header, preview_only)
                except UploadError as exc:
                    # Without its image the announcement waits (queued) for the next run;
                    # an account-level answer stops the run like any send would.
                    err = exc.error
                    if err.action is Action.STOP:
                        self.stop_error = err
                        return {}
                    entry.held = True
                    entry.note = t("send.upload-failed", code=err.code, title=err.title)
                    continue
            payloads[ann.id] = compile_payload(announcement_message(rendered, media))
        for kind in _REPLIES:
            text = reply_text(settings, kind)  # the text the consent record hashes
            payloads[kind] = compile_payload(text_message(text))
            name = self._reply_template(kind)
            if name:  # outside the 24-hour window only a template may be sent
                payloads[f"{kind}-template"] = compile_payload(
                    reply_template_message(name, settings.templates[name], text, settings))
        return payloads

    def _reply_template(self, kind: str) -> str | None:
        name = getattr(self.settings, f"{kind}_template")
        if name and name not in self.settings.templates:
            raise ConfigError(t("send.reply-template-unknown", kind=kind, name=name,
                                known=", ".join(sorted(self.settings.templates)) or "-"))
        return name

    def _media_ref(self, media, preview_only: bool) -> dict:
        """``{"link": url}`` or ``{"id": ...}`` of a repo file uploaded once and cached."""
        if media.url:
            return {"link": media.url}
        if preview_only or self.transport is None:
            return {"id": f"<{media.source}>"}
        return {"id": media_id(self.con, self.transport, Path(media.path), self.settings)}

    def _prepare_queue(self, payloads) -> int:
        ids = [k for k in payloads if k.split("-")[0] not in _REPLIES]
        self.con.execute(
            "CREATE OR REPLACE TEMP TABLE sendable AS "
            "SELECT unnest(?::VARCHAR[]) AS announcement_id", [ids])
        self.con.execute("CREATE OR REPLACE TEMP TABLE sendable_kinds AS "
                         "SELECT unnest(?::VARCHAR[]) AS kind", [list(_REPLIES)])
        self._excluded: set[str] = set()
        self.summary.replies_queued = self.con.execute(
            "SELECT count(*) FROM deliveries WHERE state = 'queued' "
            "AND kind IN ('welcome', 'goodbye')").fetchone()[0]
        return self.con.execute(
            """
            SELECT count(*) FROM deliveries
            WHERE state = 'queued' AND (kind IN ('welcome', 'goodbye')
                  OR announcement_id IN (SELECT announcement_id FROM sendable))
            """).fetchone()[0]

    def _fresh_chunk(self) -> list[tuple]:
        """The next chunk, or nothing when it starts where the last one did: whatever put
        those deliveries back in the queue, sending them again now would loop."""
        rows = self._next_chunk()
        first = rows[0][0] if rows else None
        if first is not None and first == getattr(self, "_last_first", None):
            return []
        self._last_first = first
        return rows

    def _next_chunk(self) -> list[tuple]:
        # Everything already dispatched is journaled: fold it in so it is not selected again.
        fold_journal(self.con)
        # A halted body's deliveries went back to the queue: stop selecting them.
        for key in set(self.halted) - self._excluded:
            self._excluded.add(key)
            kind = key.split("-")[0]
            if kind in _REPLIES:
                self.con.execute("DELETE FROM sendable_kinds WHERE kind = ?", [kind])
            else:
                self.con.execute("DELETE FROM sendable WHERE announcement_id = ?", [key])
        # Replies first (the 24-hour window is closing), then emergencies; within an
        # announcement by citizen, so one citizen's messages are a whole pass apart.
        # One group (the replies, or one announcement) at a time, and within it only
        # the citizens below a bound that holds about a chunk: sorting the whole
        # queue for each chunk held 140 MB at 1,000,000 queued (issue 4).
        group = self.con.execute(
            f"""
            SELECT d.announcement_id, count(*)
            FROM deliveries d LEFT JOIN announcements a USING (announcement_id)
            WHERE {_QUEUED_SENDABLE}
            GROUP BY ALL
            ORDER BY min(CASE WHEN d.kind <> 'announcement' THEN 0
                              WHEN a.urgency = 'emergency' THEN 1 ELSE 2 END),
                     min(a.publish_at), d.announcement_id NULLS FIRST
            LIMIT 1
            """).fetchall()
        if not group:
            return []
        announcement_id, queued = group[0]
        where = ("d.kind IN (SELECT kind FROM sendable_kinds)" if announcement_id is None
                 else "d.kind = 'announcement' AND d.announcement_id = $ann")
        params = {} if announcement_id is None else {"ann": announcement_id}
        bound = ""
        if queued > 2 * self._chunk:
            sample = sorted(row[0] for row in self.con.execute(
                f"SELECT citizen_id FROM (SELECT d.citizen_id FROM deliveries d "
                f"WHERE d.state = 'queued' AND {where}) USING SAMPLE reservoir(1000 ROWS)",
                params).fetchall())
            bound = "AND d.citizen_id <= $upto"
            params["upto"] = sample[min(len(sample) - 1, len(sample) * self._chunk // queued)]
        # The number is looked up for the chosen rows only: joining every queued
        # delivery to citizens costs more than the sort.
        return self.con.execute(
            f"""
            WITH next AS (
                SELECT d.delivery_id, d.citizen_id,
                       CASE WHEN d.kind = 'announcement' THEN d.announcement_id
                            ELSE d.kind END AS payload
                FROM deliveries d
                WHERE d.state = 'queued' AND {where} {bound}
                ORDER BY d.citizen_id
                LIMIT $n)
            SELECT next.delivery_id, next.citizen_id, c.wa_id,
                   CASE WHEN next.payload IN ('welcome', 'goodbye')
                         AND (c.last_inbound_at IS NULL OR c.last_inbound_at < $window)
                        THEN next.payload || '-template' ELSE next.payload END
            FROM next JOIN citizens c ON c.citizen_id = next.citizen_id
            ORDER BY next.citizen_id
            """,
            {**params, "n": self._chunk, "window": self.now - timedelta(hours=24)},
        ).fetchall()

    # --- sending ----------------------------------------------------------------
    def _send_all(self, payloads: dict[str, Payload], total: int, progress) -> None:
        rate = self.settings.rate_per_second
        concurrent = getattr(self.transport, "concurrent", True)
        workers = workers_for(rate) if concurrent else 1
        # Batch sizes: small enough that a kill leaves few ambiguous, large enough
        # that DuckDB writes stay a small share of the CPU.
        batch = max(40, int(rate * 0.1)) if concurrent else 2000
        # Results ride along with each `sending` batch (each write costs ~1.7 ms of CPU
        # whatever its size); on their own only when no batch went out for two batches' time.
        self._flush_every = max(0.5, 2 * batch / rate) if concurrent else 0.5
        # The main thread's nap while workers send: a quarter of a batch's worth of time.
        self._idle = min(0.05, batch / rate / 4) if concurrent else 0.0
        self._progress = progress or Progress(total, self.out)
        self._pending: list[tuple] = []
        self._seq = 0
        # Rows taken from the queue per query: up to half a minute, at most 10,000 (the
        # outbox ignores the rate). Each chunk is Python tuples and journal rows to fold:
        # 30,000 at a time raised the peak of a 1,000,000 send from 190 to 206 MB.
        self._chunk = min(10_000, max(2_000, int(rate * 30))) if concurrent else 10_000
        self._last_flush = time.monotonic()
        started, cpu = time.monotonic(), time.process_time()
        self._deadline = started + self.max_seconds if self.max_seconds else None
        try:
            if concurrent:
                self._send_threaded(payloads, workers, batch)
            else:
                self._send_inline(payloads, batch)
        finally:  # also on Ctrl-C: what got an answer is recorded, not left ambiguous
            self._flush(force=True)
            fold_journal(self.con)
        self.summary.send_elapsed = time.monotonic() - started
        self.summary.send_cpu = time.process_time() - cpu
        self._progress.close()

    def _out_of_time(self) -> bool:
        return self._deadline is not None and time.monotonic() >= self._deadline

    def _items(self, rows, payloads):
        for delivery_id, citizen_id, wa_id, key in rows:
            yield delivery_id, citizen_id, payloads[key].body(wa_id, delivery_id), key

    def _send_inline(self, payloads, batch: int) -> None:
        while self.stop_error is None and not self._out_of_time():
            rows = self._fresh_chunk()
            if not rows:
                return
            for start in range(0, len(rows), batch):
                sub = rows[start:start + batch]
                self._mark_sending(sub)
                for item in self._items(sub, payloads):
                    self.results.append(self._deliver(item))
                self.transport.sync()  # durable before they are marked sent
                self._collect()
                self._flush(force=True)

    def _send_threaded(self, payloads, workers: int, batch: int) -> None:
        import queue

        work: queue.SimpleQueue = queue.SimpleQueue()
        threads = [threading.Thread(target=self._worker, args=(work,), daemon=True)
                   for _ in range(workers)]
        for th in threads:
            th.start()
        max_inflight = workers + 2 * batch
        self._inflight = 0
        try:
            while self.stop_error is None and not self._out_of_time():
                rows = self._fresh_chunk()
                if not rows:
                    break
                for start in range(0, len(rows), batch):
                    while self._inflight >= max_inflight and self.stop_error is None:
                        self._collect(wait=self._idle)
                    if self.stop_error is not None or self._out_of_time():
                        break
                    sub = rows[start:start + batch]
                    self._mark_sending(sub)
                    for item in self._items(sub, payloads):
                        work.put(item)
                    self._inflight += len(sub)
                    self._collect()
            while self._inflight > 0:
                self._collect(wait=self._idle)
        finally:
            for _ in threads:
                work.put(None)
            until = time.monotonic() + 5  # on Ctrl-C, keep what finished; the rest is settled
            for th in threads:
                th.join(timeout=max(0.0, until - time.monotonic()))
            self._collect()

    def _worker(self, work) -> None:
        while True:
            item = work.get()
            if item is None:
                return
            try:
                self.results.append(self._deliver(item))
            except Exception as exc:  # never lose a delivery's outcome to a bug
                self.results.append((item[0], "failed", None, -3, repr(exc)[:200], 1))

    def _deliver(self, item) -> tuple:
        """One delivery with its retries: (delivery_id, state, wamid, code, title, tries)."""
        delivery_id, citizen_id, body, key = item
        if self.stop_error is not None:
            return delivery_id, "queued", None, None, None, 0
        halted = self.halted.get(key)
        if halted is not None:  # its body is wrong: keep it queued for after the fix
            return delivery_id, "queued", None, halted.code, halted.title, 0
        result = self._retrying(self._attempt, citizen_id, body)
        tries = self._retrying.statistics.get("attempt_number", 1)
        if result.error is None:
            self._worked.add(key)
            return delivery_id, "sent", result.wamid, None, None, tries
        err = result.error
        if err.action is Action.STOP or (self.stop_error is not None and
                                         err.action in _RETRYABLE):
            return delivery_id, "queued", None, err.code, err.title, tries
        if err.code in PAYLOAD_CODES and key not in self._worked:
            self._payload_failed(key, err)
        return delivery_id, "failed", None, err.code, err.title, tries

    def _payload_failed(self, key: str, err: ApiError) -> None:
        """The same body failing for the first few citizens with a template/parameter error
        will fail for all of them: stop that announcement, not the run."""
        with self._halt_lock:
            self._payload_errors[key] += 1
            if self._payload_errors[key] >= HALT_AFTER and key not in self.halted:
                self.halted[key] = err

    def _attempt(self, citizen_id: str, body: bytes) -> Result:
        if self.stop_error is not None:
            return Result(error=self.stop_error)
        if self.transport.concurrent:
            self.pacer.wait(citizen_id)
        result = self.transport.post(body)
        err = result.error
        if err is not None:
            if err.action is Action.THROUGHPUT:
                self.pacer.throttled()
            elif err.action is Action.STOP and self.stop_error is None:
                self.stop_error = err
        return result

    # tenacity policy -------------------------------------------------------------
    def _should_retry(self, result: Result) -> bool:
        return (result.error is not None and result.error.action in _RETRYABLE
                and self.stop_error is None)

    def _stop_rule(self, state) -> bool:
        err = state.outcome.result().error
        limit = 3 if err.code == 1 else 5 if err.action is Action.PAIR_RATE else 6
        return state.attempt_number >= limit

    def _wait_rule(self, state) -> float:
        err = state.outcome.result().error
        if err.action is Action.PAIR_RATE:
            wait = 4.0 ** (state.attempt_number - 1)  # Meta: retry after 4^X s
        elif err.code in FIRST_WAIT:
            wait = self._wait_slow(state)
        else:
            wait = self._wait_fast(state)
        return max(wait, min(err.retry_after or 0.0, 600.0))

    # --- state in the database, in batches ---------------------------------------
    def _mark_sending(self, rows) -> None:
        """Journal these deliveries as `sending`, durably, before any of them is sent."""
        self._pending.extend((r[0], "sending", None, None, None, 0) for r in rows)
        self._flush(force=True)

    def _collect(self, wait: float = 0.0) -> None:
        results = self.results
        if not results and wait:
            time.sleep(wait)  # the main thread idles while workers send; not a backoff
        n = len(results)
        if n:
            popped = [results.popleft() for _ in range(n)]
            self._pending.extend(popped)
            if hasattr(self, "_inflight"):
                self._inflight -= n
            self._count(popped)
        self._flush()

    def _count(self, done: list[tuple]) -> None:
        summary = self.summary
        sent = failed = 0
        for _, state, _, code, title, tries in done:
            summary.retries += max(0, tries - 1)
            if state == "sent":
                sent += 1
            elif state == "failed":
                failed += 1
                summary.failures[(code, title)] += 1
        summary.sent += sent
        summary.failed += failed
        self._progress.update(sent, failed)

    def _flush(self, force: bool = False) -> None:
        pending = self._pending
        if not pending or (not force and time.monotonic() - self._last_flush < self._flush_every):
            return
        self._pending = []
        self._last_flush = time.monotonic()
        cols = list(zip(*pending, strict=True))
        first, self._seq = self._seq, self._seq + len(pending)
        self.con.execute(
            """
            INSERT INTO send_journal
            SELECT unnest($seq::BIGINT[]), unnest($ids::VARCHAR[]), unnest($states::VARCHAR[]),
                   unnest($wamids::VARCHAR[]), unnest($codes::INTEGER[]),
                   unnest($titles::VARCHAR[]), unnest($tries::INTEGER[]), $now
            """,
            {"now": self._now(), "seq": list(range(first, self._seq)), "ids": list(cols[0]),
             "states": list(cols[1]), "wamids": list(cols[2]), "codes": list(cols[3]),
             "titles": list(cols[4]), "tries": list(cols[5])},
        )

    def _now(self) -> datetime:
        return self.now + timedelta(seconds=self.clock() - self._t0)


def fold_journal(con: duckdb.DuckDBPyConnection) -> int:
    """Apply the send journal to deliveries (each delivery's last journaled state) and empty it.

    One transaction: a kill between the two statements leaves the journal whole,
    and folding it again gives the same result.
    """
    if not con.execute("SELECT 1 FROM send_journal LIMIT 1").fetchone():
        return 0
    con.execute("BEGIN TRANSACTION")
    try:
        changed = con.execute(
            """
            UPDATE deliveries SET state = j.state, wamid = coalesce(j.wamid, deliveries.wamid),
                   error_code = j.error_code, error_title = j.error_title,
                   attempts = deliveries.attempts + j.tries,
                   sent_at = CASE WHEN j.state = 'sent' THEN j.at ELSE deliveries.sent_at END,
                   updated_at = j.at
            FROM (SELECT delivery_id, state, wamid, error_code, error_title, journaled_at AS at,
                         sum(tries) OVER (PARTITION BY delivery_id) AS tries
                  FROM send_journal
                  QUALIFY row_number() OVER (PARTITION BY delivery_id ORDER BY seq DESC) = 1) j
            WHERE deliveries.delivery_id = j.delivery_id
            """).fetchone()[0]
        con.execute("DELETE FROM send_journal")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return changed


def _transient_codes() -> list[int]:
    """Failures `send --retry-failed` tries again at once: retries that ran out in an outage."""
    from .meta_errors import CONNECTION_ERROR, HTTP_ERROR, RETRY_CODES

    # Payload errors too: they succeed once the template or its parameters are fixed.
    return sorted(RETRY_CODES | PAYLOAD_CODES | {130429, 131056, CONNECTION_ERROR, HTTP_ERROR})


def _advice(code: int) -> str:
    if code in (0, 190):
        return "token"
    if code in (131042,):
        return "payment"
    if code in (131048, 132015, 132016):
        return "quality"
    if code in (368, 131031, 130497):
        return "blocked"
    return "permission"


def _preview(rendered) -> str:
    if rendered.template is None:
        return rendered.text
    params = "\n".join(f"  {{{{{i}}}}} {p}" for i, p in enumerate(rendered.parameters, 1))
    return t("send.preview-template", name=rendered.template, language=rendered.language,
             params=params)


class Progress:
    """A tqdm bar on a terminal; a plain line every 10 s in CI logs."""

    def __init__(self, total: int, out=sys.stderr, every: float = 10.0) -> None:
        self.total, self.out, self.every = total, out, every
        self.sent = self.failed = 0
        self._start = self._last = time.monotonic()
        self._bar = None
        if total and hasattr(out, "isatty") and out.isatty() and not os.environ.get("CI"):
            from tqdm import tqdm

            self._bar = tqdm(total=total, file=out, unit="msg", smoothing=0.1)

    def update(self, sent: int, failed: int) -> None:
        self.sent += sent
        self.failed += failed
        if self._bar is not None:
            self._bar.update(sent + failed)
            return
        now = time.monotonic()
        if now - self._last >= self.every:
            self._last = now
            self._line(now)

    def _line(self, now: float) -> None:
        done = self.sent + self.failed
        rate = done / max(now - self._start, 1e-9)
        print(t("send.progress", done=done, total=self.total, sent=self.sent,
                failed=self.failed, rate=f"{rate:.0f}"), file=self.out, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self.total and self.sent + self.failed:
            self._line(time.monotonic())


# --- reporting ------------------------------------------------------------------
def _duration(seconds: float) -> str:
    if seconds < 10:
        return f"{seconds:.1f} s"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def report(summary: SendSummary) -> str:
    """What `send` prints. Citizens appear only as counts: no number is ever shown."""
    lines: list[str] = []
    settled = summary.settled
    if settled.ambiguous:
        lines.append(t("send.ambiguous", ambiguous=settled.ambiguous,
                       settled=settled.ambiguous - settled.requeued, requeued=settled.requeued))
    plan = summary.plan
    planned = ", ".join(f"{k} +{v}" for k, v in plan.planned.items()) or "-"
    lines.append(t("send.planned", planned=planned, cancelled=plan.cancelled,
                   expired=plan.expired, requeued=summary.requeued_failed))
    if summary.dry_run:
        lines.append(t("send.dry-run-title", transport=summary.transport))
        rate = summary.configured_rate
        for ann in summary.announcements:
            lines.append(t("send.dry-run-announcement", id=ann.id, title=ann.title,
                           urgency=ann.urgency, audience=ann.audience,
                           duration=_duration(ann.audience / rate), rate=f"{rate:g}",
                           held=f" ({ann.note.strip()})" if ann.held else ""))
            lines.extend("   | " + line for line in ann.preview.split("\n"))
        lines.append(t("send.dry-run-replies", count=summary.replies_queued))
        return "\n".join(lines)
    lines.append(t("send.summary-title", transport=summary.transport, sent=summary.sent,
                   failed=summary.failed, skipped=summary.skipped,
                   elapsed=f"{summary.elapsed:.1f}", rate=f"{summary.rate:.1f}",
                   retries=summary.retries, throttled=summary.throttled))
    for (code, title), count in summary.failures.most_common():
        lines.append(t("send.failure-line", code=code, title=title, count=count))
    for ann in summary.announcements:
        if ann.held:
            lines.append(f"{ann.id}: {ann.note.strip()}")
    for key, note in summary.halted.items():
        lines.append(f"{key}: {note}")
    if summary.table:
        lines.extend(markdown_table(summary))
    if summary.stopped:
        lines.append(summary.stopped)
    elif summary.failed:
        lines.append(t("send.failed-exit"))
    return "\n".join(lines)


def markdown_table(summary: SendSummary) -> list[str]:
    rows = [t("send.table-header"), "|---|--:|--:|--:|--:|--:|--:|"]
    rows += ["| " + " | ".join(str(v) for v in row) + " |" for row in summary.table]
    return rows


def write_step_summary(summary: SendSummary) -> None:
    """Append the summary to GITHUB_STEP_SUMMARY when GitHub Actions sets it."""
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return
    with open(path, "a", encoding="utf-8") as fh:
        fh.write("## " + t("send.summary-title", transport=summary.transport,
                             sent=summary.sent, failed=summary.failed, skipped=summary.skipped,
                             elapsed=f"{summary.elapsed:.1f}", rate=f"{summary.rate:.1f}",
                             retries=summary.retries, throttled=summary.throttled) + "\n\n")
        if summary.table:
            fh.write("\n".join(markdown_table(summary)) + "\n\n")
        for (code, title), count in summary.failures.most_common():
            fh.write(f"- {t('send.failure-line', code=code, title=title, count=count).strip()}\n")
        if summary.stopped:
            fh.write(f"\n> {summary.stopped}\n")


# --- run = validate + sync + send ------------------------------------------------
def run_all(settings, emit=print) -> int:
    """What CI runs: validate every announcement, sync the webhook logs, send what is due.

    A bad announcement is reported and not sent, but does not stop the others; the
    exit code is the worst of the three steps (1: problems or failed deliveries,
    2: the run was stopped by an account-level error).
    """
    from .problems import publish
    from .sync import sync
    from .validate import check

    result = check(settings)
    fmt = "github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text"
    text = publish(result, settings, fmt, os.environ)
    emit(t("send.run-validate", valid=len(result.valid), checked=len(result.checked),
           problems=len(result.problems)))
    if text.strip():
        emit(text)
    emit(t("send.run-sync"))
    emit("\n".join(sync(settings).lines_text()))
    emit(t("send.run-send"))
    summary = send(settings, announcements=result.valid)
    emit(report(summary))
    return max(result.exit_code, summary.exit_code)
