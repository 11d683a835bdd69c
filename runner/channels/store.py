"""Every SQL statement of the channels: what the send stage's records say went out
(read through the data's words, :mod:`runner.vocabulary`), and the Telegram journal
(``channel_posts``, migration ``0010_channels``).

The journal's states, per (channel, announcement, part):
``posting`` (written and committed *before* the request) -> ``posted`` with the
message id | ``pending`` (a 429 or a connection that never opened: it did not go
out) | ``failed`` (Telegram refused it: never re-sent by itself) | ``unknown``
(a run died while the request was in flight: it may or may not be in the
channel; never re-sent by itself, staff look and decide).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from .. import db
from ..db import count, transaction
from ..vocabulary import ANNOUNCEMENT, NOT_MADE, OPEN, REACHED, sql

_REACHED = sql(REACHED)
_OPEN = sql(OPEN)
_NOT_MADE = sql(NOT_MADE)


@dataclass(frozen=True)
class Evidence:
    """What the send stage recorded about one announcement."""

    reached: int  # deliveries that reached WhatsApp (sent or later)
    open: int     # deliveries still queued or in flight
    total: int
    not_made: int = 0  # skipped or cancelled, each with its reason
    first_sent: datetime | None = None  # when WhatsApp first accepted one of them


def send_records(path: Path) -> dict[str, Evidence] | None:
    """Per announcement id, what its deliveries say; None when there is no database
    (a fresh checkout: then only the clock says what has gone out).

    Read-only: publishing never changes the send stage's state (the Pages job reads
    a restored copy)."""
    if not Path(path).exists():
        return None
    con = db.connect(path, read_only=True)
    try:
        return records_of(con)
    finally:
        con.close()


def records_of(con: duckdb.DuckDBPyConnection) -> dict[str, Evidence]:
    """:func:`send_records` on an open connection."""
    try:
        rows = con.execute(
            f"""
            SELECT a.announcement_id, coalesce(count_if(d.state IN {_REACHED}), 0),
                   coalesce(count_if(d.state IN {_OPEN}), 0), count(d.delivery_id),
                   coalesce(count_if(d.state IN {_NOT_MADE}), 0),
                   min(coalesce(d.sent_at, d.updated_at)) FILTER (d.state IN {_REACHED})
            FROM announcements a LEFT JOIN deliveries d
                 ON d.announcement_id = a.announcement_id AND d.kind = $kind
            GROUP BY ALL
            """, {"kind": ANNOUNCEMENT}).fetchall()
    except duckdb.CatalogException:  # a file the runner never migrated: no table yet
        return {}
    return {row[0]: Evidence(*row[1:]) for row in rows}


class PostJournal:
    """The Telegram journal of one run (one connection, each write its own transaction)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, channel: str = "telegram") -> None:
        self.con = con
        self.channel = channel

    def states(self) -> dict[tuple[str, int], tuple[str, int | None]]:
        """(announcement, part) -> (state, message id) of every journaled post."""
        rows = self.con.execute(
            "SELECT announcement_id, part, state, message_id FROM channel_posts "
            "WHERE channel = ?", [self.channel]).fetchall()
        return {(a, p): (s, m) for a, p, s, m in rows}

    def settle_killed(self, now: datetime) -> int:
        """Posts left ``posting`` by a run that died mid-request become ``unknown``."""
        return count(self.con.execute(
            "UPDATE channel_posts SET state = 'unknown', updated_at = $now "
            "WHERE channel = $channel AND state = 'posting'",
            {"now": now, "channel": self.channel}))

    def mark(self, announcement_id: str, part: int, state: str, now: datetime, *,
             message_id: int | None = None, error: str | None = None,
             attempt: bool = False) -> None:
        """Record a part's state, committed before this returns (``posting`` must be on
        disk before the request leaves)."""
        with transaction(self.con):
            self.con.execute(
                """
                INSERT INTO channel_posts (channel, announcement_id, part, state, message_id,
                                           attempts, error, updated_at)
                VALUES ($channel, $ann, $part, $state, $mid, $tries, $error, $now)
                ON CONFLICT (channel, announcement_id, part) DO UPDATE SET
                    state = excluded.state,
                    message_id = coalesce(excluded.message_id, channel_posts.message_id),
                    attempts = channel_posts.attempts + excluded.attempts,
                    error = excluded.error, updated_at = excluded.updated_at
                """,
                {"channel": self.channel, "ann": announcement_id, "part": part,
                 "state": state, "mid": message_id, "tries": int(attempt), "error": error,
                 "now": now})

    def forget(self, announcement_id: str, now: datetime) -> int:
        """Staff checked the channel and an ``unknown`` post is not there (or fixed what
        made it ``failed``): post it again."""
        return count(self.con.execute(
            "UPDATE channel_posts SET state = 'pending', updated_at = $now "
            "WHERE channel = $channel AND announcement_id = $ann "
            "AND state IN ('unknown', 'failed')",
            {"now": now, "channel": self.channel, "ann": announcement_id}))
