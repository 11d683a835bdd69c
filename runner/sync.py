"""sync: the webhook logs -> subscribers.duckdb (inbound, citizens, subscribers,
consents, statuses, welcome/goodbye deliveries).

The division of labour keeps a million events within seconds:
- weblog.py cuts the files into numbered lines (C-speed bytes work), and knows
  how far each file was read;
- stage.py has DuckDB parse the JSON (one pass per line, on every core) and
  unnest entry[].changes[].value.messages[] / statuses[] / errors[];
- here Python classifies only the DISTINCT texts (keywords.py) and hashes only
  the identities not seen before; everything else is set-based SQL;
- states.py replays the subscriber states of the citizens whose history changed.

Everything is keyed so that order and repetition do not matter: inbound by
wamid, statuses merged with order-independent min/max, subscriber state
replayed from the full keyword history in (timestamp, wamid) order. So an
incremental sync, a re-read of the same lines, or ``sync --rebuild`` reach the
same state. All writes to the database happen in one transaction per sync (the
parsing before it fills only temporary tables): a crash leaves the previous state.
"""

from __future__ import annotations

import hashlib
import json
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import store, weblog
from .keywords import classifier
from .messages import t
from .privacy import citizen_id as pseudonym
from .stage import stage
from .states import columns_frame, erase, recompute
from .subscribers import load_decisions

CLASSIFIED_TYPES = ("text", "button", "interactive")
MEMORY_LIMIT = "600MB"
# Tables sync owns: --rebuild empties them (deliveries belong to the send engine).
SYNC_TABLES = ("log_files", "malformed", "citizens", "inbound", "subscribers",
               "subscriber_events", "consents", "statuses", "webhook_errors", "sync_meta")


@dataclass
class Summary:
    files: int = 0  # files with something new
    lines: int = 0  # lines read
    messages: int = 0  # new inbound messages
    duplicates: int = 0  # messages or lines seen again (Meta retries, re-reads)
    statuses: int = 0  # status webhooks read
    errors: int = 0  # value.errors[] items
    kinds: dict[str, int] = field(default_factory=dict)  # new messages by kind
    malformed: dict[str, int] = field(default_factory=dict)  # all malformed lines, by reason
    states: dict[str, int] = field(default_factory=dict)  # subscribers by state
    welcome: int = 0  # welcome replies queued by this sync
    goodbye: int = 0
    recomputed: int = 0  # citizens whose state was replayed
    rebuilt: bool = False
    no_logs: bool = False  # webhook_logs names no *.jsonl / *.jsonl.gz file
    logs: str = ""
    seconds: float = 0.0
    steps: dict[str, float] = field(default_factory=dict)  # seconds per step (benchmarks)
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
        if self.kinds:
            out.append(t("sync.kinds", detail=_counts(self.kinds)))
        out.append(t("sync.states", detail=_counts(self.states) or "-"))
        if self.welcome or self.goodbye:
            out.append(t("sync.replies", welcome=self.welcome, goodbye=self.goodbye))
        if self.malformed:
            out.append(t("sync.malformed", total=sum(self.malformed.values()),
                         detail=_counts(self.malformed)))
        if self.errors:
            out.append(t("sync.webhook-errors", count=self.errors))
        if self.unmatched:
            out.append(t("sync.decisions-unmatched", count=len(self.unmatched),
                         path=self.decisions_file,
                         lines=", ".join(map(str, self.unmatched[:10]))
                         + (", ..." if len(self.unmatched) > 10 else "")))
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


def _counts(d: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(d.items()))


def sync(settings, rebuild: bool = False) -> Summary:
    """Read what is new in the webhook logs into the database; see the module docstring."""
    started = time.perf_counter()
    con = store.connect(settings.database)
    try:
        summary = _Sync(con, settings).run(rebuild)
    finally:
        con.close()
    summary.seconds = time.perf_counter() - started
    return summary


class _Sync:
    def __init__(self, con, settings):
        self.con = con
        self.settings = settings
        self.key = (settings.pseudonym_key.get_secret_value().encode()
                    if settings.pseudonym_key else None)
        self.decisions = load_decisions(Path(settings.decisions_file))
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
            p: weblog.Progress(size, lines) for p, size, lines in
            con.execute("SELECT path, size, lines FROM log_files").fetchall()}
        paths = weblog.log_files(self.settings.webhook_logs)
        s.no_logs, s.logs = not paths, self.settings.webhook_logs
        reads = [r for r in (weblog.plan(p, known.get(p)) for p in paths) if r]
        con.execute("CREATE OR REPLACE TEMP TABLE stage_affected (citizen_id VARCHAR)")
        if reads:
            # Staging writes only temp tables, outside the transaction: its data
            # then is compressed and can spill, instead of growing transaction memory.
            with self._step("parse"):
                self.summary.files, self.summary.lines = stage(con, reads)
        con.execute("BEGIN TRANSACTION")
        try:
            if rebuild:
                with self._step("empty"):
                    _empty(con, SYNC_TABLES)
            decisions_changed = meta.get("decisions") != decisions_hash
            if reads:
                affected = self._ingest(reads)
            else:
                affected = "none"
            if decisions_changed or rebuild:
                self._forget()
            if rebuild:
                affected = "all"
            elif decisions_changed:
                self._affect_decided()
                affected = "some"
            if affected != "none":
                with self._step("state machine"):
                    self._recompute(everyone=affected == "all")
            con.execute("INSERT OR REPLACE INTO sync_meta VALUES ('fingerprint', ?), "
                        "('decisions', ?)", [fingerprint, decisions_hash])
            self._totals()
            with self._step("commit"):
                con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        finally:
            con.execute("DETACH DATABASE IF EXISTS stage")
            con.execute("RESET memory_limit")
            con.execute("RESET preserve_insertion_order")
        return s

    @contextmanager
    def _step(self, name: str):
        started = time.perf_counter()
        yield
        self.summary.steps[name] = time.perf_counter() - started

    def _fingerprint(self) -> str:
        st = self.settings
        parts = [st.subscribe_keywords, st.unsubscribe_keywords, st.capture_name,
                 st.moderate_subscribe, st.moderate_unsubscribe,
                 hashlib.sha256(self.key or b"").hexdigest()]
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]

    def _ingest(self, reads: list[weblog.FileRead]) -> str:
        con, s = self.con, self.summary
        # Malformed lines: a re-read range replaces what was recorded for it.
        con.execute("CREATE OR REPLACE TEMP TABLE stage_reads (file VARCHAR, first BIGINT)")
        con.executemany("INSERT INTO stage_reads VALUES (?, ?)",
                        [[r.path, 1 if r.restart else r.first_line] for r in reads])
        con.execute("DELETE FROM malformed m USING stage_reads r "
                    "WHERE m.file = r.file AND m.line >= r.first")
        problems = [[r.path, line, reason, detail] for r in reads
                    for line, reason, detail in r.problems]
        con.execute("""
            INSERT OR REPLACE INTO malformed
            SELECT file, line, arg_min(reason, item), arg_min(detail, item)
            FROM stage.stage_items WHERE reason IS NOT NULL GROUP BY file, line
            """)
        if problems:
            con.executemany("INSERT OR REPLACE INTO malformed VALUES (?, ?, ?, ?)", problems)
        con.executemany(
            "INSERT OR REPLACE INTO log_files VALUES (?, ?, ?, ?, now())",
            [[r.path, r.done.size, r.done.lines, Path(r.path).stat().st_mtime] for r in reads])
        with self._step("identify"):
            self._identify()
        with self._step("classify"):
            self._classify()
        with self._step("inbound"):
            new = self._insert_inbound()
        with self._step("statuses"):
            self._merge_statuses()
        s.errors += con.execute("""
            INSERT OR IGNORE INTO webhook_errors
            SELECT DISTINCT file, line, error_code, error_title FROM stage.stage_items
            WHERE item = 'error' AND error_code IS NOT NULL""").fetchall()[0][0]
        return "some" if new else "none"

    def _identify(self) -> None:
        """citizen_id for each staged message: the number when Meta sends it, else the
        number learnt from a message carrying both, else the BSUID. Only identities
        the database does not know yet are hashed (in Python, once each)."""
        con = self.con
        con.execute("""
            CREATE OR REPLACE TEMP TABLE stage_links AS
            SELECT user_id, min(wa_id) AS wa_id FROM (
                SELECT user_id, wa_id FROM stage_messages
                WHERE user_id IS NOT NULL AND wa_id IS NOT NULL
                UNION ALL
                SELECT user_id, wa_id FROM citizens
                WHERE user_id IS NOT NULL AND wa_id IS NOT NULL)
            GROUP BY user_id""")
        con.execute("""
            CREATE OR REPLACE TEMP VIEW stage_identities AS
            SELECT m.*, coalesce(m.wa_id, l.wa_id, m.user_id) AS identity
            FROM stage_messages m LEFT JOIN stage_links l USING (user_id)""")
        identities = [r[0] for r in con.execute("""
            SELECT DISTINCT identity FROM stage_identities WHERE identity NOT IN (
                SELECT coalesce(wa_id, user_id) FROM citizens)""").fetchall()]
        con.register("new_ids", columns_frame(
            identity=identities, citizen_id=[pseudonym(i, self.key) for i in identities]))
        # Built in one statement: in DuckDB 2.0.0, appending a DataFrame of more than
        # one row group to a temp table made by CREATE TABLE AS in the same
        # transaction left the rows invisible to later scans.
        con.execute("""
            CREATE OR REPLACE TEMP TABLE stage_ids AS
            SELECT coalesce(wa_id, user_id) AS identity, citizen_id FROM citizens
            UNION ALL SELECT identity, citizen_id FROM new_ids""")
        # A citizen first seen only by BSUID whose number is now known: re-key.
        orphans = con.execute("""
            SELECT c.citizen_id, l.wa_id FROM citizens c JOIN stage_links l USING (user_id)
            WHERE c.wa_id IS NULL""").fetchall()
        for old, wa_id in orphans:
            self._rekey(old, pseudonym(wa_id, self.key), wa_id)

    def _rekey(self, old: str, new: str, wa_id: str) -> None:
        con = self.con
        row = con.execute("SELECT user_id, profile_name, last_inbound_at FROM citizens "
                          "WHERE citizen_id = ?", [old]).fetchall()[0]
        con.execute("UPDATE inbound SET citizen_id = ? WHERE citizen_id = ?", [new, old])
        con.execute("UPDATE deliveries SET citizen_id = ? WHERE citizen_id = ?", [new, old])
        for table in ("subscribers", "subscriber_events", "consents", "citizens"):
            con.execute(f"DELETE FROM {table} WHERE citizen_id = ?", [old])
        con.execute("""
            INSERT INTO citizens VALUES (?, ?, ?, ?, ?) ON CONFLICT (citizen_id) DO UPDATE SET
                user_id = coalesce(citizens.user_id, excluded.user_id),
                last_inbound_at = greatest(citizens.last_inbound_at, excluded.last_inbound_at)
            """, [new, wa_id, *row])
        con.execute("INSERT INTO stage_affected VALUES (?)", [new])

    def _classify(self) -> None:
        """Keywords: Python looks at each distinct text once; DuckDB joins the result."""
        con = self.con
        texts = [r[0] for r in con.execute(
            f"SELECT DISTINCT text FROM stage_messages WHERE type IN {CLASSIFIED_TYPES} "
            "AND text IS NOT NULL").fetchall()]
        c = classifier(self.settings)
        matches = [c.classify(text) for text in texts]
        con.register("verdicts", columns_frame(
            text=texts,
            kind=[m.kind for m in matches],
            keyword=[m.keyword for m in matches],
            captured_name=[m.name for m in matches],
        ))
        con.execute("CREATE OR REPLACE TEMP TABLE stage_verdicts AS SELECT * FROM verdicts")

    def _insert_inbound(self) -> int:
        con, s = self.con, self.summary
        staged = con.execute("SELECT count(*) FROM stage_messages").fetchall()[0][0]
        # One row per wamid (Meta retries), the first place it appears in the logs.
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE stage_new AS
            SELECT m.wamid, i.citizen_id, m.ts, m.type, m.text,
                   CASE WHEN m.type IN {CLASSIFIED_TYPES} THEN v.kind END AS kind,
                   v.keyword, v.captured_name, m.file, m.line,
                   m.wa_id, m.user_id, m.profile_name
            FROM stage_identities m
            JOIN stage_ids i USING (identity)
            LEFT JOIN stage_verdicts v ON v.text = m.text AND m.type IN {CLASSIFIED_TYPES}
            QUALIFY row_number() OVER (PARTITION BY m.wamid ORDER BY m.file, m.line) = 1""")
        # Keep the first place a message appears in the logs, whatever the reading order.
        con.execute("""
            UPDATE inbound SET file = n.file, line = n.line FROM stage_new n
            WHERE inbound.wamid = n.wamid
              AND (n.file < inbound.file OR (n.file = inbound.file AND n.line < inbound.line))""")
        con.execute("DELETE FROM stage_new WHERE wamid IN (SELECT wamid FROM inbound)")
        con.execute("DROP VIEW stage_identities")
        self._drop_forgotten("stage_new", "ts")
        new = con.execute("""
            INSERT INTO inbound
            SELECT wamid, citizen_id, ts, type, text, coalesce(kind, 'ignored'), keyword,
                   captured_name, file, line
            FROM stage_new""").fetchall()[0][0]
        s.messages += new
        s.duplicates += staged - new
        s.kinds = dict(con.execute(
            "SELECT coalesce(kind, 'ignored'), count(*) FROM stage_new GROUP BY ALL").fetchall())
        con.execute("""
            CREATE OR REPLACE TEMP TABLE stage_citizens AS
            SELECT citizen_id, max(wa_id) AS wa_id, max(user_id) AS user_id,
                   arg_max(profile_name, (ts, wamid)) AS profile_name, max(ts) AS last_inbound_at
            FROM stage_new GROUP BY citizen_id""")
        con.execute("""
            UPDATE citizens SET
                wa_id = coalesce(citizens.wa_id, n.wa_id),
                user_id = coalesce(citizens.user_id, n.user_id),
                profile_name = CASE WHEN n.last_inbound_at > citizens.last_inbound_at
                    THEN n.profile_name ELSE citizens.profile_name END,
                last_inbound_at = greatest(citizens.last_inbound_at, n.last_inbound_at)
            FROM stage_citizens n WHERE citizens.citizen_id = n.citizen_id""")
        con.execute("""
            INSERT INTO citizens SELECT * FROM stage_citizens
            WHERE citizen_id NOT IN (SELECT citizen_id FROM citizens)""")
        return con.execute("""
            INSERT INTO stage_affected
            SELECT DISTINCT citizen_id FROM stage_new WHERE kind IN ('subscribe', 'unsubscribe')
            """).fetchall()[0][0]

    def _merge_statuses(self) -> None:
        """Highest state per wamid, as order-independent min/max merges."""
        con, s = self.con, self.summary
        s.statuses += con.execute("SELECT count(*) FROM stage_statuses").fetchall()[0][0]
        forgotten = [d for d in self.decisions if d.action == "forget"]
        if forgotten:
            recipients = [r[0] for r in con.execute(
                "SELECT DISTINCT recipient_id FROM stage_statuses "
                "WHERE recipient_id IS NOT NULL").fetchall()]
            con.register("rids", columns_frame(
                recipient_id=recipients, citizen_id=[pseudonym(r, self.key) for r in recipients]))
            con.execute("""
                CREATE OR REPLACE TEMP TABLE stage_statuses_kept AS
                SELECT s.*, r.citizen_id FROM stage_statuses s
                LEFT JOIN rids r USING (recipient_id)""")
            self._drop_forgotten("stage_statuses_kept", "ts")
            con.execute(_MERGE_STATUSES.format(source="stage_statuses_kept"))
        else:
            con.execute(_MERGE_STATUSES.format(source="stage_statuses"))

    # --- staff decisions ---------------------------------------------------------
    def _forget(self) -> None:
        """Erase what the logs still hold about forgotten citizens (before the decision)."""
        for d in self.decisions:
            if d.action == "forget":
                erase(self.con, d.citizen_id, before=d.ts)

    def _affect_decided(self) -> None:
        decided = sorted({d.citizen_id for d in self.decisions})
        self.con.register("ids", columns_frame(citizen_id=decided))
        self.con.execute("INSERT INTO stage_affected SELECT citizen_id FROM ids")

    def _drop_forgotten(self, table: str, ts: str) -> None:
        forgotten = [d for d in self.decisions if d.action == "forget"]
        if forgotten:
            self.con.register("forgotten", pd.DataFrame(
                {"citizen_id": [d.citizen_id for d in forgotten],
                 "until": [d.ts for d in forgotten]}))
            self.con.execute(f"""
                DELETE FROM {table} WHERE EXISTS (
                    SELECT 1 FROM forgotten f
                    WHERE f.citizen_id = {table}.citizen_id AND {table}.{ts} <= f.until)""")

    # --- the state machine -------------------------------------------------------
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
        # pseudonym_key changed (ids are keyed by it). Forgotten citizens are gone by design.
        kept = [d for d in self.decisions if d.action != "forget"]
        if kept:
            self.con.register("decided", columns_frame(citizen_id=[d.citizen_id for d in kept]))
            known = {row[0] for row in con.execute(
                "SELECT citizen_id FROM citizens WHERE citizen_id IN "
                "(SELECT citizen_id FROM decided)").fetchall()}
            s.unmatched = sorted(d.line for d in kept if d.citizen_id not in known)
            s.decisions_file = str(self.settings.decisions_file)



# Each status column merges by min/max, so any order and any repetition of the
# webhooks gives the same row; failed wins only over what came before it (a
# later delivered/read/played, from another device or a retry by Meta, means
# the message did arrive). New and known wamids are merged in one pass.
_MERGE_STATUSES = """
CREATE OR REPLACE TEMP TABLE stage_merged AS
WITH batch AS (
    SELECT wamid,
        min(ts) FILTER (status = 'sent') AS sent_at,
        min(ts) FILTER (status = 'delivered') AS delivered_at,
        min(ts) FILTER (status = 'read') AS read_at,
        min(ts) FILTER (status = 'played') AS played_at,
        max(ts) FILTER (status = 'failed') AS failed_at,
        max((ts, error_code, error_title)) FILTER (status = 'failed') AS failure,
        max(recipient_id) AS recipient_id, max(callback) AS callback,
        max(pricing_category) AS pricing_category
    FROM {source} GROUP BY wamid),
merged AS (
    SELECT b.wamid,
        least(b.sent_at, o.sent_at) AS sent_at,
        least(b.delivered_at, o.delivered_at) AS delivered_at,
        least(b.read_at, o.read_at) AS read_at,
        least(b.played_at, o.played_at) AS played_at,
        greatest(b.failed_at, o.failed_at) AS failed_at,
        greatest(b.failure, CASE WHEN o.failed_at IS NOT NULL
                                 THEN (o.failed_at, o.error_code, o.error_title) END) AS failure,
        greatest(b.recipient_id, o.recipient_id) AS recipient_id,
        greatest(b.callback, o.callback) AS callback,
        greatest(b.pricing_category, o.pricing_category) AS pricing_category,
        o.wamid IS NOT NULL AS known
    FROM batch b LEFT JOIN statuses o USING (wamid))
SELECT *,
    failed_at IS NOT NULL AND failed_at > coalesce(
        greatest(delivered_at, read_at, played_at), failed_at - INTERVAL 1 SECOND) AS failed
FROM merged;

DELETE FROM statuses WHERE wamid IN (SELECT wamid FROM stage_merged WHERE known);

INSERT INTO statuses (wamid, status, ts, sent_at, delivered_at, read_at, failed_at,
                      recipient_id, callback, error_code, error_title, pricing_category,
                      played_at)
SELECT wamid,
    CASE WHEN failed THEN 'failed' WHEN played_at IS NOT NULL THEN 'played'
         WHEN read_at IS NOT NULL THEN 'read' WHEN delivered_at IS NOT NULL THEN 'delivered'
         ELSE 'sent' END,
    CASE WHEN failed THEN failed_at
         ELSE coalesce(played_at, read_at, delivered_at, sent_at, failed_at) END,
    sent_at, delivered_at, read_at, failed_at, recipient_id, callback,
    failure[2], failure[3], pricing_category, played_at
FROM stage_merged;
"""

