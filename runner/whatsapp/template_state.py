"""Template states as the latest sync stored them: the one truth validate, the
reviewer's block and send read.

Meta announces a template's status and category changes by webhook
(``message_template_status_update``: APPROVED, PAUSED, DISABLED, REJECTED,
REINSTATED...; ``template_category_update``). ``sync`` stores them in the
database (:mod:`runner.subscribers.logs.template_updates`, view ``template_state``),
and they apply on top of the committed catalogue (:func:`.templates.updated`).
They are read here from the database when there is one, opened read-only and
never created; a pull request's check has none, and reads the same changes from
the counts file the last run published (:mod:`runner.announcements.counts_file`).

This is whatsapp/'s store, its one module that runs SQL. The reader lives at the
lowest layer that knows what a template is, because the stages that read it sit on
both sides of the one that writes it: validate (announcements) comes before the
subscribers' store, send after it. db/ holds connections, transactions and the
schema, no stage's data.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import duckdb

from .. import db


def changes(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, str]]:
    """The latest status and category per template, keyed ``name:language`` (``name``
    when Meta named no language): ``{"avviso:it": {"status": "PAUSED", "at": ...}}``."""
    found = db.count(con.execute("SELECT count(*) FROM information_schema.tables "
                                 "WHERE table_name = 'template_state'"))
    if not found:  # a database from before migration 0007_templates (read-only: as it is)
        return {}
    out: dict[str, dict[str, str]] = {}
    for name, language, status, category, at in con.execute(
            "SELECT name, language, status, category, changed_at FROM template_state "
            "ORDER BY ALL").fetchall():
        change = {k: v for k, v in (("status", status), ("category", category)) if v}
        out[f"{name}:{language}" if language else name] = {**change, "at": at.isoformat()}
    return out


def stored(database: str | Path) -> dict[str, dict[str, str]] | None:
    """The changes in the database at ``database``; None when there is no database."""
    path = Path(database)
    try:
        stamp = _stamp(path)
    except FileNotFoundError:
        return None
    return _read(str(path.resolve()), stamp)


def _stamp(path: Path) -> tuple:
    """What changes when sync writes: the file, and its write-ahead log until a checkpoint."""
    st = path.stat()
    wal = path.with_name(path.name + ".wal")
    wst = wal.stat() if wal.exists() else None
    return (st.st_mtime_ns, st.st_size, wst and (wst.st_mtime_ns, wst.st_size))


@lru_cache(maxsize=16)  # the rules ask for each announcement: one read per database version
def _read(path: str, stamp: tuple) -> dict[str, dict[str, str]]:
    try:
        con = db.connect(path, read_only=True)
    except duckdb.ConnectionException:
        # This process already holds the database for writing (DuckDB refuses a second
        # configuration of the same file): share that instance, which exists already,
        # instead. Nothing is created or migrated.
        con = duckdb.connect(path)
    try:
        return changes(con)
    finally:
        con.close()
