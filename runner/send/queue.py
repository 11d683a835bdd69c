"""The send queue: the deliveries of one run, in the order they go out.

The engine never writes SQL: it asks the queue for the next chunk of deliveries,
and what happened to each comes back through the file journal
(:mod:`runner.send.journal`), folded into ``deliveries`` before every chunk, at
the end of a run and at the start of the next (:func:`fold_log`). Deliveries move
``queued -> sending -> sent | failed``; a fold is one UPDATE of ``deliveries``
however many moves it carries. Every SQL statement of sending is the store's
(:mod:`runner.send.store`): this module decides what to ask it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from datetime import datetime, timedelta
from pathlib import Path

import duckdb

from ..vocabulary import REPLY_KINDS, TEXT_REPLY_KINDS
from ..whatsapp.answers import (
    PAYLOAD_CODES,
    RETRY_LATER_AFTER_S,
    RETRY_LATER_CODES,
    TRANSIENT_CODES,
)
from . import journal
from .store import selection, transitions
from .store.selection import Row


def fold_log(con: duckdb.DuckDBPyConnection, path: Path, *, discard: bool = False) -> int:
    """Apply the journal at ``path`` to deliveries (each delivery's last journaled state,
    attempts added up), from the offset this database last folded it to.

    One transaction applies the rows and records the new offset: a kill in between
    leaves both as they were, and folding again never counts a row twice. With
    ``discard`` (nobody writes it any more), a journal folded whole is deleted.
    Rows a run of an older version left in the ``send_journal`` table go first.
    """
    changed = transitions.fold_leftover(con)
    log_id, start = journal.log_id(path)
    if log_id is None:
        if discard and path.exists():
            journal.discard(path)  # not a journal (an empty file a kill left)
        return changed
    rows, end = journal.read(path, max(start, transitions.folded_to(con, log_id)))
    if rows:
        changed += transitions.fold_journal(con, rows, log_id, end)
    if discard and path.stat().st_size <= end:
        journal.discard(path)  # first the file: a row without its file is harmless
        transitions.forget_journal(con, log_id)
    return changed


def requeue_failed(con: duckdb.DuckDBPyConnection, now: datetime, *,
                   payload: bool = False) -> int:
    """Failures that can succeed now, back in the queue: transient ones (retries that
    ran out in an outage) at once, 131049 after its 24 hours. Every run does this;
    ``payload`` (`send --retry-failed`, after fixing a template) adds the failures
    of a body Meta refused."""
    codes = TRANSIENT_CODES if payload else TRANSIENT_CODES - PAYLOAD_CODES
    return transitions.requeue_failed(
        con, now, codes=codes, later_codes=RETRY_LATER_CODES,
        later_cutoff=now - timedelta(seconds=RETRY_LATER_AFTER_S))


class Queue:
    """The deliveries of one run: what is queued, in which order it goes out."""

    def __init__(self, con: duckdb.DuckDBPyConnection, now: datetime,
                 log: Path | None = None) -> None:
        self.con = con
        self.now = now
        self.log = log  # the run's journal, folded before each chunk
        self.excluded: set[str] = set()
        self.last_first: str | None = None

    # --- before sending ---------------------------------------------------------
    def skip_unsendable(self, no_template: list[str]) -> Counter:
        """Replies of ``no_template`` kinds outside the 24-hour window, and deliveries to
        a citizen who cannot be reached (no number, no business-scoped id): skipped,
        with the reason. What was skipped: (kind, reason) -> deliveries."""
        skipped: Counter = Counter()
        skipped.update(transitions.skip_outside_window(self.con, self.now, self._window(),
                                                       no_template))
        skipped.update(transitions.skip_unreachable(self.con, self.now))
        return skipped

    def prepare(self, announcement_ids: list[str]) -> tuple[int, int]:
        """Make these announcements (and the replies) sendable: (queued in all, replies)."""
        selection.prepare(self.con, announcement_ids, list(REPLY_KINDS))
        return selection.queued_sendable(self.con), selection.queued_replies(self.con)

    def close(self) -> None:
        """The run is done: its tables go."""
        selection.forget(self.con)

    # --- while sending --------------------------------------------------------------
    def exclude(self, key: str) -> None:
        """Stop selecting a payload's deliveries (its body was refused: they stay queued)."""
        if key in self.excluded:
            return
        self.excluded.add(key)
        kind = key.split("-")[0]
        if kind in REPLY_KINDS:
            selection.stop_kind(self.con, kind)
        else:
            selection.stop_announcement(self.con, key)

    def fresh_chunk(self, size: int, held: Collection[str] = ()) -> list[Row]:
        """The next chunk, or nothing when it starts where the last one did: whatever put
        those deliveries back in the queue, sending them again now would loop."""
        rows = self.next_chunk(size, held)
        first = rows[0][0] if rows else None
        if first is not None and first == self.last_first:
            return []
        self.last_first = first
        return rows

    def next_chunk(self, size: int, held: Collection[str] = ()) -> list[Row]:
        """Up to ``size`` queued deliveries not ``held`` by the engine (in a worker's hands,
        or waiting for a retry): (delivery_id, citizen_id, address, payload key, the wamid
        a correction or withdrawal quotes).

        Emergencies first (they wait for nothing), then replies (the 24-hour window is
        closing: and a welcome goes before the citizen's other announcements), then the
        rest; within an announcement by citizen, so one citizen's messages are a whole
        pass apart.
        One group (the replies, or one announcement) at a time, and within it only the
        citizens below a bound that holds about a chunk: sorting the whole queue for
        each chunk held far more memory (docs/measurements.md).
        """
        if self.log is not None:
            fold_log(self.con, self.log)  # what went out is journaled: not selected again
        selection.hold(self.con, held)
        group = selection.next_group(self.con)
        if group is None:
            return []
        announcement_id, queued = group
        upto = None
        if queued > 2 * size:
            sample = selection.group_sample(self.con, announcement_id, 1000)
            upto = sample[min(len(sample) - 1, len(sample) * size // queued)]
        return selection.chunk(self.con, announcement_id, size, upto=upto,
                               window=self._window(), templated=list(TEXT_REPLY_KINDS))

    def _window(self) -> datetime:
        """The start of the 24-hour customer service window still open now."""
        return self.now - timedelta(hours=24)
