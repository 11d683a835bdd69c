"""Template status and category changes, from the stage into ``template_updates``.

``stage.template_items`` (the stage's, :mod:`.staging`) is filled block by block from
the lines that mention a template; ``template_lines`` holds one block's such lines on
the parsing worker's own cursor, and goes with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...db import count, temp_table

if TYPE_CHECKING:
    import duckdb

FIELDS = ("message_template_status_update", "template_category_update")
_TYPE = ('{"entry":[{"time":"BIGINT","changes":[{"field":"VARCHAR","value":{'
         '"event":"VARCHAR","message_template_id":"VARCHAR","message_template_name":"VARCHAR",'
         '"message_template_language":"VARCHAR","reason":"VARCHAR",'
         '"previous_category":"VARCHAR","new_category":"VARCHAR"}}]}]}')


def stage_lines(cur: duckdb.DuckDBPyConnection, lines: list[bytes]) -> None:
    """Lines that mention a template (raw bytes) into ``stage.template_items``: each
    change of a template's status or category they announce."""
    temp_table(cur, "template_lines", raw=("BLOB", lines))
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


def merge(con: duckdb.DuckDBPyConnection) -> int:
    """New template changes into ``template_updates``; a change seen again is ignored."""
    return count(con.execute("""
        INSERT INTO template_updates
        SELECT DISTINCT * FROM stage.template_items s
        WHERE NOT EXISTS (
            SELECT 1 FROM template_updates u
            WHERE u.ts = s.ts AND u.field = s.field AND u.name = s.name
              AND u.language = s.language AND u.status IS NOT DISTINCT FROM s.status
              AND u.category IS NOT DISTINCT FROM s.category)"""))
