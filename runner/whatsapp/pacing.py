"""Pacing: one rate for the number, found by listening to Meta, and at most one
accepted message per 6 s to a citizen.

The limiter hands out send *slots* (virtual scheduling, as in GCRA): reserving a
slot is O(1) under a lock and the caller sleeps until its slot, so hundreds of
worker threads share one schedule without polling. A citizen who got a message
less than 6 s ago gets no slot: the caller is told when the citizen is ready and
queues the message until then, rather than sleeping through the gap. Only
messages Meta accepted hold the gap (:meth:`Pacer.release` frees it for a
request that was refused or never answered).

The rate follows Meta's 130429 answers ("throughput exceeded"). A few of them
come whatever the rate (noise); many mean the number's real ceiling is lower than
the configured rate (congestion). Decisions are taken on windows of at least
``WINDOW_S`` and ``MIN_ANSWERS`` answers, counting only answers to requests sent
at the current rate (those sent before the last change are not counted again):

- a throttled share above the known noise plus ``MARGIN``: one decrease, to the
  rate Meta accepted in that window (``rate × (1 − share)``), never below the
  floor Meta guarantees every number (80 msg/s, or the configured rate if lower);
- if the window after a decrease is throttled at least half as much (and at
  most a quarter of it), lowering the rate did not help: it was noise; the rate
  goes back and the noise level is remembered, so the same noise does not cut
  the rate again;
- otherwise one step up (×1.05) per window, back towards the configured rate.

A 130429 carrying Retry-After pauses every send until it has passed. Clock and
sleep are injectable so tests never wait.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

# Meta's pair rate limit: one message every 6 s to the same user (131056).
CITIZEN_GAP_S = 6.0
# The API latency the concurrency is sized for: the rate must hold at 200 ms per answer.
DESIGN_LATENCY_S = 0.2
# Sends are woken together on a 25 ms grid, at most 4 at once: at 80 msg/s a
# thread woken from an idle CPU costs more than a busy one, and pairs of wake-ups
# cost less CPU per message than one every 12.5 ms
# (docs/whatsapp-webhook-measurements.md).
WAKE_GRID_S = 0.025
WAKE_TOGETHER = 4

# Every registered number may send 80 messages/s: slowing below that never helps.
GUARANTEED_RATE = 80.0
WINDOW_S = 1.0       # a decision needs at least this long...
MIN_ANSWERS = 20     # ...and this many counted answers,
MAX_ANSWERS = 500    # or this many, however short the window (1,000 msg/s into a wall)
MARGIN = 0.05        # throttled share above the noise that means congestion
NOISE_MAX = 0.25     # more than this is never taken for noise: a wall, not bad luck
CLIMB = 1.05         # the step back up, per window without congestion
MAX_PAUSE_S = 60.0   # the longest Retry-After honoured as a pause of every send


def wake_grid(rate: float) -> float:
    return min(WAKE_GRID_S, WAKE_TOGETHER / rate)


def workers_for(rate: float, latency: float = DESIGN_LATENCY_S, headroom: float = 1.5) -> int:
    """Requests that must be in flight to hold ``rate`` when each takes ``latency`` seconds."""
    return max(4, math.ceil(rate * latency * headroom))


@dataclass(frozen=True, slots=True)
class Decision:
    """A change of rate: when, to what, the throttled share that decided it, and why."""

    at: float
    rate: float
    share: float
    why: str  # "down" (congestion), "noise" (a decrease undone), "up"


class _Window:
    """Answers counted towards the next decision."""

    __slots__ = ("answers", "start", "throttled")

    def __init__(self, start: float) -> None:
        self.start, self.answers, self.throttled = start, 0, 0

    def full(self, now: float) -> bool:
        return (self.answers >= MAX_ANSWERS
                or (now - self.start >= WINDOW_S and self.answers >= MIN_ANSWERS))


class Pacer:
    """A thread-safe send schedule that converges on the rate Meta accepts."""

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = time.sleep,
        citizen_gap: float = CITIZEN_GAP_S,
        burst: float = 0.05,
        floor: float = GUARANTEED_RATE,
        grid: float = 0.0,
    ) -> None:
        self.configured_rate = float(rate)
        self.rate = float(rate)
        self.floor = min(float(floor), self.rate)
        self.clock = clock
        self.sleep = sleep
        self.citizen_gap = citizen_gap
        self.burst = burst  # seconds of slots a late schedule may catch up on
        self.grid = grid  # wait() rounds a slot up to a multiple of this: wake-ups together
        self.throttle_count = 0
        self.noise = 0.0  # the throttled share that comes whatever the rate
        self.decisions: deque[Decision] = deque(maxlen=1000)
        self._lock = threading.Lock()
        self._next = clock()
        self._epoch = self._next  # answers to slots before this were sent at an older rate
        self._window = _Window(self._next)
        self._undo: tuple[float, float] | None = None  # (rate before, share) of a decrease
        self._last_sent: dict[str, float] = {}
        self._recent: deque[tuple[float, str]] = deque()

    # --- slots --------------------------------------------------------------------
    def reserve(self, citizen: str | None = None) -> float | None:
        """The next slot, or None when ``citizen`` got a message < 6 s ago
        (:meth:`ready_at` tells when they can have the next)."""
        with self._lock:
            now = self.clock()
            self._forget_before(now - self.citizen_gap)
            # (a woken thread is up to one grid step past its slot: not a late schedule)
            slot = max(self._next, now - max(self.burst, self.grid))
            if citizen is not None:
                last = self._last_sent.get(citizen)
                # (a nanosecond of slack: now + (ready - now) can round to just below ready)
                if last is not None:
                    if last + self.citizen_gap > max(slot, now) + 1e-9:
                        return None
                    slot = max(slot, last + self.citizen_gap)
                self._last_sent[citizen] = slot
                self._recent.append((slot, citizen))
            self._next = slot + 1.0 / self.rate
            return slot

    def ready_at(self, citizen: str) -> float:
        """When ``citizen`` may get the next message (now, if they may already)."""
        with self._lock:
            last = self._last_sent.get(citizen)
            return self.clock() if last is None else last + self.citizen_gap

    def wait(self, citizen: str | None = None) -> float | None:
        """Reserve a slot and sleep until it comes; returns the slot, or None as
        :meth:`reserve` does (without sleeping)."""
        slot = self.reserve(citizen)
        if slot is None:
            return None
        due = math.ceil(slot / self.grid - 1e-9) * self.grid if self.grid else slot  # (float noise)
        delay = due - self.clock()
        if delay > 0:
            self.sleep(delay)
        return slot

    def release(self, citizen: str, slot: float) -> None:
        """The message of ``slot`` was refused or never answered: the citizen's gap
        is not held by it (the gap is Meta's rule for messages it accepted)."""
        with self._lock:
            if self._last_sent.get(citizen) == slot:
                del self._last_sent[citizen]

    # --- the rate ------------------------------------------------------------------
    def answered(self, slot: float, throttled: bool, retry_after: float | None = None) -> None:
        """Meta answered the request of ``slot`` (accepted it, or an error with a code);
        ``throttled``: the answer was 130429."""
        with self._lock:
            now = self.clock()
            if throttled:
                self.throttle_count += 1
                if retry_after:
                    self._next = max(self._next, now + min(retry_after, MAX_PAUSE_S))
            if slot < self._epoch:
                return  # sent before the last change: the change already answered for it
            window = self._window
            window.answers += 1
            window.throttled += throttled
            if window.full(now):
                self._decide(now, window.throttled / window.answers)

    def _decide(self, now: float, share: float) -> None:
        undo, self._undo = self._undo, None
        if share > self.noise + MARGIN:
            if undo is not None and undo[1] / 2 <= share <= NOISE_MAX:
                # Lowering the rate did not lower the share: not congestion, noise.
                self.noise = max(self.noise, share)
                self._change(now, undo[0], share, "noise")
                return
            rate = max(self.floor, self.rate * (1 - share))
            if rate < self.rate:
                self._undo = (self.rate, share)
            self._change(now, rate, share, "down")
            return
        if share < self.noise / 2:
            self.noise *= 0.9  # the noise faded
        self._change(now, min(self.configured_rate, self.rate * CLIMB), share, "up")

    def _change(self, now: float, rate: float, share: float, why: str) -> None:
        self._window = _Window(now)
        if rate == self.rate:
            return
        self.rate = rate
        self.decisions.append(Decision(now, rate, share, why))
        # Slots handed out so far were at the old rate: answers to them do not count.
        self._next = max(self._next, now)
        self._epoch = self._next

    def _forget_before(self, cutoff: float) -> None:
        # Memory stays bounded by the citizens of the last 6 s, not the whole audience.
        recent, last_sent = self._recent, self._last_sent
        while recent and recent[0][0] < cutoff:
            slot, citizen = recent.popleft()
            if last_sent.get(citizen) == slot:
                del last_sent[citizen]
