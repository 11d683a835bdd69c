"""Reading the webhook logs: which files, and which of their lines are new.

The logs are the source of truth: one line = one webhook POST body. This module
only finds files and cuts them into numbered lines, in blocks of bounded size,
so memory stays flat however big a log grows; DuckDB parses the JSON (:mod:`.staging`).
Python's part is C-speed work: read bytes, decompress, split on newlines.

Reading is incremental: ``log_files`` remembers how many bytes and lines of
each file were consumed, so a file already read is skipped and a grown file is
read from where it stopped. Correctness never depends on it: every event is
keyed by its wamid, so reading a line twice changes nothing.

Only files inside the logs folder are read: a symbolic link (to a file or a
folder) is never followed, so a link to ``/etc/shadow`` dropped into the folder
cannot bring a line of it into the database (not even as a malformed line's
detail). Links are counted, for the summary.

Each block is checked to be UTF-8 window by window (C speed). Lines that are
not are reported as malformed here and handed on as a marker, so one bad byte
costs one line, not a slow path for the block.
"""

from __future__ import annotations

import glob
import io
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..store.staging import NOT_UTF8

BLOCK = 32 * 1024 * 1024  # bytes per block handed to DuckDB
SUFFIXES = (".jsonl", ".jsonl.gz")
BOM = "\ufeff".encode()  # some editors start a saved file with it
NEWLINE = ord("\n")
_WINDOW = 64 * 1024


@dataclass
class Offset:
    """How far a file was read (a row of ``log_files``)."""

    size: int = 0
    lines: int = 0
    # Bytes after ``size`` already parsed: an unterminated last line, which the
    # receiver may still be writing. Not consumed (a grown file reads it again),
    # but a file that has not changed since is not read again for it.
    tail: int = 0


@dataclass
class Block:
    """``count`` consecutive lines of one file from ``first_line``, as UTF-8 bytes
    joined by newlines (one object: DuckDB splits it, without the GIL). A line
    that is not UTF-8 is :data:`NOT_UTF8` instead (already in the read's ``problems``)."""

    path: str
    first_line: int
    data: bytes
    count: int


@dataclass
class FileRead:
    """The outcome of reading one file, known once its blocks are consumed."""

    path: str
    restart: bool  # read from the start (new, replaced, or a gzip that changed)
    first_line: int
    done: Offset = field(default_factory=Offset)
    problems: list[tuple[int, str, str]] = field(default_factory=list)  # (line, reason, detail)
    gzip_error: str | None = None


@dataclass
class Listing:
    """The log files named by ``webhook_logs``, and the symbolic links left out."""

    files: list[str]
    links: int = 0


def log_files(spec: str) -> Listing:
    """The log files named by ``webhook_logs``: a folder (searched recursively) or a
    glob. Symbolic links are not followed, whether to a file or to a folder."""
    path = Path(spec)
    if path.is_dir():
        return _walk(path)
    found, links = [], set()
    for p in glob.glob(spec, recursive=True):
        if not p.endswith(SUFFIXES):
            continue
        if link := _link(p, spec):
            links.add(link)
        elif Path(p).is_file():
            found.append(p)
    return Listing(sorted(found), len(links))


def _walk(folder: Path) -> Listing:
    found, links = [], 0
    # os.walk does not descend into linked folders; linked files are counted.
    for parent, dirs, names in os.walk(folder):
        links += sum(1 for d in dirs if os.path.islink(os.path.join(parent, d)))
        for name in names:
            if not name.endswith(SUFFIXES):
                continue
            full = os.path.join(parent, name)
            if os.path.islink(full):
                links += 1
            elif os.path.isfile(full):
                found.append(full)
    return Listing(sorted(found), links)


def _link(path: str, spec: str) -> str | None:
    """The symbolic link a glob match goes through, if any: the match itself or a
    folder the glob matched (folders written out in the setting are the town's choice)."""
    fixed = 0
    for part in Path(spec).parts:
        if glob.has_magic(part):
            break
        fixed += 1
    parts = Path(path).parts
    for n in range(min(fixed + 1, len(parts)), len(parts) + 1):
        if os.path.islink(prefix := os.path.join(*parts[:n])):
            return prefix
    return None


def plan(path: str, known: Offset | None) -> FileRead | None:
    """What to read from ``path`` given how far it was read; None when nothing is new."""
    size = Path(path).stat().st_size
    gz = path.endswith(".gz")
    if known is not None and size == known.size + known.tail:
        return None
    if known is None or gz or size < known.size + known.tail:
        # A gzip cannot be resumed mid-stream, and a shorter file was replaced:
        # read it all again (the wamids make the repeated lines harmless).
        return FileRead(path, restart=True, first_line=1)
    return FileRead(path, restart=False, first_line=known.lines + 1,
                    done=Offset(known.size, known.lines))


def blocks(read: FileRead) -> Iterator[Block]:
    """Yield the file's new lines in blocks; fills ``read.done`` and ``read.problems``."""
    gz = read.path.endswith(".gz")
    line = read.first_line
    carry = b""
    for chunk, final in _gzip_chunks(read) if gz else _plain_chunks(read):
        data = carry + chunk
        end = data.rfind(b"\n") + 1
        carry = data[end:]
        if final and carry:
            if gz and read.gzip_error:
                # Cut short mid-line: that line is lost, the ones before are fine.
                read.problems.append((line + data.count(b"\n", 0, end), "gzip_truncated",
                                      read.gzip_error))
                read.gzip_error = None
            else:
                # No newline yet at the end of the file: the receiver may still be
                # writing it. Parse it now, but leave the offset before it, so a
                # grown file reads the completed line again.
                if not gz:
                    read.done.size -= len(carry)
                    read.done.tail = len(carry)
                end = len(data)
        if end == 0:
            continue
        body = data[:end - 1] if data[end - 1] == NEWLINE else data[:end]
        if line == 1 and body.startswith(BOM):
            body = body[len(BOM):]
        count = body.count(b"\n") + 1
        yield Block(read.path, line, _utf8(body, line, read.problems), count)
        line += count
        read.done.lines += count
    if final and carry and not gz:
        read.done.lines -= 1
    if read.gzip_error:  # cut short exactly at a line boundary
        read.problems.append((line, "gzip_truncated", read.gzip_error))


def _utf8(body: bytes, first: int, problems: list[tuple[int, str, str]]) -> bytes:
    """``body`` if it is UTF-8; else a copy whose lines that are not are replaced by
    :data:`NOT_UTF8` (each reported in ``problems``). Checked in windows of whole
    lines: a bad line costs its window's decode again, not the block's, and a
    window's string stays small (decoding a whole block at once made one string of
    it, four bytes a character when one emoji is in it, and that string was most of
    the cost)."""
    view = memoryview(body)
    pieces: list[bytes | memoryview] = []
    pos = counted = 0
    number = first
    reported = len(problems)
    while pos < len(body):
        end = body.find(b"\n", pos + _WINDOW)
        end = len(body) if end < 0 else end
        try:
            str(view[pos:end], "utf-8")
        except UnicodeDecodeError as exc:
            bad = pos + exc.start
            start = body.rfind(b"\n", pos, bad) + 1
            stop = body.find(b"\n", bad)
            stop = len(body) if stop < 0 else stop
            number += body.count(b"\n", counted, start)
            counted = start
            problems.append((number, "not_json", f"{stop - start} bytes: not UTF-8"))
            pieces += [view[pos:start], NOT_UTF8]
            pos = stop  # the bad line's newline starts the next piece
            continue
        pieces.append(view[pos:end])
        pos = end
    return body if len(problems) == reported else b"".join(pieces)


def _open(path: str) -> io.BufferedReader:
    """Open for reading, refusing a symbolic link (one swapped in after the listing)."""
    return os.fdopen(os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC), "rb")


def _plain_chunks(read: FileRead) -> Iterator[tuple[bytes, bool]]:
    with _open(read.path) as f:
        f.seek(read.done.size)
        while True:
            chunk = f.read(BLOCK)
            read.done.size += len(chunk)
            final = len(chunk) < BLOCK or not f.peek(1)
            yield chunk, final
            if final:
                return


def _gzip_chunks(read: FileRead) -> Iterator[tuple[bytes, bool]]:
    """Decompress block by block (concatenated members too). A file cut short
    yields what could be decompressed and sets ``read.gzip_error``."""
    with _open(read.path) as f:
        raw = f.read()
    read.done.size = len(raw)
    decomp = zlib.decompressobj(wbits=31)
    pending = raw
    raw = b""
    try:
        while True:
            out = decomp.decompress(pending, BLOCK)
            pending = decomp.unconsumed_tail
            if out:
                yield out, False
            if decomp.eof:
                pending = decomp.unused_data
                if not pending.strip(b"\0"):
                    break
                decomp = zlib.decompressobj(wbits=31)
            elif not pending and not out:
                read.gzip_error = "the compressed stream ends before its end marker"
                break
    except zlib.error as exc:
        read.gzip_error = f"corrupt compressed data: {exc}"
    yield b"", True
