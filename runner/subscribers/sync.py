"""sync: the webhook logs -> subscribers.duckdb (inbound, citizens, subscribers,
consents, statuses, welcome/goodbye deliveries). The stage's manager: it runs the
steps in order, each from its room, and adds up what they return into a
:class:`~.summary.Summary`; the steps never see the summary, nor one another.

- :mod:`.logs.files` cuts the files into numbered lines (C-speed bytes work), and
  knows how far each file was read;
- :mod:`.logs.staging` has DuckDB parse the JSON (one pass per line, on every core)
  and flatten entry[].changes[].value.messages[] / statuses[] / errors[] into items;
- :mod:`.logs.inbound` classifies only the DISTINCT texts in Python and hashes only
  the identities not seen before; :mod:`.logs.delivery_statuses` merges the status
  webhooks, :mod:`.logs.import_records` the consents moved in; everything else is
  set-based SQL, in :mod:`.store`;
- :mod:`.lifecycle.recompute` replays the subscriber states of the citizens whose
  history changed; :mod:`.lifecycle.notices` queues what is due besides.

Everything is keyed so that order and repetition do not matter: inbound by
wamid, statuses merged with order-independent min/max, subscriber state
replayed from the full keyword history in (timestamp, wamid) order. So an
incremental sync, a re-read of the same lines, or ``sync --rebuild`` reach the
same state. All writes to the database happen in one transaction per sync (the
parsing before it fills only the stage): a crash leaves the previous state.
The time each step takes is in ``Summary.steps``; bench/sync.py prints them.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from .. import db
from ..errors import BanditoreError
from ..messages import t
from .lifecycle.decisions import load_decisions
from .lifecycle.notices import queue_hints, queue_notices, record_notice
from .lifecycle.recompute import recompute
from .lifecycle.topics import Topics
from .logs import files, import_records, staging
from .logs.delivery_statuses import merge_statuses
from .logs.inbound import classify, drop_old_texts, identify, insert_inbound
from .privacy import pseudonym_key
from .repository import decisions_path, shown
from .store import citizens, erasure, reads, subscriber_states, templates
from .summary import Summary

if TYPE_CHECKING:
    import duckdb

    from ..config import Settings

MEMORY_LIMIT = "600MB"
FORMAT = "0008_rights"
# Tables sync owns: --rebuild empties them (deliveries belong to the send engine).
SYNC_TABLES = ("log_files", "malformed", "citizens", "inbound", "subscribers",
               "subscriber_events", "consents", "statuses", "webhook_errors", "sync_meta",
               "template_updates", "imports")


@contextmanager
def summary_step(summary: Summary, name: str) -> Iterator[None]:
    """Time a step into ``summary.steps`` (the benchmarks print them)."""
    started = time.perf_counter()
    yield
    summary.steps[name] = time.perf_counter() - started


def sync(settings: Settings, rebuild: bool = False,
         environ: Mapping[str, str] | None = None) -> Summary:
    """Read what is new in the webhook logs into the database; see the module docstring.

    In CI (``CI=true`` in ``environ``) finding no log file is an error, raised
    before anything is written: there the logs were fetched by an earlier step,
    and a run that went on without them would look green while nobody's message
    was read (and a rebuilt database would have nobody to send to)."""
    started = time.perf_counter()
    ci = (environ or {}).get("CI") == "true"
    # Rebuilding is also the way out of a damaged file: it is set aside, not reused.
    con = db.connect(settings.database, set_aside_damaged=rebuild)
    try:
        summary = _Sync(con, settings, ci).run(rebuild)
    finally:
        con.close()
    if summary.compact:
        with summary_step(summary, "compact"):
            db.compact(settings.database)
    summary.seconds = time.perf_counter() - started
    return summary


class _Sync:
    def __init__(self, con: duckdb.DuckDBPyConnection, settings: Settings,
                 ci: bool = False) -> None:
        self.con = con
        self.settings = settings
        self.ci = ci
        self.key = pseudonym_key(settings)
        self.decisions = load_decisions(decisions_path(settings))
        self.forgotten = [d for d in self.decisions if d.action == "forget"]
        self.summary = Summary()

    # --- the steps ----------------------------------------------------------------
    def run(self, rebuild: bool) -> Summary:
        con, s = self.con, self.summary
        fingerprint = self._fingerprint()
        decisions_hash = hashlib.sha256(
            "\n".join(f"{d.ts.isoformat()} {d.action} {d.citizen_id}" for d in self.decisions)
            .encode()).hexdigest()
        meta = reads.meta(con)
        # Other keywords or another pseudonym key change what every event means.
        if meta and meta.get("fingerprint") != fingerprint:
            rebuild = True
        # Bounded memory: DuckDB spills its stage tables to disk beyond this, and
        # need not keep row order where nothing depends on it.
        with db.configured(con, memory_limit=MEMORY_LIMIT, preserve_insertion_order=False):
            if rebuild:
                s.rebuilt, meta = True, {}
            new = self._new_lines(rebuild)
            subscriber_states.start_affected(con)
            try:
                if new:
                    # Outside the transaction: the stage is compressed and can spill,
                    # instead of growing the transaction's memory.
                    with self._step("parse"):
                        s.files, s.lines = staging.stage(con, new)
                with self._step("write and commit"), db.transaction(con):
                    self._write(new, rebuild, meta, fingerprint, decisions_hash)
            finally:
                staging.unstage(con)
                subscriber_states.drop_affected(con)
        return s

    def _new_lines(self, rebuild: bool) -> list[files.FileRead]:
        """What to read of each log file: all of it on a rebuild, else what is new."""
        s, logs = self.summary, self.settings.webhook_logs
        known = {} if rebuild else {
            p: files.Offset(size, lines, tail) for p, size, lines, tail in reads.offsets(self.con)}
        listing = files.log_files(logs)
        if self.ci and not listing.files:
            raise BanditoreError(t("sync.no-logs-ci", path=logs))
        s.no_logs, s.logs, s.links = not listing.files, logs, listing.links
        return [r for r in (files.plan(p, known.get(p)) for p in listing.files) if r]

    def _write(self, new: list[files.FileRead], rebuild: bool, meta: dict, fingerprint: str,
               decisions_hash: str) -> None:
        """Everything sync changes in the database (inside its one transaction)."""
        con = self.con
        if rebuild:
            with self._step("empty"):
                db.empty(con, SYNC_TABLES)
        decisions_changed = meta.get("decisions") != decisions_hash
        affected = self._ingest(new) if new else "none"
        version = record_notice(con, self.settings)
        erased = self._forget() if decisions_changed or rebuild else 0
        if rebuild:
            affected = "all"
        elif decisions_changed:
            subscriber_states.affect(con, sorted({d.citizen_id for d in self.decisions}))
            affected = "some"
        if affected != "none":
            with self._step("state machine"):
                self._recompute(everyone=affected == "all")
        with self._step("minimise and notify"):
            s = self.summary
            s.texts_dropped = drop_old_texts(con, self.settings)
            s.notices = queue_notices(con, self.settings, version)
            s.notice_template = bool(self.settings.notice_template)
            s.hints = queue_hints(con, self.settings)
        # Deleted rows stay in the file's free blocks until it is rewritten: at once
        # after an erasure, at most daily for texts past retention. (Not after a
        # rebuild: it reinserts only what may be kept, and the rewrite would add half
        # again to its time; docs/measurements.md.)
        now = self.settings.current_time()
        last = meta.get("compacted_at")
        s.compact = bool(erased) or bool(s.texts_dropped) and (
            last is None or datetime.fromisoformat(last) < now - timedelta(days=1))
        if s.compact:
            reads.record_compaction(con, now)
        reads.record_meaning(con, fingerprint, decisions_hash)
        self._totals()

    def _step(self, name: str) -> AbstractContextManager[None]:
        return summary_step(self.summary, name)

    def _fingerprint(self) -> str:
        st = self.settings
        # FORMAT: what a sync derives from the logs changed (masked forms, pricing):
        # a database synced before is rebuilt once.
        parts = [FORMAT, st.subscribe_keywords, st.unsubscribe_keywords, st.capture_name,
                 st.moderate_subscribe, st.moderate_unsubscribe,
                 hashlib.sha256(self.key or b"").hexdigest(),
                 st.pause_keywords, st.resume_keywords]
        # Topics change what a keyword or a menu pick means; the menu keyword counts
        # only where there is a menu.
        parts += [Topics(st).fingerprint(), st.topics_menu and st.topics_keywords]
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]

    def _ingest(self, new: list[files.FileRead]) -> str:
        """The staged lines into the database; "some" when someone's state must be
        replayed, else "none"."""
        con, s = self.con, self.summary
        # Malformed lines: a re-read range replaces what was recorded for it.
        reads.record_malformed(con, [(r.path, 1 if r.restart else r.first_line) for r in new],
                               [(r.path, *problem) for r in new for problem in r.problems])
        reads.record_offsets(con, [(r.path, r.done.size, r.done.lines, r.done.tail,
                                    Path(r.path).stat().st_mtime) for r in new])
        with self._step("identify"):
            identify(con, self.key)
        with self._step("classify"):
            classify(con, self.settings)
        with self._step("inbound"):
            messages = insert_inbound(con, self.forgotten, self.settings)
        s.messages += messages.new
        s.duplicates += messages.duplicates
        s.kinds = messages.kinds
        with self._step("statuses"):
            s.statuses += merge_statuses(con, self.key, self.forgotten)
        s.errors += reads.record_webhook_errors(con)
        s.template_updates += templates.merge(con)
        with self._step("imports"):
            s.imported += import_records.merge(con, self.settings, self.key, self.forgotten)
        s.migration_template = bool(self.settings.migration_template)
        return "some" if messages.replayed or s.imported else "none"

    def _forget(self) -> int:
        """Erase what the logs still hold about forgotten citizens (before the decision)."""
        return sum(erasure.erase(self.con, d.citizen_id, before=d.ts) for d in self.forgotten)

    def _recompute(self, everyone: bool) -> None:
        s = self.summary
        done = recompute(self.con, self.settings, "everyone" if everyone else "affected",
                         self.decisions)
        s.recomputed = done.citizens
        s.welcome += done.replies.get("welcome", 0)
        s.rejoined += done.replies.get("rejoined", 0)
        s.goodbye += done.replies.get("goodbye", 0)
        s.migration += done.replies.get("migration", 0)

    def _totals(self) -> None:
        con, s = self.con, self.summary
        s.malformed = reads.malformed_counts(con)
        s.states = subscriber_states.state_counts(con)
        # A decision about nobody the logs know is silently without effect: most likely
        # pseudonym_key changed (ids are keyed by it). Forgotten citizens are gone by
        # design, and so are the decisions about them before their erasure.
        erased: dict[str, datetime] = {}
        for d in self.forgotten:
            erased[d.citizen_id] = max(d.ts, erased.get(d.citizen_id, d.ts))
        kept = [d for d in self.decisions if d.action != "forget"
                and not (d.citizen_id in erased and d.ts <= erased[d.citizen_id])]
        if kept:
            known = citizens.known_among(con, [d.citizen_id for d in kept])
            s.unmatched = sorted(d.line for d in kept if d.citizen_id not in known)
            s.decisions_file = shown(decisions_path(self.settings))
