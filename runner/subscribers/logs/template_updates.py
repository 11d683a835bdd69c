"""Template status and category changes Meta announces by webhook, from the logs.

Fields ``message_template_status_update`` (``value.event``: APPROVED, PAUSED,
DISABLED, REJECTED...) and ``template_category_update`` (``value.new_category``)
arrive in the same webhook logs as messages. Only the rare lines that mention a
template are parsed again for them (a byte search per block), so a large sync
costs the same; they land in ``template_updates``, whose ``template_state`` view is
the one truth of template states (:mod:`runner.whatsapp.template_state`): validate
warns from it when an announcement's template is now MARKETING or not APPROVED, the
reviewer's block and the send read it, and so do the counts file (for a pull
request's check, which has no database) and the reports.
"""

from __future__ import annotations

from ..db import temp_table

FIELDS = ("message_template_status_update", "template_category_update")
_TYPE = ('{"entry":[{"time":"BIGINT","changes":[{"field":"VARCHAR","value":{'
         '"event":"VARCHAR","message_template_id":"VARCHAR","message_template_name":"VARCHAR",'
         '"message_template_language":"VARCHAR","reason":"VARCHAR",'
         '"previous_category":"VARCHAR","new_category":"VARCHAR"}}]}]}')
_NEEDLE = b"template_"


def prepare(con) -> None:
    """The stage table (in the attached ``stage`` database) this step fills."""
    con.execute("""
        CREATE OR REPLACE TABLE stage.template_items (
            ts TIMESTAMPTZ, field VARCHAR, template_id VARCHAR, name VARCHAR,
            language VARCHAR, status VARCHAR, category VARCHAR, previous_category VARCHAR,
            reason VARCHAR)""")


def stage_block(cur, data: bytes) -> None:
    """Parse the lines of one block (its bytes, lines joined by newlines) that
    mention a template, if any: one byte search over the block first, then the
    block is split only when it holds one."""
    if _NEEDLE not in data:
        return
    found = [line for line in data.split(b"\n") if _NEEDLE in line]
    if not found:
        return
    temp_table(cur, "template_lines", raw=("BLOB", found))
    cur.execute(f"""
        INSERT INTO stage.template_items
        SELECT to_timestamp(e.time), c.field, c.value.message_template_id,
               c.value.message_template_name, coalesce(c.value.message_template_language, ''),
               CASE WHEN c.field = '{FIELDS[0]}' THEN upper(c.value.event) END,
               upper(c.value.new_category), upper(c.value.previous_category), c.value.reason
        FROM (SELECT unnest(j.entry) AS e FROM (
                SELECT try(json_transform(try(decode(raw)), '{_TYPE}')) AS j
                FROM template_lines) WHERE j IS NOT NULL) t, unnest(t.e.changes) AS u(c)
        WHERE c.field IN {FIELDS} AND c.value.message_template_name IS NOT NULL
          AND e.time IS NOT NULL""")


def merge(con) -> int:
    """New template changes into ``template_updates``; a change seen again is ignored."""
    return con.execute("""
        INSERT INTO template_updates
        SELECT DISTINCT * FROM stage.template_items s
        WHERE NOT EXISTS (
            SELECT 1 FROM template_updates u
            WHERE u.ts = s.ts AND u.field = s.field AND u.name = s.name
              AND u.language = s.language AND u.status IS NOT DISTINCT FROM s.status
              AND u.category IS NOT DISTINCT FROM s.category)""").fetchone()[0]
