"""The engine: moves queued deliveries to the transport, each exactly once.

The main thread feeds worker threads with chunks from the
:class:`~runner.send.queue.Queue` and with retries whose time has come, and
counts what comes back. A worker makes one attempt (:class:`Courier`): a slot
from the pacer, the delivery journaled ``sending`` durably, the request, the
answer journaled durably (:mod:`.journal`). Nothing waits in a worker but the
pacer's next slot: a citizen served less than 6 s ago, and every retry (a 5xx, a
throttle, a dropped connection), goes back to the :class:`~.retry.RetryQueue`
with its due time, and a refused or unanswered request does not hold the
citizen's 6 s gap. So after a kill -9 only requests in flight are ambiguous,
and the next run settles them (:mod:`.settle`).

Welcome first is an order: the queue holds a citizen's announcement back while
their welcome is queued or out (:mod:`.welcome_first`). When the queue runs dry
after welcomes were answered, the engine asks it again for what they released,
so the announcement goes in the same run (the pacer keeps the citizen's 6 s gap).

Stopping (Ctrl-C, SIGTERM, an account error, the time limit) closes the gate:
no request starts after it, those already out are waited for (at most
``GRACE_S``) and journaled before the run's final record, and retries still
waiting go back to the queue for the next run.

An account-level error stops the whole run at once; a body Meta refuses for its
first few citizens (a template or parameter error) halts that announcement
only, and its deliveries stay queued for after the fix.
"""

from __future__ import annotations

import queue as queues
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator

from ..vocabulary import FAILED, QUEUED, SENDING, SENT, WELCOME
from ..whatsapp.answers import (
    INTERNAL_ERROR,
    NO_ANSWER_CODES,
    PAYLOAD_CODES,
    Action,
    ApiError,
    Result,
)
from ..whatsapp.bodies import AnyPayload
from ..whatsapp.pacing import Pacer, wake_grid, workers_for
from ..whatsapp.transport import Transport
from .journal import JournalRow, SendLog
from .progress import Progress
from .queue import Queue, fold_log
from .results import Sending
from .retry import RETRYABLE, RetryPolicy, RetryQueue

HALT_AFTER = 3  # payload errors, with no success, before an announcement is halted
GRACE_S = 5.0   # how long a stop waits for the requests already out
# Once the queue ran dry, how often (s, on the run's clock) it is asked again while
# welcomes are still being answered: each answer may release an announcement.
LOOK_AGAIN_S = 1.0
# delivery_id, citizen_id, body, payload key, attempts so far, the last attempt's error
Item = tuple[str, str, bytes, str, int, ApiError | None]
# the item (as it is to be tried next), the journaled row (None: not tried), when it is due again
Outcome = tuple[Item, JournalRow | None, float | None]


class Gate:
    """Requests start only while the gate is open; closing it waits for those out."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.open = True
        self.out = 0  # requests started and not yet journaled

    def enter(self) -> bool:
        with self._lock:
            if self.open:
                self.out += 1
            return self.open

    def leave(self) -> None:
        with self._lock:
            self.out -= 1

    def close(self, grace: float) -> bool:
        """Let no request start; wait (real time) for those out: True if none is left."""
        with self._lock:
            self.open = False
        until = time.monotonic() + grace
        while self.out and time.monotonic() < until:
            time.sleep(0.005)
        return not self.out


class Courier:
    """One attempt of one delivery, in a worker thread: never sleeps but for its slot."""

    def __init__(self, transport: Transport, log: SendLog, pacer: Pacer | None, gate: Gate,
                 clock: Callable[[], float]) -> None:
        self.transport, self.log, self.pacer, self.gate, self.clock = (
            transport, log, pacer, gate, clock)
        self.stop_error: ApiError | None = None
        self.halted: dict[str, ApiError] = {}  # payload key -> the error that halted it
        self.backoffs: deque[float] = deque(maxlen=1000)  # the last retry waits, for tests
        self.policy = RetryPolicy(self.stopping)
        self._worked: set[str] = set()  # payload keys accepted at least once
        self._payload_errors: Counter = Counter()
        self._halt_lock = threading.Lock()

    def stopping(self) -> bool:
        return self.stop_error is not None or not self.gate.open

    def deliver(self, item: Item) -> Outcome:
        delivery_id, citizen_id, body, key, tries, last = item
        halted = self.halted.get(key)
        if halted is not None or self.stopping():
            return self._not_sent(item, halted or last)
        slot = None
        if self.pacer is not None:
            slot = self.pacer.wait(citizen_id)
            if slot is None:  # served < 6 s ago: back to the queue until they are ready
                return item, None, self.pacer.ready_at(citizen_id)
        if not self.gate.enter():
            if slot is not None and self.pacer is not None:
                self.pacer.release(citizen_id, slot)
            return self._not_sent(item, last)
        try:
            self.log.write(((delivery_id, SENDING, None, None, None, 0),))
            result = self.transport.post(body)
            return self._answer(item, slot, result)
        finally:
            self.gate.leave()

    def _answer(self, item: Item, slot: float | None, result: Result) -> Outcome:
        delivery_id, citizen_id, body, key, tries, _ = item
        err = result.error
        if err is None:
            if slot is not None and self.pacer is not None:
                self.pacer.answered(slot, False)
            self._worked.add(key)
            return self._final(item, (delivery_id, SENT, result.wamid, None, None, 1))
        # The citizen's gap is held by accepted messages only (a slot comes from the pacer).
        if slot is not None and self.pacer is not None:
            self.pacer.release(citizen_id, slot)
            if err.code not in NO_ANSWER_CODES:
                self.pacer.answered(slot, err.action is Action.THROUGHPUT, err.retry_after)
        if err.action is Action.STOP:
            if self.stop_error is None:
                self.stop_error = err
            return self._final(item, (delivery_id, QUEUED, None, err.code, err.title, 1))
        wait = self.policy(result, tries + 1)
        if wait is not None:
            self.backoffs.append(wait)
            # Still `sending`: with a Meta code it was refused (the next run may send it
            # at once after a kill); without one it is ambiguous.
            row = (delivery_id, SENDING, None, err.code, err.title, 1)
            self.log.write((row,))
            return (delivery_id, citizen_id, body, key, tries + 1, err), row, self.clock() + wait
        state = FAILED
        if err.action in RETRYABLE and self.stopping():
            state = QUEUED  # the run is ending: the next one sends it
        elif err.code in PAYLOAD_CODES and key not in self._worked:
            self._payload_failed(key, err)
        return self._final(item, (delivery_id, state, None, err.code, err.title, 1))

    def _final(self, item: Item, row: JournalRow) -> Outcome:
        self.log.write((row,))
        return item, row, None

    def _not_sent(self, item: Item, err: ApiError | None) -> Outcome:
        """Back to the queue untried (journaled if an earlier attempt left it `sending`), or
        left ambiguous if that attempt went unanswered: the next run settles it."""
        row = (item[0], QUEUED, None, err.code if err else None, err.title if err else None, 0)
        if item[4] and err is not None and err.code in NO_ANSWER_CODES:
            return item, (item[0], SENDING, None, err.code, err.title, 0), None
        if item[4]:
            self.log.write((row,))
        return item, row, None

    def _payload_failed(self, key: str, err: ApiError) -> None:
        """The same body failing for the first few citizens with a template/parameter error
        will fail for all of them: stop that announcement, not the run."""
        with self._halt_lock:
            self._payload_errors[key] += 1
            if self._payload_errors[key] >= HALT_AFTER and key not in self.halted:
                self.halted[key] = err


class Engine:
    """Worker threads sending a run's deliveries; the main thread feeds them and counts."""

    def __init__(self, queue: Queue, log: SendLog, transport: Transport, *,
                 rate: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], object] = time.sleep,
                 deadline: float | None = None) -> None:
        self.queue, self.log, self.transport = queue, log, transport
        self.done = Sending()  # what it did, counted as the answers come back
        self.clock, self.sleep = clock, sleep
        self.deadline = deadline  # on the clock: take no new chunk after it
        self.concurrent = getattr(transport, "concurrent", True)
        self.pacer = Pacer(rate, clock=clock, sleep=sleep, grid=wake_grid(rate))
        self.gate = Gate()
        self.courier = Courier(transport, log, self.pacer if self.concurrent else None,
                               self.gate, clock)
        self.retries: RetryQueue[Item] = RetryQueue()
        self.results: deque[Outcome] = deque()
        self.held: set[str] = set()  # dispatched or waiting for a retry: not selected again
        self.inflight = 0
        self.released = False  # a welcome answered: what it held back may go now
        # Once the queue is empty, each result wakes the main thread (a retry may be due
        # after it); before, it naps: waking it for each of 80 results a second costs CPU.
        self._wake = threading.Event()
        self._eager = False
        # Batches: small enough to keep the queue short, large enough that feeding costs
        # little. The outbox writes a batch, fsyncs it, then journals it.
        self.batch = max(40, int(rate * 0.1)) if self.concurrent else 2000
        # The main thread's nap while workers send: a quarter of a batch's worth of time.
        self.idle = min(0.05, self.batch / rate / 4) if self.concurrent else 0.0
        # Rows taken from the queue per query: up to half a minute, at most 10,000 (the
        # outbox ignores the rate). Each chunk is Python tuples and journal rows to fold:
        # larger ones raise the run's peak memory (docs/measurements.md).
        self.chunk = min(10_000, max(2_000, int(rate * 30))) if self.concurrent else 10_000
        self.workers = workers_for(rate) if self.concurrent else 1
        self.progress: Progress | None = None

    @property
    def stop_error(self) -> ApiError | None:
        return self.courier.stop_error

    @stop_error.setter
    def stop_error(self, err: ApiError | None) -> None:
        self.courier.stop_error = err

    def run(self, payloads: dict[str, AnyPayload], progress: Progress) -> Sending:
        """Send every sendable queued delivery (or until stopped or out of time)."""
        self.progress = progress
        started, cpu = self.clock(), time.process_time()
        try:
            if self.concurrent:
                self._send_threaded(payloads)
            else:
                self._send_inline(payloads)
        finally:  # the run's final record: what was answered is in the database
            quiet = self.gate.out == 0  # (a request still out after the grace: keep its file)
            if quiet:
                self.log.close()
            fold_log(self.queue.con, self.log.path, discard=quiet)
        self.log.check()
        self.done.elapsed = self.clock() - started
        self.done.cpu = time.process_time() - cpu
        progress.close()
        return self.done

    # --- feeding ---------------------------------------------------------------------
    def _out_of_time(self) -> bool:
        return self.deadline is not None and self.clock() >= self.deadline

    def _batches(self, payloads: dict[str, AnyPayload]) -> Iterator[list[Item]]:
        while not self.courier.stopping() and not self._out_of_time():
            for key in self.courier.halted:  # a halted body's deliveries stay queued
                self.queue.exclude(key)
            rows = self.queue.fresh_chunk(self.chunk, self.held)
            if not rows:
                return
            for start in range(0, len(rows), self.batch):
                yield [(delivery_id, citizen_id, payloads[key].body(wa_id, delivery_id, quote),
                        key, 0, None)
                       for delivery_id, citizen_id, wa_id, key, quote
                       in rows[start:start + self.batch]]

    def _send_inline(self, payloads: dict[str, AnyPayload]) -> None:
        for items in self._batches(payloads):
            self.log.write((item[0], SENDING, None, None, None, 0) for item in items)
            rows: list[JournalRow] = [
                (item[0], SENT, result.wamid, None, None, 1) if result.error is None
                else (item[0], FAILED, None, result.error.code, result.error.title, 1)
                for item in items for result in (self.transport.post(item[2]),)]
            self.transport.sync()  # durable before they are journaled sent
            self.log.write(rows)
            self._count(rows)

    def _send_threaded(self, payloads: dict[str, AnyPayload]) -> None:
        work: queues.SimpleQueue = queues.SimpleQueue()
        threads = [threading.Thread(target=self._worker, args=(work,), daemon=True)
                   for _ in range(self.workers)]
        for th in threads:
            th.start()
        fresh = self._batches(payloads)
        more = True
        room = self.workers + 2 * self.batch
        look_again = 0.0
        try:
            while (not self.courier.stopping() and not self._out_of_time()
                   and self.log.error is None):
                self._collect()
                self._dispatch(self.retries.pop_due(self.clock(), room - self.inflight), work)
                if not more and self.released and (not self.inflight
                                                   or self.clock() >= look_again):
                    self.released, more = False, True  # ask the queue again
                    fresh = self._batches(payloads)
                    look_again = self.clock() + LOOK_AGAIN_S
                if more and room - self.inflight >= self.batch:
                    batch = next(fresh, None)
                    more = batch is not None
                    self._eager = not more
                    self._dispatch(batch or [], work)
                    continue
                if not more and not self.inflight:
                    due = self.retries.next_due()
                    if due is None:
                        break
                    if self.deadline is not None:
                        due = min(due, self.deadline)
                    self.sleep(max(0.0, due - self.clock()))  # a retry's wait, on the clock
                    continue
                self._collect(wait=self.idle)
        finally:  # also on Ctrl-C: no request starts from here on
            self._stop(threads, work)

    def _dispatch(self, items: list[Item], work: queues.SimpleQueue) -> None:
        for item in items:
            self.held.add(item[0])
            work.put(item)
        self.inflight += len(items)

    def _stop(self, threads: list[threading.Thread], work: queues.SimpleQueue) -> None:
        self.gate.close(GRACE_S)
        for _ in threads:
            work.put(None)
        until = time.monotonic() + 1.0  # workers left only skip what is queued
        for th in threads:
            th.join(timeout=max(0.0, until - time.monotonic()))
        self._collect()
        # Retries still waiting go back to the queue, for the next run; those whose request
        # went unanswered stay ambiguous (`sending`), for the next run to settle.
        rows = [(item[0], QUEUED, None, item[5].code, item[5].title, 0)
                for item in self.retries.drain()
                if item[5] is not None and item[5].code not in NO_ANSWER_CODES]
        if rows:
            self.log.write(rows)

    def _collect(self, wait: float = 0.0) -> None:
        results = self.results
        if not results and wait:  # the main thread naps while workers send: not a backoff
            if self._eager:
                self._wake.wait(wait)
                self._wake.clear()
            else:
                time.sleep(wait)
        done: list[JournalRow] = []
        for _ in range(len(results)):
            item, row, due = results.popleft()
            self.inflight -= 1
            if due is not None:
                self.retries.push(due, item)
                self.done.retries += row is not None
            else:
                self.held.discard(item[0])
                assert row is not None  # only an outcome with a time to retry has no row
                done.append(row)
                self.released = self.released or item[3].startswith(WELCOME)
        if done:
            self._count(done)

    def _count(self, answered: list[JournalRow]) -> None:
        assert self.progress is not None  # set by run(), the only way here
        self.progress.update(*self.done.count(answered))

    # --- the workers -------------------------------------------------------------------
    def _worker(self, work: queues.SimpleQueue) -> None:
        while (item := work.get()) is not None:
            try:
                self.results.append(self.courier.deliver(item))
                if self._eager:
                    self._wake.set()
            except Exception as exc:  # never lose a delivery's outcome to a bug
                row = (item[0], FAILED, None, INTERNAL_ERROR, repr(exc)[:200], 1)
                try:
                    self.log.write((row,))
                except Exception:  # noqa: S110 (the journal broke: the run stops on it)
                    pass
                self.results.append((item, row, None))
