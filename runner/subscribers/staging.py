"""Staging: the new lines of the webhook logs, parsed by DuckDB into flat tables.

One JSON pass per line (``json_transform`` to a typed struct holding only what
sync reads), then entry[].changes[].value.{messages,statuses,errors}[] unnested
into one row per item, in an attached in-memory database, ``stage``:

- ``stage.stage_items``: every message, status, webhook error and unusable line
  (with its reason: empty, not_json, truncated, wrong_shape), keyed by file and line;
- ``stage_messages`` and ``stage_statuses`` (views): the usable ones.

The reading thread only cuts files into blocks of lines (logs.py); worker
threads, each with its own cursor, hand DuckDB one block each, and DuckDB works
without holding the GIL, so parsing uses every core.
"""

from __future__ import annotations

import os
import queue
import threading

from ..db import temp_table
from . import logs, template_updates

# The parts of a webhook body sync reads; json_transform ignores the rest.
_CONTACT = '{"wa_id":"VARCHAR","user_id":"VARCHAR","profile":{"name":"VARCHAR"}}'
_REPLY = '{"id":"VARCHAR","title":"VARCHAR"}'
_MEDIA = '{"caption":"VARCHAR"}'
_ERROR = '{"code":"INTEGER","title":"VARCHAR"}'
_MESSAGE = (
    '{"from":"VARCHAR","from_user_id":"VARCHAR","id":"VARCHAR","timestamp":"VARCHAR",'
    '"type":"VARCHAR","text":{"body":"VARCHAR"},"button":{"payload":"VARCHAR","text":"VARCHAR"},'
    f'"interactive":{{"type":"VARCHAR","button_reply":{_REPLY},"list_reply":{_REPLY}}},'
    f'"image":{_MEDIA},"video":{_MEDIA},"document":{_MEDIA}}}'
)
_STATUS = (
    '{"id":"VARCHAR","status":"VARCHAR","timestamp":"VARCHAR","recipient_id":"VARCHAR",'
    '"recipient_user_id":"VARCHAR","biz_opaque_callback_data":"VARCHAR",'
    f'"errors":[{_ERROR}],"pricing":{{"category":"VARCHAR"}}}}'
)
WEBHOOK_TYPE = (
    f'{{"entry":[{{"changes":[{{"field":"VARCHAR","value":{{"contacts":[{_CONTACT}],'
    f'"messages":[{_MESSAGE}],"statuses":[{_STATUS}],"errors":[{_ERROR}]}}}}]}}]}}'
)
PARSE_WORKERS = max(1, min(4, os.cpu_count() or 1))
STATUS_VALUES = ("sent", "delivered", "read", "failed", "played")


def stage(con, reads: list[logs.FileRead]) -> tuple[int, int]:
    """Parse the new lines of ``reads`` into the stage; returns (files, lines) read.
    The caller detaches ``stage`` when done (outside any transaction)."""
    con.execute("ATTACH IF NOT EXISTS ':memory:' AS stage")
    con.execute(_STAGE_TABLE)
    template_updates.prepare(con)
    blocks: queue.Queue = queue.Queue(maxsize=PARSE_WORKERS + 1)
    errors: list[BaseException] = []

    def work() -> None:
        cur = con.cursor()
        try:
            while (block := blocks.get()) is not None:
                if errors:
                    continue  # keep draining so the reader never blocks
                try:
                    # A list parameter hands DuckDB many strings far faster than
                    # one big string it would split itself.
                    first = block.first_line
                    temp_table(cur, "block_lines",
                               line=("BIGINT", range(first, first + len(block.lines))),
                               raw=("BLOB", block.lines))
                    cur.execute(_PARSE_BLOCK, {"file": block.path})
                    cur.execute(_FLATTEN)
                    template_updates.stage_block(cur, block.lines)
                except BaseException as exc:  # re-raised by the reading thread
                    errors.append(exc)
        finally:
            cur.close()

    files = lines = 0
    workers = [threading.Thread(target=work, daemon=True) for _ in range(PARSE_WORKERS)]
    for w in workers:
        w.start()
    try:
        for read in reads:
            for block in logs.blocks(read):
                if errors:
                    break
                lines += len(block.lines)
                blocks.put(block)
            files += 1
    finally:
        for _ in workers:
            blocks.put(None)
        for w in workers:
            w.join()
    if errors:
        raise errors[0]
    con.execute(_SPLIT_STAGE)
    return files, lines



_STAGE_TABLE = """
CREATE OR REPLACE TABLE stage.stage_items (
    file VARCHAR, line BIGINT,
    item VARCHAR,                  -- line (unusable) | message | status | error
    wamid VARCHAR, ts TIMESTAMPTZ, type VARCHAR, text VARCHAR, reply_id VARCHAR,
    wa_id VARCHAR, user_id VARCHAR, profile_name VARCHAR,
    status VARCHAR, recipient_id VARCHAR, callback VARCHAR,
    error_code INTEGER, error_title VARCHAR, pricing_category VARCHAR,
    reason VARCHAR, detail VARCHAR)
"""

# Parse one block: one JSON pass per line into a typed struct, and the reason a
# line cannot be used. Details never hold a phone number: digits are masked.
_PARSE_BLOCK = f"""
CREATE OR REPLACE TEMP TABLE stage_lines AS
SELECT $file AS file, line, j.entry AS entry,
    CASE WHEN j.entry IS NOT NULL THEN NULL
         WHEN trim(raw, E' \\t\\r') = '' THEN 'empty'
         WHEN j IS NULL AND NOT coalesce(json_valid(raw), false) THEN
            CASE WHEN ltrim(raw) SIMILAR TO '[\\[{{].*' THEN 'truncated' ELSE 'not_json' END
         ELSE 'wrong_shape' END AS reason,
    CASE WHEN j.entry IS NULL AND trim(raw, E' \\t\\r') <> '' THEN
        length(raw) || ' bytes: ' || regexp_replace(left(raw, 40), '[0-9]', '#', 'g') END AS detail
FROM (SELECT line, raw, try(json_transform(raw, '{WEBHOOK_TYPE}')) AS j
      FROM (SELECT line, coalesce(try(decode(raw)), '(invalid UTF-8)') AS raw
            FROM block_lines))
"""

# Then entry[].changes[].value.{messages,statuses,errors}[] flattened into one
# row per item (block by block, so memory stays flat).
_FLATTEN = f"""
CREATE OR REPLACE TEMP TABLE stage_values AS
SELECT file, line, c.value AS v FROM (
    SELECT file, line, unnest(e.changes) AS c FROM (
        SELECT file, line, unnest(entry) AS e FROM stage_lines WHERE reason IS NULL));

INSERT INTO stage.stage_items BY NAME
SELECT 'line' AS item, file, line, reason, detail FROM stage_lines WHERE reason IS NOT NULL;

INSERT INTO stage.stage_items BY NAME
SELECT *, CASE WHEN wamid IS NULL OR ts IS NULL OR (wa_id IS NULL AND user_id IS NULL)
               THEN 'wrong_shape' END AS reason,
          CASE WHEN wamid IS NULL OR ts IS NULL OR (wa_id IS NULL AND user_id IS NULL)
               THEN 'message without id, timestamp or sender' END AS detail
FROM (
SELECT 'message' AS item, file, line, m.id AS wamid,
    to_timestamp(TRY_CAST(m.timestamp AS BIGINT)) AS ts,
    coalesce(m.type, 'unknown') AS type,
    CASE m.type WHEN 'text' THEN m.text.body
                WHEN 'button' THEN coalesce(m.button.text, m.button.payload)
                WHEN 'interactive' THEN coalesce(m.interactive.button_reply.title,
                                                 m.interactive.list_reply.title)
                ELSE coalesce(m.image.caption, m.video.caption, m.document.caption) END AS text,
    -- the id of the row or button tapped (a topic menu's rows carry the topic)
    CASE m.type WHEN 'interactive' THEN coalesce(m.interactive.list_reply.id,
                                                 m.interactive.button_reply.id)
                WHEN 'button' THEN m.button.payload END AS reply_id,
    coalesce(m."from", contact.wa_id) AS wa_id,
    coalesce(m.from_user_id, contact.user_id) AS user_id,
    contact.profile.name AS profile_name
FROM (
    SELECT file, line, m,
        coalesce(list_filter(contacts, lambda c: c.wa_id = m."from"
                                           OR c.user_id = m.from_user_id)[1],
                 CASE WHEN len(contacts) = 1 THEN contacts[1] END) AS contact
    FROM (SELECT file, line, v.contacts AS contacts, unnest(v.messages) AS m
          FROM stage_values WHERE len(v.messages) > 0)));

INSERT INTO stage.stage_items BY NAME
SELECT *, CASE WHEN wamid IS NULL OR ts IS NULL OR status NOT IN {STATUS_VALUES}
               THEN 'wrong_shape' END AS reason,
          CASE WHEN wamid IS NULL OR ts IS NULL OR status NOT IN {STATUS_VALUES}
               THEN 'status without id, timestamp or a known status' END AS detail
FROM (
SELECT 'status' AS item, file, line, s.id AS wamid, s.status,
    to_timestamp(TRY_CAST(s.timestamp AS BIGINT)) AS ts,
    coalesce(s.recipient_id, s.recipient_user_id) AS recipient_id,
    s.biz_opaque_callback_data AS callback,
    s.errors[1].code AS error_code, s.errors[1].title AS error_title,
    s.pricing.category AS pricing_category
FROM (SELECT file, line, unnest(v.statuses) AS s FROM stage_values WHERE len(v.statuses) > 0));

INSERT INTO stage.stage_items BY NAME
SELECT 'error' AS item, file, line, e.code AS error_code, e.title AS error_title
FROM (SELECT file, line, unnest(v.errors) AS e FROM stage_values WHERE len(v.errors) > 0);
"""

# The messages and statuses the next steps read (items that cannot be applied
# made their line wrong_shape above).
_SPLIT_STAGE = """
CREATE OR REPLACE TEMP VIEW stage_messages AS
SELECT file, line, wamid, ts, type, text, reply_id, wa_id, user_id, profile_name
FROM stage.stage_items WHERE item = 'message' AND reason IS NULL;

CREATE OR REPLACE TEMP VIEW stage_statuses AS
SELECT file, line, wamid, status, ts, recipient_id, callback, error_code, error_title,
       pricing_category
FROM stage.stage_items WHERE item = 'status' AND reason IS NULL;
"""
