"""Reading the webhook logs: which files, and which of their lines are new.

The logs are the source of truth: one line = one webhook POST body. This module
only finds files and cuts them into numbered lines, in blocks of bounded size,
so memory stays flat however big a log grows; DuckDB parses the JSON (sync.py).
Python's part is C-speed work: read bytes, decompress, split on newlines.

Reading is incremental: ``log_files`` remembers how many bytes and lines of
each file were consumed, so a file already read is skipped and a grown file is
read from where it stopped. Correctness never depends on it: every event is
keyed by its wamid, so reading a line twice changes nothing.
"""

from __future__ import annotations

import glob
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

BLOCK = 32 * 1024 * 1024  # bytes per block handed to DuckDB
SUFFIXES = (".jsonl", ".jsonl.gz")


@dataclass
class Offset:
    """How far a file was read (a row of ``log_files``)."""

    size: int = 0
    lines: int = 0


@dataclass
class Block:
    """Consecutive lines of one file: ``lines[i]`` is line ``first_line + i`` (raw bytes)."""

    path: str
    first_line: int
    lines: list[bytes]


@dataclass
class FileRead:
    """The outcome of reading one file, known once its blocks are consumed."""

    path: str
    restart: bool  # read from the start (new, replaced, or a gzip that changed)
    first_line: int
    done: Offset = field(default_factory=Offset)
    problems: list[tuple[int, str, str]] = field(default_factory=list)  # (line, reason, detail)
    gzip_error: str | None = None


def log_files(spec: str) -> list[str]:
    """The log files named by ``webhook_logs``: a folder (searched recursively) or a glob."""
    path = Path(spec)
    if path.is_dir():
        found = [str(p) for p in path.rglob("*") if p.name.endswith(SUFFIXES) and p.is_file()]
    else:
        found = [p for p in glob.glob(spec, recursive=True)
                 if p.endswith(SUFFIXES) and Path(p).is_file()]
    return sorted(found)


def plan(path: str, known: Offset | None) -> FileRead | None:
    """What to read from ``path`` given how far it was read; None when nothing is new."""
    size = Path(path).stat().st_size
    gz = path.endswith(".gz")
    if known is not None and size == known.size:
        return None
    if known is None or gz or size < known.size:
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
                end = len(data)
        if end == 0:
            continue
        # Bytes, not str: DuckDB checks the UTF-8 itself, faster than decoding here.
        lines = data[:end].split(b"\n")
        if lines[-1] == b"":
            lines.pop()
        yield Block(read.path, line, lines)
        line += len(lines)
        read.done.lines += len(lines)
    if final and carry and not gz:
        read.done.lines -= 1
    if read.gzip_error:  # cut short exactly at a line boundary
        read.problems.append((line, "gzip_truncated", read.gzip_error))


def _plain_chunks(read: FileRead) -> Iterator[tuple[bytes, bool]]:
    with open(read.path, "rb") as f:
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
    with open(read.path, "rb") as f:
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
