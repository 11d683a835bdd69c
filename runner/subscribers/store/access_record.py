"""Everything the database holds about one citizen (GDPR art. 15), section by
section, as plain rows: what :mod:`runner.subscribers.rights.access` shows staff and
hands the citizen."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...vocabulary import CALLBACK_PREFIX

if TYPE_CHECKING:
    import duckdb

_QUERIES = {
    "citizen": """SELECT citizen_id, wa_id AS number, user_id, profile_name, last_inbound_at
                  FROM citizens WHERE citizen_id = ?""",
    "subscription": """SELECT state, pending_action, name, keyword, since, subscribed_at,
                              topics
                       FROM subscribers WHERE citizen_id = ?""",
    "history": """SELECT ts, from_state, to_state, cause FROM subscriber_events
                  WHERE citizen_id = ? ORDER BY ts""",
    "consents": """SELECT c.ts, c.text, c.keyword, c.topics, c.notice_version,
                          n.in_force_from AS notice_in_force_from, c.imported_from
                   FROM consents c LEFT JOIN notices n ON n.version = c.notice_version
                   WHERE c.citizen_id = ? ORDER BY c.ts""",
    "messages": """SELECT ts, type, kind, keyword, captured_name, text, form
                   FROM inbound WHERE citizen_id = ? ORDER BY ts, wamid""",
    # A status is found by the wamid the send recorded, or (a database rebuilt since)
    # by the delivery id it echoes: two equality joins, never an OR join (a scan of
    # every status per delivery).
    "deliveries": f"""
        WITH mine AS (SELECT * FROM deliveries WHERE citizen_id = ?),
        found AS (
            SELECT m.delivery_id, arg_max(s.status, s.ts) AS status, min(s.sent_at) AS sent_at,
                   min(s.delivered_at) AS delivered_at, min(s.read_at) AS read_at,
                   max(s.error_code) AS error_code, max(s.error_title) AS error_title
            FROM mine m JOIN statuses s ON s.wamid = m.wamid GROUP BY 1
            UNION ALL
            SELECT m.delivery_id, arg_max(s.status, s.ts), min(s.sent_at), min(s.delivered_at),
                   min(s.read_at), max(s.error_code), max(s.error_title)
            FROM mine m JOIN statuses s ON s.callback = '{CALLBACK_PREFIX}' || m.delivery_id
            WHERE m.wamid IS NULL GROUP BY 1)
        SELECT d.kind, d.announcement_id, a.title, coalesce(s.status, d.state) AS state,
               d.created_at, coalesce(d.sent_at, s.sent_at) AS sent_at, s.delivered_at,
               s.read_at, coalesce(s.error_code, d.error_code) AS error_code,
               coalesce(s.error_title, d.error_title) AS error_title
        FROM mine d
        LEFT JOIN announcements a USING (announcement_id)
        LEFT JOIN found s USING (delivery_id)
        ORDER BY d.created_at, d.delivery_id""",
}


def record(con: duckdb.DuckDBPyConnection, citizen_id: str, timezone: str) -> dict[str, list[dict]]:
    """Each section's rows (column name -> value), times in ``timezone``."""
    con.execute(f"SET TimeZone = '{timezone}'")
    return {name: _rows(con, sql, citizen_id) for name, sql in _QUERIES.items()}


def _rows(con: duckdb.DuckDBPyConnection, sql: str, citizen_id: str) -> list[dict]:
    cur = con.execute(sql, [citizen_id])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
