"""Durable file operations the stages share: a new file name made durable, a file
replaced atomically (a reader sees the old content or the new, never half), a file
locked as it is now (not as it was before a replacement), the check that an
append-only file was left mid-line by a killed writer, and the
folder the webhook logs are written into (by the receiver, and by
``subscribers import``)."""

from __future__ import annotations

import fcntl
import os
import stat
from collections.abc import Callable
from pathlib import Path


def fsync_dir(folder: str | Path) -> None:
    """Make a name created or renamed in ``folder`` survive a power cut."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def ends_mid_line(path: Path) -> bool:
    """True when ``path`` does not end with a newline: a writer killed mid-line left a
    fragment, which the next writer closes so its first line is not glued to it."""
    size = path.stat().st_size
    if size == 0:
        return False
    with open(path, "rb") as fh:
        fh.seek(size - 1)
        return fh.read(1) != b"\n"


def replace_durably(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write ``data`` to a temporary file beside ``path``, fsync it, rename it over
    ``path`` and fsync the folder."""
    temporary = path.with_name(f".{path.name}.new")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temporary, path)
    fsync_dir(path.parent)


def open_locked(path: Path, flags: int, mode: int = 0o600,
                opener: Callable[[Path, int, int], int] = os.open) -> int:
    """``path`` opened and under its exclusive ``flock``, as the file it names now.

    The receiver appends and an erasure rewrites a log under that lock, and an
    erasure replaces the file (:func:`replace_durably`): a descriptor opened before
    the replacement holds the old file, whose lock guards nothing and whose lines
    nobody will read. So it is opened again, as often as the file was replaced
    meanwhile; each time is someone else's finished erasure. Without ``O_CREAT`` a
    file gone meanwhile raises ``FileNotFoundError``.
    """
    while True:
        fd = opener(path, flags, mode)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            opened = os.fstat(fd)
            if not stat.S_ISREG(opened.st_mode):
                return fd  # a device (/dev/full in the tests): nothing replaces it
            try:
                current = os.stat(path).st_ino
            except FileNotFoundError:
                current = None
            if current == opened.st_ino:
                return fd
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)


_GLOB_CHARS = frozenset("*?[")


def logs_folder(webhook_logs: str) -> Path:
    """The folder the receiver writes into, from the ``webhook_logs`` setting.

    The setting may be a folder (``webhook-logs``) or a glob the sync reads
    (``/srv/logs/*.jsonl*``): the receiver writes into the part before the
    first component with a wildcard.
    """
    parts = Path(webhook_logs).expanduser().parts
    kept = []
    for part in parts:
        if _GLOB_CHARS & set(part):
            break
        kept.append(part)
    return Path(*kept) if kept else Path(".")
