"""The send journal: each delivery's moves, appended to a file as they happen.

A request leaves only after its delivery is journaled ``sending``, and each
answer is journaled as it arrives, before the worker that got it takes another
message. A line is in the file (the kernel's) when ``write`` returns: a kill -9
loses nothing, and a delivery whose last line is ``sending`` had its request in
flight: only those can be ambiguous. Against the machine itself dying, the file
is fdatasynced in groups: by the first writer that finds the last sync
``SYNC_EVERY_S`` old, and on close: waiting for an fdatasync per line (two per
message) cost far more CPU per message than one shared by everyone every
``SYNC_EVERY_S`` (bench/send.py; docs/measurements.md).

The file (``<database>.sendlog``) starts with a line naming it with a random id.
:func:`runner.send.queue.fold_log` applies it to the database from the offset the
database recorded for that id, in the transaction that records the new offset,
so folding twice never counts twice. It is folded before every chunk, at the end
of a run and at the start of the next (after a kill), and deleted once folded whole.
No SQL here: the journal is a file.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

from ..errors import BanditoreError
from ..files import ends_mid_line, fsync_dir
from ..messages import t

# (delivery_id, state, wamid, error_code, error_title, tries): one move of a delivery.
JournalRow = tuple[str, str, str | None, int | None, str | None, int]
# As read back: the row and when it was journaled (ms since the epoch).
TimedRow = tuple[str, str, str | None, int | None, str | None, int, int]

_MAGIC = "banditore-send-log"
SYNC_EVERY_S = 0.05


def log_path(database: Path) -> Path:
    """Where the send journal of ``database`` lives: beside it, kept with it."""
    return Path(f"{database}.sendlog")


class JournalError(BanditoreError):
    """The journal could not be written: nothing more may be sent."""


class SendLog:
    """The append-only journal of one database, safe to share between threads.

    ``now_ms`` stamps each row with the run's time (ms since the epoch): the time
    settling later reads to tell how long ago a request left.
    """

    def __init__(self, path: Path, now_ms: Callable[[], int]) -> None:
        self.path = Path(path)
        self.now_ms = now_ms
        self._lock = threading.Lock()
        self._syncing = False
        self._synced_at = time.monotonic()
        self.error: OSError | None = None
        self.syncs = 0
        fresh = not self.path.exists() or self.path.stat().st_size == 0
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            if fresh:
                self._write_all(f"{_MAGIC} {uuid.uuid4().hex}\n".encode())
                os.fsync(self._fd)
                fsync_dir(self.path.parent)
            elif ends_mid_line(self.path):
                self._write_all(b"\n")  # close a line a kill cut short: it is skipped
        except BaseException:
            os.close(self._fd)
            raise

    def write(self, rows: Iterable[JournalRow]) -> None:
        """Append ``rows``: in the file (safe from a kill) on return; on disk with the
        next sync (the writer that finds one due does it for everyone)."""
        at = self.now_ms()
        data = "".join([json.dumps([*row, at], ensure_ascii=False, separators=(",", ":"))
                        + "\n" for row in rows]).encode()
        with self._lock:
            self.check()
            try:
                self._write_all(data)
            except OSError as exc:
                self.error = exc  # sticky: a line may be missing, nothing after it may count
                raise JournalError(t("send.journal-error", path=self.path, error=exc)) from exc
            due = not self._syncing and time.monotonic() - self._synced_at >= SYNC_EVERY_S
            if due:
                self._syncing = True
        if due:
            self.sync()

    def sync(self) -> None:
        """Put everything written so far on disk."""
        try:
            _datasync(self._fd)
        except OSError as exc:
            self.error = exc
        finally:
            with self._lock:
                self._syncing = False
                self._synced_at = time.monotonic()
                self.syncs += 1
        self.check()

    def _write_all(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view):]

    def check(self) -> None:
        """Raise if a write failed: the run stopped, nothing after it was sent."""
        if self.error is not None:
            raise JournalError(t("send.journal-error", path=self.path, error=self.error))

    def close(self) -> None:
        with self._lock:
            fd, self._fd = self._fd, -1
        if fd >= 0:
            try:
                _datasync(fd)
                self.syncs += 1
            finally:
                os.close(fd)


def log_id(path: Path) -> tuple[str | None, int]:
    """The id the journal at ``path`` names itself with, and where its rows start
    (None: no journal there, or not one)."""
    try:
        with open(path, "rb") as fh:
            header = fh.readline(200)
    except FileNotFoundError:
        return None, 0
    magic, _, name = header.decode("ascii", "replace").strip().partition(" ")
    if magic != _MAGIC or not header.endswith(b"\n"):
        return None, 0
    return name, len(header)


def read(path: Path, offset: int) -> tuple[list[TimedRow], int]:
    """The journal's whole rows from byte ``offset`` (at least past its header), and the
    offset after the last whole line. A line a kill cut short is left out."""
    with open(path, "rb") as fh:
        fh.seek(offset)
        data = fh.read()
    end = data.rfind(b"\n") + 1
    rows: list[TimedRow] = []
    for line in data[:end].splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue  # the end of a line a kill cut short, closed at the next open
        if isinstance(row, list) and len(row) == 7:
            rows.append(tuple(row))
    return rows, offset + end


_datasync = getattr(os, "fdatasync", os.fsync)  # (macOS has no fdatasync)


def discard(path: Path) -> None:
    path.unlink(missing_ok=True)
