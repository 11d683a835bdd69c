"""Pacing: one global rate for the number, and at most one message per 6 s to a citizen.

The limiter hands out send *slots* (virtual scheduling, as in GCRA): reserving a
slot is O(1) under a lock and the caller sleeps until its slot, so hundreds of
worker threads share one schedule without polling. Clock and sleep are
injectable so tests never wait.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

# Meta's pair rate limit: one message every 6 s to the same user (131056).
CITIZEN_GAP_S = 6.0
# The API latency the concurrency is sized for: the rate must hold at 200 ms per answer.
DESIGN_LATENCY_S = 0.2
# Sends are woken together on a 25 ms grid, at most 4 at once: at 80 msg/s a
# thread woken from an idle CPU costs about twice a busy one, and pairs of
# wake-ups measured 10 % less CPU per message than one every 12.5 ms.
WAKE_GRID_S = 0.025
WAKE_TOGETHER = 4


def wake_grid(rate: float) -> float:
    return min(WAKE_GRID_S, WAKE_TOGETHER / rate)


def workers_for(rate: float, latency: float = DESIGN_LATENCY_S, headroom: float = 1.5) -> int:
    """Requests that must be in flight to hold ``rate`` when each takes ``latency`` seconds."""
    return max(4, math.ceil(rate * latency * headroom))


class Pacer:
    """A thread-safe send schedule at ``rate`` per second that slows down when told to.

    ``throttled()`` (Meta said 130429) halves the rate; after ``recover_after``
    seconds without another one it grows back by a quarter at a time to the
    configured rate.
    """

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = time.sleep,
        citizen_gap: float = CITIZEN_GAP_S,
        burst: float = 0.05,
        min_rate: float = 1.0,
        recover_after: float = 10.0,
        grid: float = 0.0,
    ) -> None:
        self.configured_rate = float(rate)
        self.rate = float(rate)
        self.clock = clock
        self.sleep = sleep
        self.citizen_gap = citizen_gap
        self.burst = burst  # seconds of slots a late schedule may catch up on
        self.min_rate = min(min_rate, self.rate)
        self.recover_after = recover_after
        self.grid = grid  # wait() rounds a slot up to a multiple of this: wake-ups together
        self.throttle_count = 0
        self._lock = threading.Lock()
        self._next = clock()
        self._changed_at = self._next
        self._last_sent: dict[str, float] = {}
        self._recent: deque[tuple[float, str]] = deque()

    def reserve(self, citizen: str | None = None) -> float:
        """Reserve the next slot (waiting first if ``citizen`` got a message < 6 s ago)."""
        while True:
            with self._lock:
                now = self.clock()
                self._recover(now)
                self._forget_before(now - self.citizen_gap)
                # (a woken thread is up to one grid step past its slot: not a late schedule)
                slot = max(self._next, now - max(self.burst, self.grid))
                last = self._last_sent.get(citizen) if citizen is not None else None
                ready = last + self.citizen_gap if last is not None else slot
                # (a nanosecond of slack: now + (ready - now) can round to just below ready)
                if ready <= max(slot, now) + 1e-9:
                    slot = max(slot, ready)
                    self._next = slot + 1.0 / self.rate
                    if citizen is not None:
                        self._last_sent[citizen] = slot
                        self._recent.append((slot, citizen))
                    return slot
            # Not holding the lock: the other citizens' slots go on being handed out.
            self.sleep(max(ready - now, 1e-6))

    def wait(self, citizen: str | None = None) -> float:
        """Reserve a slot and sleep until it comes; returns the slot time."""
        slot = self.reserve(citizen)
        if self.grid:
            slot = math.ceil(slot / self.grid - 1e-9) * self.grid  # (float noise)
        delay = slot - self.clock()
        if delay > 0:
            self.sleep(delay)
        return slot

    def throttled(self) -> None:
        """Meta said the number's throughput was exceeded (130429): slow everyone down."""
        with self._lock:
            now = self.clock()
            self.throttle_count += 1
            self.rate = max(self.min_rate, self.rate / 2)
            self._changed_at = now
            self._next = max(self._next, now) + 1.0 / self.rate

    def _recover(self, now: float) -> None:
        if self.rate < self.configured_rate and now - self._changed_at >= self.recover_after:
            self.rate = min(self.configured_rate, self.rate * 1.25)
            self._changed_at = now

    def _forget_before(self, cutoff: float) -> None:
        # Memory stays bounded by the citizens of the last 6 s, not the whole audience.
        recent, last_sent = self._recent, self._last_sent
        while recent and recent[0][0] < cutoff:
            slot, citizen = recent.popleft()
            if last_sent.get(citizen) == slot:
                del last_sent[citizen]
