"""Figures for the subscribers report: growth, moderation, keywords, consents.

Every function takes a read-only connection and a :class:`Period` and returns
a data frame. Citizens appear only by their pseudonymous ``citizen_id``. The
queries are :mod:`.store.subscriptions`'.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from ..subscribers.lifecycle.keywords import Classifier
from ..subscribers.privacy import masked_form
from .period import Period
from .store import subscriptions as store


def active_over_time(con: duckdb.DuckDBPyConnection, period: Period) -> pd.DataFrame:
    """day, active, paused: subscribers in state ``active`` and ``paused`` (their pause
    keyword: they receive nothing until they resume) at the end of each day."""
    return store.active_over_time(con, period)


def daily_changes(con: duckdb.DuckDBPyConnection, period: Period) -> pd.DataFrame:
    """day, subscribed, unsubscribed, requested: state changes per day. A resume (paused
    -> active) is no new subscription, nor is a request to leave that staff rejected:
    the consent stood all along."""
    return store.daily_changes(con, period)


def moderation(con: duckdb.DuckDBPyConnection, period: Period) -> pd.DataFrame:
    """Requests that waited for staff in the period (state ``pending``): citizen_id,
    kind (subscribe or unsubscribe), requested_at, decided_at, outcome (approved,
    rejected, blocked, withdrawn by the citizen, or still ``pending``) and
    wait_hours (until the outcome, or until the report's date)."""
    return store.moderation(con, period)


def moderation_queue(con: duckdb.DuckDBPyConnection, period: Period) -> pd.DataFrame:
    """The requests still waiting at the report's date, oldest first."""
    waits = moderation(con, period)
    queue = waits[waits["outcome"] == "pending"]
    return queue[["citizen_id", "kind", "requested_at", "wait_hours"]].sort_values(
        "requested_at").reset_index(drop=True)


def keyword_spellings(con: duckdb.DuckDBPyConnection, period: Period) -> pd.DataFrame:
    """kind, keyword, spelling, messages, citizens: how citizens actually wrote each
    keyword. Only as many words as the keyword has are shown, so a name written
    after it (Cerveno's «Servizio Info ON Paolo Rossi») never reaches a report."""
    return store.keyword_spellings(con, period)


def near_misses(con: duckdb.DuckDBPyConnection, period: Period, limit: int = 30) -> pd.DataFrame:
    """keyword, form, messages, citizens: messages that nearly matched a keyword (the
    words to add as accepted spellings), most frequent first, each as its masked form
    (keyword-like words kept; names, numbers, e-mails, codici fiscali masked). A row
    synced before forms were stored is masked here, the same way."""
    df = store.near_misses(con, period)
    if df.empty:
        return pd.DataFrame(columns=["keyword", "form", "messages", "citizens"])
    known = Classifier(store.keywords(con), []).known_word
    df["form"] = [form if isinstance(form, str) else masked_form(text, known) or "…"
                  for form, text in zip(df["form"], df["text"], strict=True)]
    grouped = df.groupby(["keyword", "form"], dropna=False, as_index=False).agg(
        messages=("citizen_id", "size"), citizens=("citizen_id", "nunique"))
    return grouped.sort_values(["messages", "form"], ascending=[False, True]).head(
        limit).reset_index(drop=True)


def consents_by_notice(con: duckdb.DuckDBPyConnection, period: Period) -> pd.DataFrame:
    """notice (the day it came into force), notice_version, consents, citizens,
    first_at, last_at: consent records by the privacy notice in force when they were
    given (all time up to the period's end: the data protection officer needs every
    consent, not only recent ones)."""
    return store.consents_by_notice(con, period)


def headline(con: duckdb.DuckDBPyConnection, period: Period) -> pd.DataFrame:
    """metric, value: the numbers at the top of the report."""
    row = store.headline(con, period)
    return pd.DataFrame({"metric": list(store.HEADLINE), "value": [int(v) for v in row]})


def unreadable_log_lines(con: duckdb.DuckDBPyConnection) -> int:
    """Lines of the webhook logs sync could not use (kept in ``malformed`` for review)."""
    return store.unreadable_log_lines(con)
