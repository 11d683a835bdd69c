"""The send queue: every SQL statement of sending, behind one object.

The engine never writes SQL: it asks the queue for the next chunk of deliveries,
and what happened to each comes back through the file journal
(:mod:`runner.send.journal`), folded into ``deliveries`` before every chunk, at
the end of a run and at the start of the next. Deliveries move
``queued -> sending -> sent | failed``; a fold costs one UPDATE of ``deliveries``
(20 ms at 1,000,000 rows) however many moves it carries.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from datetime import datetime, timedelta
from pathlib import Path

import duckdb

from ..db import transaction
from ..subscribers.lifecycle.notices import REPLY_KINDS_SQL
from ..vocabulary import ARRIVED, OUTSIDE_WINDOW, REPLY_KINDS, TEXT_REPLY_KINDS, sql
from ..whatsapp.answers import (
    PAYLOAD_CODES,
    RETRY_LATER_AFTER_S,
    RETRY_LATER_CODES,
    TRANSIENT_CODES,
)
from . import journal, welcome_first
from .audience import address, unreachable

# Queued deliveries the run may send (temp tables filled by Queue.prepare), not held
# by the engine (in a worker's hands or waiting for a retry), and no announcement
# before the citizen's welcome while that welcome can still go (welcome_first).
_QUEUED_SENDABLE = f"""d.state = 'queued' AND (d.kind IN (SELECT kind FROM sendable_kinds)
    OR (d.kind = 'announcement' AND d.announcement_id IN (SELECT announcement_id FROM sendable)
        AND NOT {welcome_first.AWAITS_WELCOME}))
    AND d.delivery_id NOT IN (SELECT delivery_id FROM held)"""

_APPLY_JOURNAL = """
    UPDATE deliveries SET state = j.state, wamid = coalesce(j.wamid, deliveries.wamid),
           error_code = j.error_code, error_title = j.error_title,
           attempts = deliveries.attempts + j.tries,
           sent_at = CASE WHEN j.state = 'sent' THEN j.at ELSE deliveries.sent_at END,
           updated_at = j.at
    FROM (SELECT delivery_id, state, wamid, error_code, error_title, journaled_at AS at,
                 sum(tries) OVER (PARTITION BY delivery_id) AS tries
          FROM send_journal
          QUALIFY row_number() OVER (PARTITION BY delivery_id ORDER BY seq DESC) = 1) j
    WHERE deliveries.delivery_id = j.delivery_id
"""


def fold_log(con: duckdb.DuckDBPyConnection, path: Path, *, discard: bool = False) -> int:
    """Apply the journal at ``path`` to deliveries (each delivery's last journaled state,
    attempts added up), from the offset this database last folded it to.

    One transaction applies the rows and records the new offset: a kill in between
    leaves both as they were, and folding again never counts a row twice. With
    ``discard`` (nobody writes it any more), a journal folded whole is deleted.
    Rows a run of an older version left in the ``send_journal`` table go first.
    """
    changed = _fold_table(con)
    log_id, start = journal.log_id(path)
    if log_id is None:
        if discard and path.exists():
            journal.discard(path)  # not a journal (an empty file a kill left)
        return changed
    row = con.execute("SELECT folded_bytes FROM send_log_folded WHERE log_id = ?",
                      [log_id]).fetchone()
    rows, end = journal.read(path, max(start, row[0] if row else 0))
    if rows:
        cols = list(zip(*rows, strict=True))
        with transaction(con):
            con.execute(
                """
                INSERT INTO send_journal
                SELECT unnest(range(len($ids::VARCHAR[]))), unnest($ids::VARCHAR[]),
                       unnest($states::VARCHAR[]), unnest($wamids::VARCHAR[]),
                       unnest($codes::INTEGER[]), unnest($titles::VARCHAR[]),
                       unnest($tries::INTEGER[]), to_timestamp(unnest($at::BIGINT[]) / 1000)
                """,
                {"ids": list(cols[0]), "states": list(cols[1]), "wamids": list(cols[2]),
                 "codes": list(cols[3]), "titles": list(cols[4]), "tries": list(cols[5]),
                 "at": list(cols[6])})
            changed += con.execute(_APPLY_JOURNAL).fetchone()[0]
            con.execute("DELETE FROM send_journal")
            con.execute("INSERT OR REPLACE INTO send_log_folded VALUES (?, ?, now())",
                        [log_id, end])
    if discard and path.stat().st_size <= end:
        journal.discard(path)  # first the file: a row without its file is harmless
        con.execute("DELETE FROM send_log_folded WHERE log_id = ?", [log_id])
    return changed


def requeue_failed(con: duckdb.DuckDBPyConnection, now: datetime, *,
                   payload: bool = False) -> int:
    """Failures that can succeed now, back in the queue: transient ones (retries that
    ran out in an outage) at once, 131049 after its 24 hours. Every run does this;
    ``payload`` (`send --retry-failed`, after fixing a template) adds the failures
    of a body Meta refused."""
    codes = TRANSIENT_CODES if payload else TRANSIENT_CODES - PAYLOAD_CODES
    return con.execute(
        """
        UPDATE deliveries SET state = 'queued', updated_at = $now
        WHERE state = 'failed' AND (
            (error_code IN (SELECT unnest($later)) AND updated_at <= $cutoff)
            OR error_code IN (SELECT unnest($transient)))
        """,
        {"now": now, "later": sorted(RETRY_LATER_CODES),
         "cutoff": now - timedelta(seconds=RETRY_LATER_AFTER_S), "transient": sorted(codes)},
    ).fetchone()[0]


def _fold_table(con: duckdb.DuckDBPyConnection) -> int:
    if not con.execute("SELECT 1 FROM send_journal LIMIT 1").fetchone():
        return 0
    with transaction(con):
        changed = con.execute(_APPLY_JOURNAL).fetchone()[0]
        con.execute("DELETE FROM send_journal")
    return changed


def _used(params: dict, statement: str) -> dict:
    """The named parameters ``statement`` uses (DuckDB refuses others)."""
    return {k: v for k, v in params.items() if f"${k}" in statement}


# A queued delivery as the engine takes it: delivery_id, citizen_id, address (the number,
# or the business-scoped id of a citizen known only by it), payload key, and the wamid
# its body quotes (None: no quote).
Row = tuple[str, str, str, str, str | None]


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
        # Each rule counted by kind, then applied: a first run may skip a million
        # welcomes, too many to bring back as rows.
        rules = [("""FROM deliveries d JOIN citizens c USING (citizen_id)
                      WHERE d.state = 'queued'
                        AND d.kind IN (SELECT unnest($no_template::VARCHAR[]))
                        AND (c.last_inbound_at IS NULL OR c.last_inbound_at < $window)""",
                  f"'{OUTSIDE_WINDOW}'"),
                 (f"""FROM deliveries d LEFT JOIN citizens c USING (citizen_id)
                      WHERE d.state = 'queued' AND {address()} IS NULL""", unreachable())]
        params = {"now": self.now, "window": self._window(), "no_template": no_template}
        skipped: Counter = Counter()
        for where, reason in rules:
            count = f"SELECT d.kind, {reason}, count(*) {where} GROUP BY ALL"
            found = self.con.execute(count, _used(params, count)).fetchall()
            if not found:
                continue
            skipped.update({(kind, why): n for kind, why, n in found})
            update = f"""
                UPDATE deliveries SET state = 'skipped', error_title = u.reason,
                       updated_at = $now
                FROM (SELECT d.delivery_id, {reason} AS reason {where}) u
                WHERE deliveries.delivery_id = u.delivery_id"""
            self.con.execute(update, _used(params, update))
        return skipped

    def queued_announcements(self) -> dict[str, int]:
        """Queued deliveries per announcement."""
        return dict(self.con.execute(
            "SELECT announcement_id, count(*) FROM deliveries "
            "WHERE state = 'queued' AND kind = 'announcement' GROUP BY ALL").fetchall())

    def prepare(self, announcement_ids: list[str]) -> tuple[int, int]:
        """Make these announcements (and the replies) sendable: (queued in all, replies)."""
        self.con.execute("CREATE OR REPLACE TEMP TABLE sendable AS "
                         "SELECT unnest(?::VARCHAR[]) AS announcement_id", [announcement_ids])
        self.con.execute("CREATE OR REPLACE TEMP TABLE sendable_kinds AS "
                         "SELECT unnest(?::VARCHAR[]) AS kind", [list(REPLY_KINDS)])
        self.con.execute("CREATE OR REPLACE TEMP TABLE held (delivery_id VARCHAR)")
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE urgent AS {welcome_first.URGENT}")
        replies = self.con.execute(
            "SELECT count(*) FROM deliveries WHERE state = 'queued' "
            f"AND kind IN {REPLY_KINDS_SQL}").fetchone()[0]
        total = self.con.execute(
            f"""
            SELECT count(*) FROM deliveries
            WHERE state = 'queued' AND (kind IN {REPLY_KINDS_SQL}
                  OR announcement_id IN (SELECT announcement_id FROM sendable))
            """).fetchone()[0]
        return total, replies

    # --- while sending --------------------------------------------------------------
    def exclude(self, key: str) -> None:
        """Stop selecting a payload's deliveries (its body was refused: they stay queued)."""
        if key in self.excluded:
            return
        self.excluded.add(key)
        kind = key.split("-")[0]
        if kind in REPLY_KINDS:
            self.con.execute("DELETE FROM sendable_kinds WHERE kind = ?", [kind])
        else:
            self.con.execute("DELETE FROM sendable WHERE announcement_id = ?", [key])

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
        each chunk held 140 MB at 1,000,000 queued.
        """
        if self.log is not None:
            fold_log(self.con, self.log)  # what went out is journaled: not selected again
        self.con.execute("DELETE FROM held")
        if held:
            self.con.execute("INSERT INTO held SELECT unnest(?::VARCHAR[])", [list(held)])
        group = self.con.execute(
            f"""
            SELECT d.announcement_id, count(*)
            FROM deliveries d LEFT JOIN announcements a USING (announcement_id)
            WHERE {_QUEUED_SENDABLE}
            GROUP BY ALL
            ORDER BY min(CASE WHEN d.kind <> 'announcement' THEN 1
                              WHEN d.announcement_id IN (SELECT announcement_id FROM urgent)
                              THEN 0 ELSE 2 END),
                     min(a.publish_at), d.announcement_id NULLS FIRST
            LIMIT 1
            """).fetchall()
        if not group:
            return []
        announcement_id, queued = group[0]
        # (_QUEUED_SENDABLE holds an announcement back while the citizen's welcome may go)
        where = ("d.kind IN (SELECT kind FROM sendable_kinds)" if announcement_id is None
                 else "d.kind = 'announcement' AND d.announcement_id = $ann")
        params = {} if announcement_id is None else {"ann": announcement_id}
        bound = ""
        if queued > 2 * size:
            sample = sorted(row[0] for row in self.con.execute(
                f"SELECT citizen_id FROM (SELECT d.citizen_id FROM deliveries d "
                f"WHERE {_QUEUED_SENDABLE} AND {where}) USING SAMPLE reservoir(1000 ROWS)",
                params).fetchall())
            bound = "AND d.citizen_id <= $upto"
            params["upto"] = sample[min(len(sample) - 1, len(sample) * size // queued)]
        # The number is looked up for the chosen rows only: joining every queued
        # delivery to citizens costs more than the sort.
        rows = self.con.execute(
            f"""
            WITH next AS (
                SELECT d.delivery_id, d.citizen_id, d.reply_to,
                       coalesce(d.payload, CASE WHEN d.kind = 'announcement'
                                                THEN d.announcement_id ELSE d.kind END)
                           AS payload
                FROM deliveries d
                WHERE {_QUEUED_SENDABLE} AND {where} {bound}
                ORDER BY d.citizen_id
                LIMIT $n)
            SELECT next.delivery_id, next.citizen_id, {address()},
                   CASE WHEN next.payload IN (SELECT unnest($templated::VARCHAR[]))
                         AND (c.last_inbound_at IS NULL OR c.last_inbound_at < $window)
                        THEN next.payload || '-template' ELSE next.payload END,
                   next.reply_to
            FROM next JOIN citizens c ON c.citizen_id = next.citizen_id
            ORDER BY next.citizen_id
            """,
            {**params, "n": size, "window": self._window(),
             "templated": list(TEXT_REPLY_KINDS)},
        ).fetchall()
        return rows

    # --- after sending ---------------------------------------------------------------
    def table(self, ids: list[str]) -> list[tuple]:
        """Per announcement (or reply kind): audience, sent, delivered/read, failed,
        queued, skipped."""
        return self.con.execute(
            f"""
            SELECT CASE WHEN kind = 'announcement' THEN announcement_id ELSE kind END AS name,
                   count(*), count_if(state = 'sent'),
                   count_if(state IN {sql(ARRIVED)}), count_if(state = 'failed'),
                   count_if(state IN ('queued', 'sending')),
                   count_if(state IN ('skipped', 'cancelled'))
            FROM deliveries
            WHERE announcement_id IN (SELECT unnest($ids::VARCHAR[]))
               OR kind IN {REPLY_KINDS_SQL}
            GROUP BY 1 ORDER BY (name IN {REPLY_KINDS_SQL}), name
            """,
            {"ids": ids},
        ).fetchall()

    # --- media uploaded once ----------------------------------------------------------
    def cached_media(self, digest: str, scope: str) -> str | None:
        """The id of a file uploaded in the last 29 days (Meta keeps media 30)."""
        row = self.con.execute(
            "SELECT media_id FROM media_uploads WHERE sha256 = ? AND scope = ? "
            "AND uploaded_at > ?", [digest, scope, self.now - timedelta(days=29)]).fetchone()
        return row[0] if row else None

    def remember_media(self, digest: str, scope: str, path: str, media_id: str) -> None:
        self.con.execute("INSERT OR REPLACE INTO media_uploads VALUES (?, ?, ?, ?, ?)",
                         [digest, scope, path, media_id, self.now])

    def _window(self) -> datetime:
        """The start of the 24-hour customer service window still open now."""
        return self.now - timedelta(hours=24)
