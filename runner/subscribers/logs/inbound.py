"""Inbound messages from the stage into the database: who sent them (citizen ids),
what they are (keyword classification, or a pick from the topic menu), and each
stored once (by wamid). Python does only what SQL cannot: it hashes the identities
not seen before and classifies each distinct text once; the store does the rest."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ...vocabulary import NEAR_MISS
from ..lifecycle.keywords import classifier
from ..lifecycle.topics import Topics
from ..privacy import citizen_id as pseudonym
from ..privacy import masked_form
from ..store import inbound as store

if TYPE_CHECKING:
    import duckdb

    from ...config import Settings
    from ..lifecycle.decisions import Decision


@dataclass(frozen=True)
class Messages:
    """What storing the staged messages did."""

    staged: int  # usable messages read, repetitions included
    new: int  # stored now (not seen before)
    kinds: dict[str, int]  # the new ones by kind
    replayed: int  # citizens who sent a message the state machine replays

    @property
    def duplicates(self) -> int:
        """Messages seen again (Meta retries, re-reads)."""
        return self.staged - self.new


def identify(con: duckdb.DuckDBPyConnection, key: bytes | None) -> None:
    """citizen_id for each staged message: the number when Meta sends it, else the
    number learnt from a message carrying both, else the BSUID. Only identities
    the database does not know yet are hashed (in Python, once each). A citizen
    first seen only by BSUID whose number is now known is re-keyed."""
    store.link_identities(con)
    identities = store.unknown_identities(con)
    store.stage_ids(con, identities, [pseudonym(i, key) for i in identities])
    for old, wa_id in store.orphans(con):
        store.rekey(con, old, pseudonym(wa_id, key), wa_id)


def classify(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """Keywords: Python looks at each distinct text once; DuckDB joins the result.
    A near miss also gets its masked form, which outlives its text."""
    texts = store.texts(con)
    c = classifier(settings)
    matches = [c.classify(text) for text in texts]
    store.stage_verdicts(
        con, texts, kind=[m.kind for m in matches], keyword=[m.keyword for m in matches],
        captured_name=[m.name for m in matches], topic=[m.topic for m in matches],
        form=[masked_form(text, c.known_word) if m.kind == NEAR_MISS else None
              for text, m in zip(texts, matches, strict=True)])
    # A tap on a row of our topic menu is a pick (kind 'topic'), whatever its title says.
    topics = Topics(settings)
    picked = [(i, topics.picked(i)) for i in store.reply_ids(con)]
    picks = [(i, topic) for i, topic in picked if topic is not None]
    store.stage_picks(con, [i for i, _ in picks], [topic for _, topic in picks])


def insert_inbound(con: duckdb.DuckDBPyConnection, forgotten: Sequence[Decision],
                   settings: Settings) -> Messages:
    """Store the new messages and update their senders; the senders of keywords (their
    state must be replayed) are marked affected. A text already past retention (an old
    log read again) is never stored."""
    staged = store.staged_count(con)
    store.new_messages(con, forgotten)
    new = store.insert_new(con, retention_cutoff(settings))
    kinds = store.new_by_kind(con)
    store.update_senders(con)
    replayed = store.affect_replayed(con)
    store.forget(con)
    return Messages(staged, new, kinds, replayed)


# Messages that are not keywords: what the citizen wrote is kept this long, then only
# what it was (kind, the keyword it was close to, its masked form) remains.
def retention_cutoff(settings: Settings) -> datetime:
    return settings.current_time() - timedelta(days=settings.retention_days)


def drop_old_texts(con: duckdb.DuckDBPyConnection, settings: Settings) -> int:
    """Forget the text of messages older than ``retention_days`` that are not keywords
    (a keyword's text is the consent record). Returns how many were dropped."""
    return store.drop_old_texts(con, retention_cutoff(settings))
