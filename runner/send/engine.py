"""The engine: moves queued deliveries to the transport, each exactly once.

It takes chunks from the :class:`~runner.send.queue.Queue`, journals each
delivery as ``sending`` (durably) *before* its request leaves, hands it to a
worker thread that sends it with its retries (:mod:`.retry`) at the pacer's
pace, and journals the answer. So ``sending`` covers at most two batches, the
results of the last half second and the requests in flight: that is all a
kill -9 can leave ambiguous, and the next run settles it (:mod:`.settle`).

An account-level error stops the whole run at once; a body Meta refuses for
its first few citizens (a template or parameter error) halts that announcement
only, and its deliveries stay queued for after the fix.
"""

from __future__ import annotations

import queue as queues
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator

from ..whatsapp.answers import INTERNAL_ERROR, PAYLOAD_CODES, Action, ApiError, Result
from ..whatsapp.bodies import Payload
from ..whatsapp.pacing import Pacer, wake_grid, workers_for
from .progress import Progress
from .queue import Journal, JournalRow, Queue, fold_journal
from .retry import RETRYABLE, retrying
from .summary import SendSummary

HALT_AFTER = 3  # payload errors, with no success, before an announcement is halted
Item = tuple[str, str, bytes, str]  # delivery_id, citizen_id, body, payload key


class Engine:
    """Worker threads sending a run's deliveries; the main thread feeds and journals."""

    def __init__(self, queue: Queue, journal: Journal, transport, summary: SendSummary, *,
                 rate: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], object] = time.sleep,
                 deadline: float | None = None) -> None:
        self.queue, self.journal, self.transport, self.summary = queue, journal, transport, summary
        self.clock = clock
        self.deadline = deadline  # on the clock: take no new chunk after it
        self.stop_error: ApiError | None = None
        self.halted: dict[str, ApiError] = {}  # payload key -> the error that halted it
        self.backoffs: deque[float] = deque(maxlen=1000)  # the last retry waits, for tests
        self.pacer = Pacer(rate, clock=clock, sleep=sleep, grid=wake_grid(rate))
        self.retrying = retrying(sleep, lambda: self.stop_error is not None,
                                 self.backoffs.append)
        self.results: deque[JournalRow] = deque()
        self.inflight = 0
        self._worked: set[str] = set()  # payload keys accepted at least once
        self._payload_errors: Counter = Counter()
        self._halt_lock = threading.Lock()
        self.concurrent = getattr(transport, "concurrent", True)
        # Batch sizes: small enough that a kill leaves few ambiguous, large enough that
        # DuckDB writes stay a small share of the CPU.
        self.batch = max(40, int(rate * 0.1)) if self.concurrent else 2000
        # Results ride along with each `sending` batch; on their own only when no batch
        # went out for two batches' time.
        journal.every = max(0.5, 2 * self.batch / rate) if self.concurrent else 0.5
        # The main thread's nap while workers send: a quarter of a batch's worth of time.
        self.idle = min(0.05, self.batch / rate / 4) if self.concurrent else 0.0
        # Rows taken from the queue per query: up to half a minute, at most 10,000 (the
        # outbox ignores the rate). Each chunk is Python tuples and journal rows to fold:
        # 30,000 at a time raised the peak of a 1,000,000 send from 190 to 206 MB.
        self.chunk = min(10_000, max(2_000, int(rate * 30))) if self.concurrent else 10_000
        self.workers = workers_for(rate) if self.concurrent else 1
        self.progress: Progress | None = None

    def run(self, payloads: dict[str, Payload], progress: Progress) -> None:
        """Send every sendable queued delivery (or until stopped or out of time)."""
        self.progress = progress
        started, cpu = self.clock(), time.process_time()
        try:
            if self.concurrent:
                self._send_threaded(payloads)
            else:
                self._send_inline(payloads)
        finally:  # also on Ctrl-C: what got an answer is recorded, not left ambiguous
            self.journal.flush(force=True)
            fold_journal(self.queue.con)
        self.summary.send_elapsed = self.clock() - started
        self.summary.send_cpu = time.process_time() - cpu
        progress.close()

    # --- feeding ---------------------------------------------------------------------
    def _out_of_time(self) -> bool:
        return self.deadline is not None and self.clock() >= self.deadline

    def _chunk(self) -> list[tuple]:
        for key in self.halted:  # a halted body's deliveries went back to the queue
            self.queue.exclude(key)
        return self.queue.fresh_chunk(self.chunk)

    def _batches(self) -> Iterator[list[tuple]]:
        while self.stop_error is None and not self._out_of_time():
            rows = self._chunk()
            if not rows:
                return
            for start in range(0, len(rows), self.batch):
                yield rows[start:start + self.batch]

    def _mark_sending(self, rows: list[tuple]) -> None:
        """Journal these deliveries as `sending`, durably, before any of them is sent."""
        self.journal.add((r[0], "sending", None, None, None, 0) for r in rows)
        self.journal.flush(force=True)

    @staticmethod
    def _items(rows: list[tuple], payloads: dict[str, Payload]) -> Iterator[Item]:
        for delivery_id, citizen_id, wa_id, key in rows:
            yield delivery_id, citizen_id, payloads[key].body(wa_id, delivery_id), key

    def _send_inline(self, payloads: dict[str, Payload]) -> None:
        for rows in self._batches():
            self._mark_sending(rows)
            for item in self._items(rows, payloads):
                self.results.append(self._deliver(item))
            self.transport.sync()  # durable before they are marked sent
            self._collect()
            self.journal.flush(force=True)

    def _send_threaded(self, payloads: dict[str, Payload]) -> None:
        work: queues.SimpleQueue = queues.SimpleQueue()
        threads = [threading.Thread(target=self._worker, args=(work,), daemon=True)
                   for _ in range(self.workers)]
        for th in threads:
            th.start()
        max_inflight = self.workers + 2 * self.batch
        try:
            for rows in self._batches():
                while self.inflight >= max_inflight and self.stop_error is None:
                    self._collect(wait=self.idle)
                if self.stop_error is not None or self._out_of_time():
                    break
                self._mark_sending(rows)
                for item in self._items(rows, payloads):
                    work.put(item)
                self.inflight += len(rows)
                self._collect()
            while self.inflight > 0:
                self._collect(wait=self.idle)
        finally:
            for _ in threads:
                work.put(None)
            # On Ctrl-C, keep what finished; the rest is settled by the next run.
            until = time.monotonic() + 5
            for th in threads:
                th.join(timeout=max(0.0, until - time.monotonic()))
            self._collect()

    def _collect(self, wait: float = 0.0) -> None:
        results = self.results
        if not results and wait:
            time.sleep(wait)  # the main thread naps while workers send: not a backoff
        n = len(results)
        if n:
            done = [results.popleft() for _ in range(n)]
            self.journal.add(done)
            self.inflight -= n
            self._count(done)
        self.journal.flush()

    def _count(self, done: list[JournalRow]) -> None:
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
        self.progress.update(sent, failed)

    # --- sending -------------------------------------------------------------------------
    def _worker(self, work: queues.SimpleQueue) -> None:
        while (item := work.get()) is not None:
            try:
                self.results.append(self._deliver(item))
            except Exception as exc:  # never lose a delivery's outcome to a bug
                self.results.append((item[0], "failed", None, INTERNAL_ERROR,
                                     repr(exc)[:200], 1))

    def _deliver(self, item: Item) -> JournalRow:
        """One delivery with its retries, as the journal row of its outcome."""
        delivery_id, citizen_id, body, key = item
        if self.stop_error is not None:
            return delivery_id, "queued", None, None, None, 0
        halted = self.halted.get(key)
        if halted is not None:  # its body is wrong: keep it queued for after the fix
            return delivery_id, "queued", None, halted.code, halted.title, 0
        result = self.retrying(self._attempt, citizen_id, body)
        tries = self.retrying.statistics.get("attempt_number", 1)
        if result.error is None:
            self._worked.add(key)
            return delivery_id, "sent", result.wamid, None, None, tries
        err = result.error
        if err.action is Action.STOP or (self.stop_error is not None and
                                         err.action in RETRYABLE):
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
        if self.concurrent:
            self.pacer.wait(citizen_id)
        result = self.transport.post(body)
        err = result.error
        if err is not None:
            if err.action is Action.THROUGHPUT:
                self.pacer.throttled()
            elif err.action is Action.STOP and self.stop_error is None:
                self.stop_error = err
        return result
