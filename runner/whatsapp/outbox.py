"""The outbox transport: with no access token, each request body is appended to a JSONL file.

It is exactly what would have been POSTed to the Cloud API, one body per
line, so the main job runs anywhere without credentials and what it "sent"
can be read back. Lines are fsynced before the engine marks them sent, and
the engine reads the outbox back to settle deliveries a crash left ambiguous.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ..files import ends_mid_line
from ..vocabulary import CALLBACK_PREFIX
from .answers import Result


class OutboxTransport:
    name = "outbox"
    # A local append needs no concurrency and no pacing: nothing to protect.
    concurrent = False

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(self.path, "ab", buffering=1 << 20)  # noqa: SIM115 (closed by close())
        if ends_mid_line(self.path):
            # A run killed mid-write left half a line: end it, so the next body is not
            # glued to it (the fragment stays an unreadable line, never a send).
            self._fh.write(b"\n")

    def post(self, body: bytes) -> Result:
        self._fh.write(body + b"\n")
        return Result(wamid=None)

    def upload_media(self, path: Path) -> str:
        # No upload without credentials: a stable stand-in id names the file's content.
        return "outbox-media:" + hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]

    def sync(self) -> None:
        """Make every line written so far durable (called before they are marked sent)."""
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        if not self._fh.closed:
            self.sync()
            self._fh.close()


def has_bodies(path: Path) -> bool:
    """Whether the outbox at ``path`` holds anything (a fresh run has no file yet)."""
    path = Path(path)
    return path.exists() and path.stat().st_size > 0


def delivered_ids_sql(path_param: str = "outbox") -> str:
    """SQL: the distinct delivery ids of the bodies in the outbox file named by the query
    parameter ``$<path_param>``, one column ``delivery_id``.

    The outbox's format, for the store that settles from it: DuckDB reads the file
    (it can hold millions of lines) as one text column, a control character JSON never
    holds raw being the delimiter; a line cut short by a crash is not valid JSON and is
    ignored, like a request never sent.
    """
    pattern = f'"biz_opaque_callback_data":"{CALLBACK_PREFIX}([^"]*)"'
    return f"""
        SELECT DISTINCT regexp_extract(line, '{pattern}', 1) AS delivery_id
        FROM read_csv(${path_param}, columns={{'line': 'VARCHAR'}}, delim='{chr(1)}',
                      quote='', escape='', header=false, auto_detect=false,
                      ignore_errors=true)
        WHERE json_valid(line)
        """
