"""sync: the webhook logs -> subscribers.duckdb (inbound, citizens, subscribers,
consents, statuses, welcome/goodbye deliveries).

The division of labour keeps a million events within seconds:
- :mod:`.logs` cuts the files into numbered lines (C-speed bytes work), and knows
  how far each file was read;
- :mod:`.staging` has DuckDB parse the JSON (one pass per line, on every core) and
  flatten entry[].changes[].value.messages[] / statuses[] / errors[] into items;
- :mod:`.inbound` classifies only the DISTINCT texts in Python (:mod:`.keywords`)
  and hashes only the identities not seen before; :mod:`.statuses` merges the
  status webhooks; everything else is set-based SQL;
- :mod:`.states` replays the subscriber states of the citizens whose history changed.

Everything is keyed so that order and repetition do not matter: inbound by
wamid, statuses merged with order-independent min/max, subscriber state
replayed from the full keyword history in (timestamp, wamid) order. So an
incremental sync, a re-read of the same lines, or ``sync --rebuild`` reach the
same state. All writes to the database happen in one transaction per sync (the
parsing before it fills only temporary tables): a crash leaves the previous state.

Where the time goes (bench/sync.py: 1,000,000 lines, 514 MB, 1 % malformed; CPU
seconds on a shared 2-core machine): parsing 6.5 (Python reading 1.1; DuckDB
per 32 MB block 0.06 to split, 0.02 to check the JSON, 0.07 to transform it,
0.15 to make and store the items), on every core; writing 6.7, mostly on one:
statuses 1.0, commit 1.0 (the checkpoint: a WAL-only commit with the checkpoint
at close measured the same in all), storing inbound 0.75 (0.3 of it its primary
key), new messages 0.5, identities 0.5, keywords 0.6 (Python), states 1.6. A
plain json.loads reader of the same files that stores nothing takes 5.4 s
(wall); DuckDB's own read_json storing just the valid lines' messages and
statuses, with no line numbers and none of the steps above, 3.5 s (the bench's
floor): parsing here costs about what it costs DuckDB itself.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from .. import db
from ..db import temp_table
from ..errors import BanditoreError
from ..messages import t
from . import imports, logs, template_updates
from .decisions import load_decisions
from .inbound import classify, drop_old_texts, identify, insert_inbound
from .notices import queue_hints, queue_notices, record_notice
from .privacy import pseudonym_key
from .repository import decisions_path, shown
from .staging import stage
from .states import erase, recompute
from .statuses import merge_statuses
from .topics import Topics

if TYPE_CHECKING:
    import duckdb

    from ..config import Settings

MEMORY_LIMIT = "600MB"
FORMAT = "0008_rights"
# Tables sync owns: --rebuild empties them (deliveries belong to the send engine).
SYNC_TABLES = ("log_files", "malformed", "citizens", "inbound", "subscribers",
               "subscriber_events", "consents", "statuses", "webhook_errors", "sync_meta",
               "template_updates", "imports")


@dataclass
class Summary:
    files: int = 0  # files with something new
    lines: int = 0  # lines read
    messages: int = 0  # new inbound messages
    duplicates: int = 0  # messages or lines seen again (Meta retries, re-reads)
    statuses: int = 0  # status webhooks read
    errors: int = 0  # value.errors[] items
    template_updates: int = 0  # template status/category changes announced by Meta
    kinds: dict[str, int] = field(default_factory=dict)  # new messages by kind
    malformed: dict[str, int] = field(default_factory=dict)  # all malformed lines, by reason
    states: dict[str, int] = field(default_factory=dict)  # subscribers by state
    welcome: int = 0  # welcome replies queued by this sync
    rejoined: int = 0  # short replies to citizens back under the notice of their welcome
    goodbye: int = 0
    imported: int = 0  # consents read from import records (subscribers import)
    migration: int = 0  # migration replies queued (migration_template, outside the window)
    migration_template: bool = True
    recomputed: int = 0  # citizens whose state was replayed
    rebuilt: bool = False
    no_logs: bool = False  # webhook_logs names no *.jsonl / *.jsonl.gz file
    links: int = 0  # symbolic links in the logs folder, not followed
    logs: str = ""
    seconds: float = 0.0
    steps: dict[str, float] = field(default_factory=dict)  # seconds per step (benchmarks)
    texts_dropped: int = 0  # texts past retention_days reduced to their classification
    notices: int = 0  # new privacy notices queued
    notice_template: bool = True  # notice_template is set (needed outside the window)
    hints: int = 0  # near-miss hints queued
    compact: bool = False  # the database file was rewritten without its free blocks
    unmatched: list[int] = field(default_factory=list)  # decisions file lines naming nobody
    decisions_file: str = ""

    def lines_text(self) -> list[str]:
        """The summary for staff, in the current language."""
        out = [t("sync.summary", files=self.files, lines=self.lines, messages=self.messages,
                 duplicates=self.duplicates, statuses=self.statuses, seconds=self.seconds)]
        if self.rebuilt:
            out.insert(0, t("sync.rebuilt"))
        if self.no_logs:
            out.insert(0, t("sync.no-logs", path=self.logs))
        if self.links:
            out.append(t("sync-logs.links-skipped", count=self.links, path=self.logs))
        if self.kinds:
            out.append(t("sync.kinds", detail=_counts(self.kinds)))
        out.append(t("sync.states", detail=_counts(self.states) or "-"))
        out += self._reply_lines()
        out += self._rights_lines()
        if self.malformed:
            out.append(t("sync.malformed", total=sum(self.malformed.values()),
                         detail=_counts(self.malformed)))
        if self.errors:
            out.append(t("sync.webhook-errors", count=self.errors))
        if self.template_updates:
            out.append(t("templates.webhook-updates", count=self.template_updates))
        if self.unmatched:
            out.append(t("sync.decisions-unmatched", count=len(self.unmatched),
                         path=self.decisions_file,
                         lines=", ".join(map(str, self.unmatched[:10]))
                         + (", ..." if len(self.unmatched) > 10 else "")))
        return out

    def _reply_lines(self) -> list[str]:
        """The replies this sync queued: welcomes, goodbyes, returners', the move's news."""
        out = []
        if self.welcome or self.goodbye:
            out.append(t("sync.replies", welcome=self.welcome, goodbye=self.goodbye))
        if self.imported or self.migration:
            out.append(t("sync.imported", count=self.imported, migration=self.migration))
            if self.migration and not self.migration_template:
                out.append(t("sync.migration-no-template"))
        if self.rejoined:
            out.append(t("sync.rejoined", count=self.rejoined))
        return out

    def _rights_lines(self) -> list[str]:
        out = []
        if self.notices:
            out.append(t("sync.notices", count=self.notices))
            if not self.notice_template:
                out.append(t("sync.notices-no-template"))
        if self.hints:
            out.append(t("sync.hints", count=self.hints))
        if self.texts_dropped:
            out.append(t("sync.texts-dropped", count=self.texts_dropped))
        return out

    def one_line(self) -> str:
        return " | ".join(self.lines_text())


def _empty(con, tables) -> None:
    """Empty tables by recreating them from their own definition (and indexes):
    in DuckDB, deleting every row of a keyed table costs seconds per million."""
    for table in tables:
        create = con.execute("SELECT sql FROM duckdb_tables() WHERE database_name = "
                             "current_database() AND schema_name = 'main' AND table_name = ?",
                             [table]).fetchall()[0][0]
        indexes = [r[0] for r in con.execute(
            "SELECT sql FROM duckdb_indexes() WHERE database_name = current_database() "
            "AND table_name = ? AND sql IS NOT NULL", [table]).fetchall()]
        con.execute(f"DROP TABLE {table}")
        con.execute(create)
        for index in indexes:
            con.execute(index)


@contextmanager
def summary_step(summary: Summary, name: str):
    """Time a step into ``summary.steps`` (the benchmarks print them)."""
    started = time.perf_counter()
    yield
    summary.steps[name] = time.perf_counter() - started


def _counts(d: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(d.items()))


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
        meta = dict(con.execute("SELECT key, value FROM sync_meta").fetchall())
        # Other keywords or another pseudonym key change what every event means.
        if meta and meta.get("fingerprint") != fingerprint:
            rebuild = True
        # Bounded memory: DuckDB spills its stage tables to disk beyond this, and
        # need not keep row order where nothing depends on it.
        con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
        con.execute("SET preserve_insertion_order = false")
        if rebuild:
            s.rebuilt, meta = True, {}
        known = {} if rebuild else {
            p: logs.Offset(size, lines, tail) for p, size, lines, tail in
            con.execute("SELECT path, size, lines, tail FROM log_files").fetchall()}
        listing = logs.log_files(self.settings.webhook_logs)
        if self.ci and not listing.files:
            raise BanditoreError(t("sync.no-logs-ci", path=self.settings.webhook_logs))
        s.no_logs, s.logs, s.links = not listing.files, self.settings.webhook_logs, listing.links
        reads = [r for r in (logs.plan(p, known.get(p)) for p in listing.files) if r]
        con.execute("CREATE OR REPLACE TEMP TABLE stage_affected (citizen_id VARCHAR)")
        if reads:
            # Staging writes only temp tables, outside the transaction: its data
            # then is compressed and can spill, instead of growing transaction memory.
            with self._step("parse"):
                self.summary.files, self.summary.lines = stage(con, reads)
        try:
            with self._step("write and commit"), db.transaction(con):
                self._write(reads, rebuild, meta, fingerprint, decisions_hash)
        finally:
            con.execute("DETACH DATABASE IF EXISTS stage")
            con.execute("RESET memory_limit")
            con.execute("RESET preserve_insertion_order")
        return s

    def _write(self, reads, rebuild: bool, meta: dict, fingerprint: str,
               decisions_hash: str) -> None:
        """Everything sync changes in the database (inside its one transaction)."""
        con = self.con
        if rebuild:
            with self._step("empty"):
                _empty(con, SYNC_TABLES)
        decisions_changed = meta.get("decisions") != decisions_hash
        affected = self._ingest(reads) if reads else "none"
        version = record_notice(con, self.settings)
        erased = self._forget() if decisions_changed or rebuild else 0
        if rebuild:
            affected = "all"
        elif decisions_changed:
            self._affect_decided()
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
        # rebuild: it reinserts only what may be kept, and rewriting 1,000,000 events'
        # tables measured 6.8 s on top of its 12.)
        now = self.settings.current_time()
        last = meta.get("compacted_at")
        s.compact = bool(erased) or bool(s.texts_dropped) and (
            last is None or datetime.fromisoformat(last) < now - timedelta(days=1))
        if s.compact:
            con.execute("INSERT OR REPLACE INTO sync_meta VALUES ('compacted_at', ?)",
                        [now.isoformat()])
        con.execute("INSERT OR REPLACE INTO sync_meta VALUES ('fingerprint', ?), "
                    "('decisions', ?)", [fingerprint, decisions_hash])
        self._totals()

    def _step(self, name: str):
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

    def _ingest(self, reads: list[logs.FileRead]) -> str:
        con, s = self.con, self.summary
        # Malformed lines: a re-read range replaces what was recorded for it.
        con.execute("CREATE OR REPLACE TEMP TABLE stage_reads (file VARCHAR, first BIGINT)")
        con.executemany("INSERT INTO stage_reads VALUES (?, ?)",
                        [[r.path, 1 if r.restart else r.first_line] for r in reads])
        con.execute("DELETE FROM malformed m USING stage_reads r "
                    "WHERE m.file = r.file AND m.line >= r.first")
        problems = [(r.path, *problem) for r in reads for problem in r.problems]
        con.execute("""
            INSERT OR REPLACE INTO malformed
            SELECT file, line, arg_min(reason, item), arg_min(detail, item)
            FROM stage.stage_items WHERE reason IS NOT NULL GROUP BY file, line
            """)
        if problems:
            # One statement for all (executemany costs milliseconds a row).
            file, line, reason, detail = zip(*problems, strict=True)
            temp_table(con, "stage_problems", file=("VARCHAR", file), line=("BIGINT", line),
                       reason=("VARCHAR", reason), detail=("VARCHAR", detail))
            con.execute("INSERT OR REPLACE INTO malformed SELECT * FROM stage_problems")
        con.executemany(
            "INSERT OR REPLACE INTO log_files (path, size, lines, tail, mtime, synced_at) "
            "VALUES (?, ?, ?, ?, ?, now())",
            [[r.path, r.done.size, r.done.lines, r.done.tail, Path(r.path).stat().st_mtime]
             for r in reads])
        with self._step("identify"):
            identify(con, self.key)
        with self._step("classify"):
            classify(con, self.settings)
        with self._step("inbound"):
            new = insert_inbound(con, s, self.forgotten, self.settings)
        with self._step("statuses"):
            merge_statuses(con, s, self.key, self.forgotten)
        s.errors += con.execute("""
            INSERT OR IGNORE INTO webhook_errors
            SELECT DISTINCT file, line, error_code, error_title FROM stage.stage_items
            WHERE item = 'error' AND error_code IS NOT NULL""").fetchall()[0][0]
        s.template_updates += template_updates.merge(con)
        with self._step("imports"):
            s.imported += imports.merge(con, self.settings, self.key, self.forgotten)
        s.migration_template = bool(self.settings.migration_template)
        return "some" if new or s.imported else "none"

    def _forget(self) -> int:
        """Erase what the logs still hold about forgotten citizens (before the decision)."""
        return sum(erase(self.con, d.citizen_id, before=d.ts) for d in self.forgotten)

    def _affect_decided(self) -> None:
        decided = sorted({d.citizen_id for d in self.decisions})
        temp_table(self.con, "ids", citizen_id=("VARCHAR", decided))
        self.con.execute("INSERT INTO stage_affected SELECT citizen_id FROM ids")
    def _recompute(self, everyone: bool) -> None:
        self.summary.recomputed = recompute(
            self.con, self.settings, None if everyone else "stage_affected",
            decisions=self.decisions, summary=self.summary)

    def _totals(self) -> None:
        con, s = self.con, self.summary
        s.malformed = dict(con.execute(
            "SELECT reason, count(*) FROM malformed GROUP BY ALL").fetchall())
        s.states = dict(con.execute(
            "SELECT state, count(*) FROM subscribers GROUP BY ALL").fetchall())
        # A decision about nobody the logs know is silently without effect: most likely
        # pseudonym_key changed (ids are keyed by it). Forgotten citizens are gone by
        # design, and so are the decisions about them before their erasure.
        erased = {}
        for d in self.forgotten:
            erased[d.citizen_id] = max(d.ts, erased.get(d.citizen_id, d.ts))
        kept = [d for d in self.decisions if d.action != "forget"
                and not (d.citizen_id in erased and d.ts <= erased[d.citizen_id])]
        if kept:
            temp_table(con, "decided", citizen_id=("VARCHAR", [d.citizen_id for d in kept]))
            known = {row[0] for row in con.execute(
                "SELECT citizen_id FROM citizens WHERE citizen_id IN "
                "(SELECT citizen_id FROM decided)").fetchall()}
            s.unmatched = sorted(d.line for d in kept if d.citizen_id not in known)
            s.decisions_file = shown(decisions_path(self.settings))
