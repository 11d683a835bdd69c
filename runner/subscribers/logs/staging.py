"""Staging: the new lines of the webhook logs, parsed by DuckDB into the stage, an
attached in-memory database whose tables the next steps read (what each holds:
:mod:`runner.subscribers.store.staging`).

The reading thread only cuts files into blocks and checks they are UTF-8
(:mod:`.files`); worker threads, each with its own cursor, hand DuckDB one block
each as one bytes object, and DuckDB splits and parses it without holding the
GIL, so parsing uses every core. Staging writes only the stage, outside the sync's
transaction: its data is then compressed and can spill, instead of growing the
transaction's memory. :func:`unstage` drops it when the sync is done with it.
"""

from __future__ import annotations

import os
import queue
import threading
from typing import TYPE_CHECKING, NamedTuple

from ... import db
from ..store import staging
from . import files, template_updates

if TYPE_CHECKING:
    import duckdb

PARSE_WORKERS = max(1, min(4, os.cpu_count() or 1))


class Staged(NamedTuple):
    """What staging read: files with something new, and their new lines."""

    files: int
    lines: int


def stage(con: duckdb.DuckDBPyConnection, reads: list[files.FileRead]) -> Staged:
    """Parse the new lines of ``reads`` into the stage. :func:`unstage` drops it."""
    staging.attach(con)
    blocks: queue.Queue = queue.Queue(maxsize=PARSE_WORKERS + 1)
    errors: list[BaseException] = []
    read = lines = 0
    # Each worker's statement runs on its own thread alone: DuckDB's own threads
    # added CPU (scheduling) and no speed, the workers already keeping every core
    # busy (docs/measurements.md). The setting is the instance's: restored after.
    with db.kept(con, "threads", 1):
        workers = [threading.Thread(target=_work, args=(con, blocks, errors), daemon=True)
                   for _ in range(PARSE_WORKERS)]
        for w in workers:
            w.start()
        try:
            for one in reads:
                for block in files.blocks(one):
                    if errors:
                        break
                    lines += block.count
                    blocks.put(block)
                read += 1
        finally:
            for _ in workers:
                blocks.put(None)
            for w in workers:
                w.join()
    if errors:
        raise errors[0]
    staging.flatten_complex(con)
    staging.split(con)
    return Staged(read, lines)


def unstage(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the stage (outside any transaction)."""
    staging.detach(con)


def _work(con: duckdb.DuckDBPyConnection, blocks: queue.Queue, errors: list[BaseException]) -> None:
    """A parsing thread: blocks from the queue into the stage, until None."""
    cur = con.cursor()
    # One transaction per worker, not one per block: committing an append to
    # the stage cost more than parsing the block whenever it completed a row
    # group (docs/measurements.md), and nothing here needs to
    # be visible before the workers are done. Rolled back if any worker failed.
    try:
        with db.transaction(cur, commit=lambda: not errors):
            while (block := blocks.get()) is not None:
                if errors:
                    continue  # keep draining so the reader never blocks
                try:
                    _parse(cur, block)
                except BaseException as exc:  # re-raised by the reading thread
                    errors.append(exc)
    except BaseException as exc:
        errors.append(exc)
    finally:
        cur.close()


def _parse(cur: duckdb.DuckDBPyConnection, block: files.Block) -> None:
    staging.parse_block(cur, block.path, block.first_line, block.data)
    template_updates.stage_block(cur, block.data)
