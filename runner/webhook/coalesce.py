"""When to ask GitHub for a run: one ledger that every receiver process agrees on.

gunicorn runs the receiver in several worker processes, and a citizen's message
may reach any of them. "At most one dispatch a minute" must hold for all of them
together, so the bookkeeping lives in a small file beside the logs,
``.banditore-dispatch``, read and rewritten under an exclusive ``flock`` (the
lock the log writer already relies on). Each process's dispatcher records the
messages it saw and, in the same locked step, may *claim* the next dispatch:
exactly one process then makes the call. The alternative, one dispatcher in
gunicorn's master, would need a channel from every worker to it; the file works
the same under ``webhook serve`` (one process), any number of workers, and a
worker restarted in the middle of a burst.

The rule (:func:`decide`, pure, tested with a virtual clock):

- a message recorded since the last successful dispatch makes a dispatch due;
  so does a day without any (the heartbeat that keeps the schedule alive);
- a due dispatch is claimed at once if no claim was made in the last
  ``window`` seconds, else when that window ends: at most one a window, plus one
  after the last message of a burst, so no message waits for the schedule;
- a failed dispatch waits ``window``, then twice as long each time, at most
  :data:`MAX_BACKOFF`, and stays due until one succeeds.

The file holds counts and times only. A lost or unreadable file starts afresh:
at worst one dispatch too many, or one left to the schedule.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

STATE_FILE = ".banditore-dispatch"
WINDOW = 60.0  # seconds: at most one dispatch a minute
HEARTBEAT = 24 * 3600.0  # a run a day, even when nobody writes
# The schedule runs every 15 minutes: waiting longer between attempts helps nobody.
MAX_BACKOFF = 15 * 60.0


@dataclass
class Ledger:
    """What every process knows about dispatching (the file's content)."""

    seen: int = 0  # messages recorded, by all processes
    covered: int = 0  # ``seen`` as it was at the last successful dispatch's claim
    claimed_at: float = 0.0  # when the last dispatch was claimed
    succeeded_at: float = 0.0  # when one last succeeded (heartbeat or not)
    failures: int = 0  # in a row
    retry_at: float = 0.0  # no claim before this, after a failure


@dataclass(frozen=True)
class Claim:
    """A dispatch one process has taken on: it covers messages up to ``seen``."""

    seen: int
    heartbeat: bool  # no message is waiting: the daily run


def decide(ledger: Ledger, now: float, window: float = WINDOW,
           heartbeat: float = HEARTBEAT) -> tuple[Claim | None, float]:
    """Claim a dispatch if one is due now (updating ``ledger``); and the time to
    look again."""
    if ledger.claimed_at > now:  # the clock went back: do not wait for the old future
        ledger.claimed_at = now - window
    earliest = max(ledger.claimed_at + window, ledger.retry_at)
    waiting = ledger.seen > ledger.covered
    daily = ledger.succeeded_at + heartbeat
    if (waiting or now >= daily) and now >= earliest:
        ledger.claimed_at = now
        return Claim(ledger.seen, heartbeat=not waiting), now + window
    return None, earliest if waiting else max(daily, earliest)


def settle(ledger: Ledger, claim: Claim, ok: bool, now: float,
           window: float = WINDOW) -> None:
    """Record how a claimed dispatch ended."""
    if ok:
        ledger.covered = max(ledger.covered, claim.seen)
        ledger.succeeded_at, ledger.failures, ledger.retry_at = now, 0, 0.0
    else:
        ledger.failures += 1
        ledger.retry_at = now + min(window * 2 ** (ledger.failures - 1), MAX_BACKOFF)


class SharedLedger:
    """The ledger in its file, changed only under the file's exclusive lock."""

    def __init__(self, folder: Path):
        self.path = Path(folder) / STATE_FILE

    @contextlib.contextmanager
    def locked(self, now: float) -> Iterator[Ledger]:
        """The ledger to read and change; written back when the block ends.
        A new file starts with ``succeeded_at = now``: the first heartbeat comes a
        day after the receiver first ran, not at every start."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            ledger = _parse(os.pread(fd, 4096, 0), now)
            yield ledger
            data = json.dumps(asdict(ledger)).encode()
            os.ftruncate(fd, 0)
            os.pwrite(fd, data, 0)
        finally:
            os.close(fd)  # also releases the lock


def _parse(data: bytes, now: float) -> Ledger:
    try:
        fields = json.loads(data)
        return Ledger(**{k: type(getattr(Ledger, k))(v) for k, v in fields.items()})
    except (ValueError, TypeError, AttributeError):
        return Ledger(succeeded_at=now)  # new, or damaged: start afresh


__all__ = ["HEARTBEAT", "MAX_BACKOFF", "STATE_FILE", "WINDOW", "Claim", "Ledger",
           "SharedLedger", "decide", "settle"]
