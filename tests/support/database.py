"""Looking into a town's database as a test does: read-only, so a look never changes
what it looks at (the runner writes; tests only read)."""

from __future__ import annotations

from pathlib import Path

import duckdb


def query(db: Path | str, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


# Every table sync derives from the logs, in an order that does not depend on how
# the lines came: two databases built from the same lines compare equal.
STATE_QUERIES = {
    "citizens": "SELECT * FROM citizens ORDER BY ALL",
    "inbound": "SELECT * EXCLUDE (file, line) FROM inbound ORDER BY wamid",
    "subscribers": "SELECT * FROM subscribers ORDER BY citizen_id",
    "events": "SELECT * FROM subscriber_events ORDER BY ALL",
    "consents": "SELECT * FROM consents ORDER BY wamid",
    "statuses": "SELECT * FROM statuses ORDER BY wamid",
    "deliveries": "SELECT delivery_id, kind, citizen_id, state, created_at, payload "
                  "FROM deliveries ORDER BY delivery_id",
}


def state(db) -> dict[str, list[tuple]]:
    """What sync made of the logs, table by table."""
    return {name: query(db, sql) for name, sql in STATE_QUERIES.items()}
