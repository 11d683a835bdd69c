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

from typing import TYPE_CHECKING

from ..store import templates

if TYPE_CHECKING:
    import duckdb

_NEEDLE = b"template_"


def stage_block(cur: duckdb.DuckDBPyConnection, data: bytes) -> None:
    """Parse the lines of one block (its bytes, lines joined by newlines) that
    mention a template, if any: one byte search over the block first, then the
    block is split only when it holds one."""
    if _NEEDLE not in data:
        return
    found = [line for line in data.split(b"\n") if _NEEDLE in line]
    if found:
        templates.stage_lines(cur, found)

