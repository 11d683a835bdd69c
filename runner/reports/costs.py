"""What the messages cost, from the status webhooks' ``pricing``, and why a chart is empty.

Meta says on each ``sent``/``delivered`` status whether the message is billable
(``pricing.type = regular``; ``free_customer_service`` inside the 24-hour
window is free; older webhooks say ``billable``) and its category (utility,
marketing, ...). The town's price per category is the ``prices``
setting: cost = billable messages x price. A message with no pricing yet (no
status webhook: the outbox, or logs not fetched) is counted apart, never guessed.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from ..messages import t
from .period import Period
from .store import pricing


def priced_messages(con: duckdb.DuckDBPyConnection, period: Period) -> pd.DataFrame:
    """One row per message of the period with pricing: delivery_id, kind,
    announcement_id, title, month (its first day), category, billable."""
    return pricing.priced_messages(con, period)


def _priced(df: pd.DataFrame, prices: dict[str, float]) -> pd.DataFrame:
    df = df.copy()
    lookup = {k.lower(): float(v) for k, v in (prices or {}).items()}
    df["cost"] = [(lookup.get(str(c)) if b else 0.0) for c, b in
                  zip(df["category"], df["billable"], strict=True)]
    return df


def cost_by_announcement(con: duckdb.DuckDBPyConnection, period: Period,
                         prices: dict[str, float]) -> pd.DataFrame:
    """title, messages (with pricing), billable, cost per announcement; cost is empty
    when a billable category has no price in ``prices``."""
    df = _priced(priced_messages(con, period), prices)
    df = df[df["kind"] == "announcement"]
    if df.empty:
        return pd.DataFrame(columns=["title", "messages", "billable", "cost"])
    return df.groupby("title", as_index=False).agg(
        messages=("delivery_id", "size"), billable=("billable", "sum"),
        cost=("cost", lambda c: c.sum(min_count=len(c)))).sort_values("title")


def cost_by_month(con: duckdb.DuckDBPyConnection, period: Period,
                  prices: dict[str, float]) -> pd.DataFrame:
    """month, messages, billable, cost: announcements and replies together."""
    df = _priced(priced_messages(con, period), prices)
    if df.empty:
        return pd.DataFrame(columns=["month", "messages", "billable", "cost"])
    return df.groupby("month", as_index=False).agg(
        messages=("delivery_id", "size"), billable=("billable", "sum"),
        cost=("cost", lambda c: c.sum(min_count=len(c)))).sort_values("month")


def total_cost(con: duckdb.DuckDBPyConnection, period: Period,
               prices: dict[str, float]) -> float | None:
    """The period's cost, or None when unknown (no prices, or a category without one)."""
    months = cost_by_month(con, period, prices)
    if months.empty:
        return 0.0 if prices else None
    total = months["cost"].sum(min_count=len(months))
    return None if pd.isna(total) or not prices else float(total)


def why_empty(con: duckdb.DuckDBPyConnection, period: Period) -> dict[str, str]:
    """For each kind of empty chart, the reason in the reader's language: no
    announcement sent in the period, or sent with no status webhook back yet.
    (Counts on each table apart: no join of deliveries to statuses.)"""
    sent, failed = pricing.sent_and_failed(con, period)
    with_status, failed_status = pricing.statuses_back(con, period)
    nothing_sent = t("reports.why.nothing-sent")
    no_status = nothing_sent if not sent else t("reports.why.no-status") if not with_status \
        else t("reports.why.not-yet")
    return {"sent": nothing_sent if not sent else "", "statuses": no_status,
            "failures": "" if failed or failed_status else t("reports.why.no-failures"),
            "keywords": t("reports.why.no-keywords"),
            "prices": t("reports.why.no-prices")}
