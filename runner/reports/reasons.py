"""Why deliveries were not made: every skipped delivery of the period, by message kind
and reason (runner.vocabulary's words, said in words), beside
:func:`.deliveries.failure_reasons` (the failed ones, by Meta's code); and who of each
announcement's audience was not reached, and why. Nothing drops a citizen silently:
the report shows each one. Counts only, never a citizen.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from ..messages import MissingMessage, t
from ..whatsapp.answers import skip_meaning
from .period import Period
from .store import outcomes


def skip_reasons(con: duckdb.DuckDBPyConnection, period: Period) -> pd.DataFrame:
    """message (the kind, in words), reason (the word), meaning, skipped, announcements:
    deliveries skipped in the period (when the run skipped them), most first."""
    df = outcomes.skipped(con, period)
    df.insert(0, "message", [_kind(kind) for kind in df["kind"]])
    df.insert(3, "meaning", [skip_meaning(reason) for reason in df["reason"]])
    return df.drop(columns="kind")


def _kind(kind: str) -> str:
    try:
        return t(f"reports.delivery-kind.{kind}")
    except MissingMessage:  # a kind newer than this catalogue: its own name
        return kind


def unreached(con: duckdb.DuckDBPyConnection, period: Period) -> pd.DataFrame:
    """announcement_id, title, reason (the word), meaning, citizens: who of each
    announcement's audience in the period was not reached (their delivery skipped), by
    reason, oldest announcement first. They are in its audience all the same
    (:func:`.deliveries.announcements` counts them there, as ``skipped``)."""
    df = outcomes.unreached(con, period)
    df.insert(3, "meaning", pd.Series([skip_meaning(reason) for reason in df["reason"]],
                                      index=df.index, dtype=object))
    return df
