"""The webhook log writer: append-only JSONL files, one per UTC day, written durably.

Every accepted webhook becomes one line in ``<folder>/YYYY-MM-DD.jsonl``, and
the caller of :meth:`LogWriter.append` gets control back only once that line is on
disk (written and fsynced). Those files are the source of truth for
subscribers, so two properties matter more than anything else:

- **No torn or interleaved lines.** One writer thread per process writes a whole
  batch with a single ``os.write`` on an ``O_APPEND`` descriptor, under an
  exclusive ``flock`` so that several processes (gunicorn workers) appending to
  the same file never interleave either.
- **Group commit.** An fsync costs from 0.1 ms (SSD with a write cache) to
  10 ms or more (disks, network volumes). Paying one per request caps a
  receiver at 100 requests/s on a slow disk; Meta asks for three times the
  outbound rate (240/s). The writer thread therefore takes every line that
  arrived while the previous fsync was running and commits them together:
  the cost of an fsync is shared by the whole batch, and each request is still
  answered only after its own line is durable.

A process killed in the middle of a write (SIGKILL, power loss) can leave a
partial last line. It was never acknowledged, so Meta sends that webhook again;
the next append notices that the file does not end with a newline and
terminates the fragment first, so the fragment stays a line of its own (a
malformed line that the sync reader counts and skips) instead of being glued
to the next, good line.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from ..files import fsync_dir, open_locked

# Re-exported (the "as" says so): the receiver's app and its tests import it from here.
from ..files import logs_folder as logs_folder

log = logging.getLogger("banditore.webhook")

PROBE_SIZE = 4096  # one block: a full disk refuses it
PROBE_EVERY = 1.0  # seconds a health probe's answer holds


def _utcnow() -> datetime:
    return datetime.now(UTC)


class _Entry:
    __slots__ = ("path", "line", "done", "error")

    def __init__(self, path: Path, line: bytes):
        self.path = path
        self.line = line
        self.done = threading.Event()
        self.error: BaseException | None = None


class LogWriter:
    """Durable, line-atomic appends to one JSONL file per UTC day, with group commit."""

    def __init__(self, folder: Path, clock: Callable[[], datetime] = _utcnow,
                 fsync: Callable[[int], None] = os.fsync,
                 open_file: Callable[[Path, int, int], int] = os.open):
        self.folder = Path(folder)
        self._clock = clock
        self._fsync = fsync  # injectable: the benchmark simulates a slow disk
        # Injectable: a test opens /dev/full, whose writes fail as on a full disk.
        self._open = open_file
        self._probe_lock = threading.Lock()
        self._probed: tuple[float, str | None] = (-PROBE_EVERY, None)
        self._cond = threading.Condition()
        self._pending: list[_Entry] = []
        self._writer_pid: int | None = None
        self._synced_names: set[Path] = set()

    def path_for(self, moment: datetime) -> Path:
        return self.folder / f"{moment.astimezone(UTC):%Y-%m-%d}.jsonl"

    def append(self, line: bytes) -> Path:
        """Append ``line`` (one line, ending with ``\\n``); return once it is durable.

        Raises the ``OSError`` of a failed write or fsync: the caller must then
        not acknowledge the webhook (Meta will send it again).
        """
        if not line.endswith(b"\n") or b"\n" in line[:-1] or b"\r" in line:
            raise ValueError("a log line must be exactly one line ending with \\n")
        entry = _Entry(self.path_for(self._clock()), line)
        with self._cond:
            self._start_writer()
            self._pending.append(entry)
            self._cond.notify()
        entry.done.wait()
        if entry.error is not None:
            raise entry.error
        return entry.path

    def probe(self) -> str | None:
        """Whether a line could be written now: None, or what failed.

        A real write of :data:`PROBE_SIZE` bytes and an fsync, in a file of
        its own beside the logs (then removed): a writable folder on a full
        disk, a read-only remount or a dead disk fail it as they fail a POST.
        The write is made at most once a second, whoever asks, so a monitoring
        loop (or anyone on the internet) cannot turn health checks into disk
        load; the folder itself is looked at every time.
        """
        if not (self.folder.is_dir() and os.access(self.folder, os.W_OK | os.X_OK)):
            return "the logs folder is missing or not writable"
        with self._probe_lock:
            at, problem = self._probed
            if time.monotonic() - at < PROBE_EVERY:
                return problem
            problem = self._probe()
            self._probed = (time.monotonic(), problem)
            return problem

    def _probe(self) -> str | None:
        path = self.folder / f".healthz-{os.getpid()}"
        try:
            fd = self._open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
            try:
                view = memoryview(bytes(PROBE_SIZE))
                while view:
                    view = view[os.write(fd, view):]
                self._fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            return exc.strerror or str(exc)
        finally:
            with contextlib.suppress(OSError):
                path.unlink()
        return None

    def _start_writer(self) -> None:
        # Started lazily, and again in a forked child (gunicorn --preload): a
        # thread does not survive fork.
        if self._writer_pid == os.getpid():
            return
        self._writer_pid = os.getpid()
        self._pending = []
        threading.Thread(target=self._run, name="log-writer", daemon=True).start()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending:
                    self._cond.wait()
                batch, self._pending = self._pending, []
            self._commit(batch)

    def _commit(self, batch: list[_Entry]) -> None:
        by_path: dict[Path, list[_Entry]] = {}
        for entry in batch:
            by_path.setdefault(entry.path, []).append(entry)
        for path, entries in by_path.items():
            try:
                self._write(path, b"".join(e.line for e in entries))
            except BaseException as exc:  # noqa: BLE001 - the waiters must learn of any failure
                log.error("log write to %s failed: %s", path.name, exc)
                for entry in entries:
                    entry.error = exc
            for entry in entries:
                entry.done.set()

    def _write(self, path: Path, data: bytes) -> None:
        created = not path.exists()
        if created:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        # The logs hold phone numbers: readable by the receiver's user only.
        fd = open_locked(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600,
                         self._open)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                data = b"\n" + data  # close a fragment left by a killed writer
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            self._fsync(fd)
        finally:
            os.close(fd)  # also releases the flock
        if created or path not in self._synced_names:
            fsync_dir(self.folder)  # make the new file's name durable too
            self._synced_names.add(path)
