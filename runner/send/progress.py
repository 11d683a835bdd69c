"""Progress of a send on the terminal (a tqdm bar) or in CI logs (a line every 10 s)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TextIO

from ..messages import t


class Progress:
    """A tqdm bar on a terminal; a plain line every 10 s in CI logs."""

    def __init__(self, total: int, out: TextIO, environ: Mapping[str, str], every: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.total, self.out, self.every, self.clock = total, out, every, clock
        self.sent = self.failed = 0
        self._start = self._last = clock()
        self._bar = None
        if total and hasattr(out, "isatty") and out.isatty() and not environ.get("CI"):
            from tqdm import tqdm

            self._bar = tqdm(total=total, file=out, unit="msg", smoothing=0.1)

    def update(self, sent: int, failed: int) -> None:
        self.sent += sent
        self.failed += failed
        if self._bar is not None:
            self._bar.update(sent + failed)
            return
        now = self.clock()
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
            self._line(self.clock())
