"""The send queue: every SQL statement of sending, behind one object.

The engine never writes SQL: it asks the queue for the next chunk of deliveries
and hands it back what happened, through the journal. Deliveries move
``queued -> sending -> sent | failed``; each move is appended to
``send_journal`` in batches (an append costs the same whatever the size of
``deliveries``; an UPDATE of a million-row table costs 20 ms) and folded into
``deliveries`` before every chunk and at the end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

import duckdb

from ..db import transaction
from ..subscribers.notices import REPLY_KINDS, REPLY_KINDS_SQL, TEXT_REPLY_KINDS
from ..whatsapp.answers import RETRY_LATER_AFTER_S, RETRY_LATER_CODES, TRANSIENT_CODES

# Welcome first: an announcement waits while the citizen's latest welcome has not
# gone (queued, in flight, failed or skipped): the privacy notice and how to leave
# come before anything else. A citizen with no welcome row (subscribed before
# replies were recorded) is not held.
WELCOME_GONE = "('sent', 'delivered', 'read', 'played')"
_AWAITS_WELCOME = f"""d.citizen_id IN (
    SELECT w.citizen_id FROM deliveries w
    WHERE w.kind = 'welcome' AND w.state NOT IN {WELCOME_GONE}
      AND NOT EXISTS (SELECT 1 FROM deliveries v
                      WHERE v.kind = 'welcome' AND v.citizen_id = w.citizen_id
                        AND v.state IN {WELCOME_GONE} AND v.created_at > w.created_at))"""

# Queued deliveries the run may send (temp tables filled by Queue.prepare).
_QUEUED_SENDABLE = f"""d.state = 'queued' AND (d.kind IN (SELECT kind FROM sendable_kinds)
    OR (d.kind = 'announcement' AND d.announcement_id IN (SELECT announcement_id FROM sendable)
        AND NOT {_AWAITS_WELCOME}))"""

# A journal row: (delivery_id, state, wamid, error_code, error_title, tries).
JournalRow = tuple[str, str, str | None, int | None, str | None, int]


def fold_journal(con: duckdb.DuckDBPyConnection) -> int:
    """Apply the send journal to deliveries (each delivery's last journaled state) and empty it.

    One transaction: a kill between the two statements leaves the journal whole,
    and folding it again gives the same result.
    """
    if not con.execute("SELECT 1 FROM send_journal LIMIT 1").fetchone():
        return 0
    with transaction(con):
        changed = con.execute(
            """
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
            """).fetchone()[0]
        con.execute("DELETE FROM send_journal")
    return changed


class Journal:
    """Journal rows buffered and appended in batches: each write costs ~1.7 ms of CPU
    whatever its size, so results ride along with the next ``sending`` batch and are
    written on their own only every ``every`` seconds."""

    def __init__(self, con: duckdb.DuckDBPyConnection, moment: Callable[[], datetime],
                 clock: Callable[[], float], every: float = 0.5) -> None:
        self.con = con
        self.moment = moment  # the time written with each row
        self.clock = clock
        self.every = every
        self.pending: list[JournalRow] = []
        self.seq = 0
        self.last = clock()

    def add(self, rows: Iterable[JournalRow]) -> None:
        self.pending.extend(rows)

    def flush(self, force: bool = False) -> None:
        pending = self.pending
        if not pending or (not force and self.clock() - self.last < self.every):
            return
        self.pending = []
        self.last = self.clock()
        cols = list(zip(*pending, strict=True))
        first, self.seq = self.seq, self.seq + len(pending)
        self.con.execute(
            """
            INSERT INTO send_journal
            SELECT unnest($seq::BIGINT[]), unnest($ids::VARCHAR[]), unnest($states::VARCHAR[]),
                   unnest($wamids::VARCHAR[]), unnest($codes::INTEGER[]),
                   unnest($titles::VARCHAR[]), unnest($tries::INTEGER[]), $now
            """,
            {"now": self.moment(), "seq": list(range(first, self.seq)), "ids": list(cols[0]),
             "states": list(cols[1]), "wamids": list(cols[2]), "codes": list(cols[3]),
             "titles": list(cols[4]), "tries": list(cols[5])},
        )


class Quotes(dict):
    """Delivery id -> the wamid its body quotes (a correction or withdrawal quoting the
    original: :class:`~runner.whatsapp.bodies.QuotingPayload` reads it), for the last two
    chunks taken. One object for the whole run, since the payloads hold it; two chunks,
    since bodies are built from the rows just taken while the engine may still be
    building the previous chunk's."""

    def __init__(self) -> None:
        super().__init__()
        self._last: dict[str, str] = {}

    def take(self, rows: list[tuple]) -> list[tuple[str, str, str, str]]:
        """Remember the quotes of a chunk's rows (their fifth column) and return the rows
        without it."""
        quotes = {r[0]: r[4] for r in rows if r[4] is not None}
        self.clear()
        self.update(self._last)
        self.update(quotes)
        self._last = quotes
        return [r[:4] for r in rows]


class Queue:
    """The deliveries of one run: what is queued, in which order it goes out."""

    def __init__(self, con: duckdb.DuckDBPyConnection, now: datetime) -> None:
        self.con = con
        self.now = now
        self.excluded: set[str] = set()
        self.last_first: str | None = None
        self.quotes = Quotes()

    # --- before sending ---------------------------------------------------------
    def requeue_failed(self) -> int:
        """`send --retry-failed`: transient failures now, 131049 after its 24 hours."""
        return self.con.execute(
            """
            UPDATE deliveries SET state = 'queued', updated_at = $now
            WHERE state = 'failed' AND (
                (error_code IN (SELECT unnest($later)) AND updated_at <= $cutoff)
                OR error_code IN (SELECT unnest($transient)))
            """,
            {"now": self.now, "later": sorted(RETRY_LATER_CODES),
             "cutoff": self.now - timedelta(seconds=RETRY_LATER_AFTER_S),
             "transient": sorted(TRANSIENT_CODES)},
        ).fetchone()[0]

    def skip_unsendable(self, no_template: list[str]) -> int:
        """Replies of ``no_template`` kinds outside the 24-hour window, or to a citizen
        with no number: skipped, with the reason."""
        skipped = self.con.execute(
            """
            UPDATE deliveries SET state = 'skipped', error_title = $reason, updated_at = $now
            FROM citizens c
            WHERE deliveries.citizen_id = c.citizen_id AND deliveries.state = 'queued'
              AND deliveries.kind IN (SELECT unnest($no_template::VARCHAR[]))
              AND (c.last_inbound_at IS NULL OR c.last_inbound_at < $window)
            """,
            {"now": self.now, "reason": "outside_24h_window", "window": self._window(),
             "no_template": no_template},
        ).fetchone()[0]
        skipped += self.con.execute(
            """
            UPDATE deliveries SET state = 'skipped', error_title = 'no_phone_number',
                   updated_at = $now
            WHERE state = 'queued' AND citizen_id NOT IN (
                SELECT citizen_id FROM citizens WHERE wa_id IS NOT NULL AND wa_id <> '')
            """,
            {"now": self.now},
        ).fetchone()[0]
        return skipped

    def awaiting_welcome(self) -> int:
        """Queued announcement deliveries held until the citizen's welcome has gone."""
        return self.con.execute(
            f"SELECT count(*) FROM deliveries d WHERE d.state = 'queued' "
            f"AND d.kind = 'announcement' AND {_AWAITS_WELCOME}").fetchone()[0]

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

    def fresh_chunk(self, size: int) -> list[tuple[str, str, str, str]]:
        """The next chunk, or nothing when it starts where the last one did: whatever put
        those deliveries back in the queue, sending them again now would loop."""
        rows = self.next_chunk(size)
        first = rows[0][0] if rows else None
        if first is not None and first == self.last_first:
            return []
        self.last_first = first
        return rows

    def next_chunk(self, size: int) -> list[tuple[str, str, str, str]]:
        """Up to ``size`` queued deliveries: (delivery_id, citizen_id, wa_id, payload key).

        Replies first (the 24-hour window is closing), then emergencies; within an
        announcement by citizen, so one citizen's messages are a whole pass apart.
        One group (the replies, or one announcement) at a time, and within it only the
        citizens below a bound that holds about a chunk: sorting the whole queue for
        each chunk held 140 MB at 1,000,000 queued.
        """
        fold_journal(self.con)  # what was dispatched is journaled: not selected again
        group = self.con.execute(
            f"""
            SELECT d.announcement_id, count(*)
            FROM deliveries d LEFT JOIN announcements a USING (announcement_id)
            WHERE {_QUEUED_SENDABLE}
            GROUP BY ALL
            ORDER BY min(CASE WHEN d.kind <> 'announcement' THEN 0
                              WHEN a.urgency = 'emergency' THEN 1 ELSE 2 END),
                     min(a.publish_at), d.announcement_id NULLS FIRST
            LIMIT 1
            """).fetchall()
        if not group:
            return []
        announcement_id, queued = group[0]
        where = ("d.kind IN (SELECT kind FROM sendable_kinds)" if announcement_id is None
                 else f"d.kind = 'announcement' AND d.announcement_id = $ann "
                      f"AND NOT {_AWAITS_WELCOME}")
        params = {} if announcement_id is None else {"ann": announcement_id}
        bound = ""
        if queued > 2 * size:
            sample = sorted(row[0] for row in self.con.execute(
                f"SELECT citizen_id FROM (SELECT d.citizen_id FROM deliveries d "
                f"WHERE d.state = 'queued' AND {where}) USING SAMPLE reservoir(1000 ROWS)",
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
                WHERE d.state = 'queued' AND {where} {bound}
                ORDER BY d.citizen_id
                LIMIT $n)
            SELECT next.delivery_id, next.citizen_id, c.wa_id,
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
        return self.quotes.take(rows)

    # --- after sending ---------------------------------------------------------------
    def table(self, ids: list[str]) -> list[tuple]:
        """Per announcement (or reply kind): audience, sent, delivered/read, failed,
        queued, skipped."""
        return self.con.execute(
            f"""
            SELECT CASE WHEN kind = 'announcement' THEN announcement_id ELSE kind END AS name,
                   count(*), count_if(state = 'sent'),
                   count_if(state IN ('delivered', 'read', 'played')), count_if(state = 'failed'),
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
