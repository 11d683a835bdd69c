"""The tests' time: a fixed "now" for the send runs, and a clock that moves only when
someone sleeps, so no test waits for a real backoff and every wait can be asserted
(tenacity's tests pass ``sleep=recorded.append`` the same way)."""

from __future__ import annotations

import threading
from datetime import datetime

# A Wednesday morning in April, inside the sending hours: the announcements the
# tests write are due at 09:00 that day.
NOW = datetime.fromisoformat("2024-04-03T10:00:00+02:00")


class FakeClock:
    """A clock that only moves when someone sleeps; thread-safe; records every sleep
    (and apart, those of worker threads: only the pacer's next slot may hold them)."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.sleeps: list[float] = []
        self.worker_sleeps: list[float] = []
        self._lock = threading.Lock()

    def clock(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(round(seconds, 6))
            if threading.current_thread() is not threading.main_thread():
                self.worker_sleeps.append(seconds)
            self.t += max(0.0, seconds)
