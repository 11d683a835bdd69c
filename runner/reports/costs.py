"""What the messages cost, from the status webhooks' ``pricing``, and why a chart is empty.

Meta says on each ``sent``/``delivered`` status whether the message is billable
(``pricing.type = regular``; ``free_customer_service`` inside the 24-hour
window is free; older webhooks say ``billable``) and its category (utility,
marketing, ...). The town's price per category is the ``prices``
setting: cost = billable messages x price. A message with no pricing yet (no
status webhook: the outbox, or logs not fetched) is counted apart, never guessed.
"""

from __future__ import annotations

import pandas as pd

from ..messages import t
from ..whatsapp.bodies import callback_delivery_id_sql
from .data import Period, execute, frame

_COLUMNS = ["delivery_id", "kind", "announcement_id", "title", "month", "category", "billable"]


def priced_messages(con, period: Period) -> pd.DataFrame:
    """One row per message of the period with pricing: delivery_id, kind,
    announcement_id, title, month (its first day), category, billable."""
    have = {r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'statuses'"
    ).fetchall()}
    if not {"pricing_type", "billable"} <= have:  # a database synced before pricing was kept
        return pd.DataFrame(columns=_COLUMNS)
    return frame(con, f"""
        WITH priced AS (
            SELECT coalesce({callback_delivery_id_sql("s.callback")}, d.delivery_id, s.wamid)
                       AS delivery_id,
                   max(lower(s.pricing_category)) AS category,
                   bool_or(CASE WHEN s.pricing_type IS NOT NULL THEN s.pricing_type = 'regular'
                                ELSE s.billable END) AS billable,
                   min(coalesce(s.sent_at, s.ts)) AS sent_at
            FROM statuses s LEFT JOIN deliveries d ON d.wamid = s.wamid
            WHERE s.pricing_category IS NOT NULL OR s.pricing_type IS NOT NULL
               OR s.billable IS NOT NULL
            GROUP BY 1)
        SELECT p.delivery_id, coalesce(d.kind, 'announcement') AS kind, d.announcement_id,
               coalesce(a.title, d.announcement_id) AS title,
               date_trunc('month', p.sent_at)::DATE AS month, p.category,
               coalesce(p.billable, false) AS billable
        FROM priced p LEFT JOIN deliveries d USING (delivery_id)
        LEFT JOIN announcements a USING (announcement_id)
        WHERE p.sent_at >= $start AND p.sent_at < $end
    """, period)


def _priced(df: pd.DataFrame, prices: dict[str, float]) -> pd.DataFrame:
    df = df.copy()
    lookup = {k.lower(): float(v) for k, v in (prices or {}).items()}
    df["cost"] = [(lookup.get(str(c)) if b else 0.0) for c, b in
                  zip(df["category"], df["billable"], strict=True)]
    return df


def cost_by_announcement(con, period: Period, prices: dict[str, float]) -> pd.DataFrame:
    """title, messages (with pricing), billable, cost per announcement; cost is empty
    when a billable category has no price in ``prices``."""
    df = _priced(priced_messages(con, period), prices)
    df = df[df["kind"] == "announcement"]
    if df.empty:
        return pd.DataFrame(columns=["title", "messages", "billable", "cost"])
    return df.groupby("title", as_index=False).agg(
        messages=("delivery_id", "size"), billable=("billable", "sum"),
        cost=("cost", lambda c: c.sum(min_count=len(c)))).sort_values("title")


def cost_by_month(con, period: Period, prices: dict[str, float]) -> pd.DataFrame:
    """month, messages, billable, cost: announcements and replies together."""
    df = _priced(priced_messages(con, period), prices)
    if df.empty:
        return pd.DataFrame(columns=["month", "messages", "billable", "cost"])
    return df.groupby("month", as_index=False).agg(
        messages=("delivery_id", "size"), billable=("billable", "sum"),
        cost=("cost", lambda c: c.sum(min_count=len(c)))).sort_values("month")


def total_cost(con, period: Period, prices: dict[str, float]):
    """The period's cost, or None when unknown (no prices, or a category without one)."""
    months = cost_by_month(con, period, prices)
    if months.empty:
        return 0.0 if prices else None
    total = months["cost"].sum(min_count=len(months))
    return None if pd.isna(total) or not prices else float(total)


def why_empty(con, period: Period) -> dict[str, str]:
    """For each kind of empty chart, the reason in the reader's language: no
    announcement sent in the period, or sent with no status webhook back yet.
    (Counts on each table apart: no join of deliveries to statuses.)"""
    sent, failed = execute(con, """
        SELECT count(DISTINCT announcement_id) FILTER (kind = 'announcement'),
               count(*) FILTER (state = 'failed')
        FROM deliveries
        WHERE state NOT IN ('queued', 'skipped', 'cancelled')
          AND coalesce(sent_at, created_at) >= $start AND coalesce(sent_at, created_at) < $end
    """, period).fetchone()
    with_status, failed_status = execute(con, f"""
        SELECT count(*) FILTER (starts_with({callback_delivery_id_sql("callback")}, 'a:')),
               count(*) FILTER (status = 'failed')
        FROM statuses WHERE ts >= $start AND ts < $end
    """, period).fetchone()
    nothing_sent = t("reports.why.nothing-sent")
    no_status = nothing_sent if not sent else t("reports.why.no-status") if not with_status \
        else t("reports.why.not-yet")
    return {"sent": nothing_sent if not sent else "", "statuses": no_status,
            "failures": "" if failed or failed_status else t("reports.why.no-failures"),
            "keywords": t("reports.why.no-keywords"),
            "prices": t("reports.why.no-prices")}
