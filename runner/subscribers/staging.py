"""Staging: the new lines of the webhook logs, parsed by DuckDB into flat tables.

One JSON pass per line (``json_transform`` to a typed struct holding only what
sync reads), then entry[].changes[].value.{messages,statuses,errors}[] unnested
into one row per item, in an attached in-memory database, ``stage``:

- ``stage.stage_items``: every message, status, webhook error and unusable line
  (with its reason: empty, not_json, truncated, wrong_shape), keyed by file and line;
- ``stage_messages`` and ``stage_statuses`` (views): the usable ones.

The reading thread only cuts files into blocks and checks they are UTF-8
(logs.py); worker threads, each with its own cursor, hand DuckDB one block
each as one bytes object, and DuckDB splits and parses it without holding the
GIL, so parsing uses every core.

Measured per block of 63,000 lines (32 MB, 1 % of them malformed), one core:
Python 0.08 s (read, UTF-8 check), DuckDB 0.15 s to split, check and
transform, 0.1 s to flatten into items. A malformed line costs only itself:
before json_valid guarded json_transform, the same block took 0.96 s.
"""

from __future__ import annotations

import os
import queue
import threading

from . import logs, template_updates

# The parts of a webhook body sync reads; json_transform ignores the rest. The
# fields that identify a message or hold what a citizen wrote come as JSON, so
# that a number or a list there makes the message wrong_shape instead of being
# read as its text ("from": 393... is not a sender).
_CONTACT = '{"wa_id":"VARCHAR","user_id":"VARCHAR","profile":{"name":"VARCHAR"}}'
_REPLY = '{"id":"VARCHAR","title":"VARCHAR"}'
_MEDIA = '{"caption":"VARCHAR"}'
_ERROR = '{"code":"INTEGER","title":"VARCHAR"}'
_MESSAGE = (
    '{"from":"JSON","from_user_id":"JSON","id":"JSON","timestamp":"VARCHAR",'
    '"type":"VARCHAR","text":{"body":"JSON"},"button":{"payload":"VARCHAR","text":"VARCHAR"},'
    f'"interactive":{{"type":"VARCHAR","button_reply":{_REPLY},"list_reply":{_REPLY}}},'
    f'"image":{_MEDIA},"video":{_MEDIA},"document":{_MEDIA}}}'
)
_STATUS = (
    '{"id":"JSON","status":"VARCHAR","timestamp":"VARCHAR","recipient_id":"VARCHAR",'
    '"recipient_user_id":"VARCHAR","biz_opaque_callback_data":"VARCHAR",'
    f'"errors":[{_ERROR}],'
    # billable as text: a value of another type must not make the whole line unreadable
    '"pricing":{"category":"VARCHAR","type":"VARCHAR","billable":"VARCHAR"}}'
)
WEBHOOK_TYPE = (
    f'{{"entry":[{{"changes":[{{"field":"VARCHAR","value":{{"contacts":[{_CONTACT}],'
    f'"messages":[{_MESSAGE}],"statuses":[{_STATUS}],"errors":[{_ERROR}]}}}}]}}]}}'
)
# Unix seconds up to 9999-12-31T23:59:59Z: later ones have no datetime in Python.
LAST_SECOND = 253402300799


def _text(field: str) -> str:
    """SQL: a JSON field's string, NULL when absent or not a string."""
    return f"CASE WHEN starts_with({field}, '\"') THEN {field} ->> '$' END"


def _not_text(field: str) -> str:
    """SQL: true when a JSON field is present but not a string."""
    return f"({field} IS NOT NULL AND NOT starts_with({field}, '\"'))"


def _moment(field: str) -> str:
    """SQL: Unix seconds as a timestamp, NULL when not an integer in range."""
    seconds = f"TRY_CAST({field} AS BIGINT)"
    return f"CASE WHEN {seconds} BETWEEN 0 AND {LAST_SECOND} THEN to_timestamp({seconds}) END"


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
                    _parse(cur, block)
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
                lines += block.count
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



def _parse(cur, block: logs.Block) -> None:
    # One bytes object per block: DuckDB decodes and splits it without the GIL
    # (a list of a million Python strings took the GIL for their conversion).
    cur.execute(_PARSE_BLOCK, {"first": block.first_line, "block": block.data})
    for statement in _ITEMS_STATEMENTS:
        cur.execute(statement, {"file": block.path})
    template_updates.stage_block(cur, block.data)


_STAGE_TABLE = """
CREATE OR REPLACE TABLE stage.stage_items (
    file VARCHAR, line BIGINT,
    item VARCHAR,                  -- line (unusable) | message | status | error
    wamid VARCHAR, ts TIMESTAMPTZ, type VARCHAR, text VARCHAR, reply_id VARCHAR,
    wa_id VARCHAR, user_id VARCHAR, profile_name VARCHAR,
    status VARCHAR, recipient_id VARCHAR, callback VARCHAR,
    error_code INTEGER, error_title VARCHAR, pricing_category VARCHAR,
    pricing_type VARCHAR, billable BOOLEAN, reason VARCHAR, detail VARCHAR)
"""

# One statement per block, from the list of lines to the stage rows: one JSON
# pass per line into a typed struct (``lines``), then
# entry[].changes[].value.{messages,statuses,errors}[] flattened into one row
# per item, each with the reason it cannot be used (or NULL). Only lines that
# are JSON reach json_transform, so a bad line costs itself alone: an error
# inside try() would send its whole vector of lines down a row-by-row path (a
# block with 1 % bad lines took 5 times as long); try() stays for what valid
# JSON could still throw. Details never hold a phone number: digits are masked.
_PARSE_BLOCK = f"""
CREATE OR REPLACE TEMP TABLE stage_values AS
SELECT line, reason, detail, c.value AS v FROM (
SELECT line, reason, detail, unnest(coalesce(e.changes, [NULL])) AS c FROM (
SELECT line, reason, detail, unnest(coalesce(j.entry, [NULL])) AS e FROM (
    SELECT line, j,
        CASE WHEN j.entry IS NOT NULL THEN NULL
             WHEN trim(raw, E' \\t\\r') = '' THEN 'empty'
             WHEN NOT json THEN
                CASE WHEN ltrim(raw) SIMILAR TO '[\\[{{].*' THEN 'truncated' ELSE 'not_json' END
             ELSE 'wrong_shape' END AS reason,
        CASE WHEN j.entry IS NULL AND trim(raw, E' \\t\\r') <> '' THEN length(raw) || ' bytes: '
             || regexp_replace(left(raw, 40), '[0-9]', '#', 'g') END AS detail
    FROM (SELECT line, raw, json,
                 CASE WHEN json THEN try(json_transform(raw, '{WEBHOOK_TYPE}')) END AS j
          FROM (SELECT line, raw, coalesce(json_valid(raw), false) AS json
                FROM (SELECT unnest(range($first, $first + len(l))) AS line, unnest(l) AS raw
                      FROM (SELECT string_split(decode($block), chr(10)) AS l))
                WHERE raw <> chr({logs.NOT_UTF8[0]}))))))  -- reported by logs.py
"""

# Then one row per item (bad line, message, status, error) into the stage.
_ITEMS = f"""
INSERT INTO stage.stage_items BY NAME
SELECT 'line' AS item, $file AS file, line, reason, detail FROM stage_values
WHERE reason IS NOT NULL;

INSERT INTO stage.stage_items BY NAME
SELECT * EXCLUDE (mistyped),
    CASE WHEN mistyped OR wamid IS NULL OR ts IS NULL OR (wa_id IS NULL AND user_id IS NULL)
         THEN 'wrong_shape' END AS reason,
    CASE WHEN mistyped THEN 'message whose id, sender or text is not a string'
         WHEN wamid IS NULL OR ts IS NULL OR (wa_id IS NULL AND user_id IS NULL)
         THEN 'message without id, timestamp (up to year 9999) or sender' END AS detail
FROM (
    SELECT 'message' AS item, $file AS file, line, {_text('m.id')} AS wamid,
        {_moment('m.timestamp')} AS ts, coalesce(m.type, 'unknown') AS type,
        CASE m.type WHEN 'text' THEN {_text('m.text.body')}
                    WHEN 'button' THEN coalesce(m.button.text, m.button.payload)
                    WHEN 'interactive' THEN coalesce(m.interactive.button_reply.title,
                                                     m.interactive.list_reply.title)
                    ELSE coalesce(m.image.caption, m.video.caption, m.document.caption)
                    END AS text,
        -- the id of the row or button tapped (a topic menu's rows carry the topic)
        CASE m.type WHEN 'interactive' THEN coalesce(m.interactive.list_reply.id,
                                                     m.interactive.button_reply.id)
                    WHEN 'button' THEN m.button.payload END AS reply_id,
        coalesce({_text('m."from"')}, contact.wa_id) AS wa_id,
        coalesce({_text('m.from_user_id')}, contact.user_id) AS user_id,
        contact.profile.name AS profile_name,
        {_not_text('m.id')} OR {_not_text('m."from"')} OR {_not_text('m.from_user_id')}
            OR {_not_text('m.text.body')} AS mistyped
    FROM (
        SELECT line, m, coalesce(
            list_filter(contacts, lambda c: c.wa_id = {_text('m."from"')}
                                         OR c.user_id = {_text('m.from_user_id')})[1],
            CASE WHEN len(contacts) = 1 THEN contacts[1] END) AS contact
        FROM (SELECT line, v.contacts AS contacts, unnest(v.messages) AS m
              FROM stage_values WHERE len(v.messages) > 0)));

INSERT INTO stage.stage_items BY NAME
SELECT *,
    CASE WHEN wamid IS NULL OR ts IS NULL OR status NOT IN {STATUS_VALUES}
         THEN 'wrong_shape' END AS reason,
    CASE WHEN wamid IS NULL OR ts IS NULL OR status NOT IN {STATUS_VALUES}
         THEN 'status without id, timestamp or a known status' END AS detail
FROM (
    SELECT 'status' AS item, $file AS file, line, {_text('s.id')} AS wamid, s.status,
        {_moment('s.timestamp')} AS ts,
        coalesce(s.recipient_id, s.recipient_user_id) AS recipient_id,
        s.biz_opaque_callback_data AS callback,
        s.errors[1].code AS error_code, s.errors[1].title AS error_title,
        s.pricing.category AS pricing_category, s.pricing.type AS pricing_type,
        CASE s.pricing.billable WHEN 'true' THEN true WHEN 'false' THEN false END AS billable
    FROM (SELECT line, unnest(v.statuses) AS s FROM stage_values WHERE len(v.statuses) > 0));

INSERT INTO stage.stage_items BY NAME
SELECT 'error' AS item, $file AS file, line, e.code AS error_code, e.title AS error_title
FROM (SELECT line, unnest(v.errors) AS e FROM stage_values WHERE len(v.errors) > 0);
"""

_ITEMS_STATEMENTS = [x for x in _ITEMS.split(";") if x.strip()]

# The messages and statuses the next steps read (items that cannot be applied
# made their line wrong_shape above).
_SPLIT_STAGE = """
CREATE OR REPLACE TEMP VIEW stage_messages AS
SELECT file, line, wamid, ts, type, text, reply_id, wa_id, user_id, profile_name
FROM stage.stage_items WHERE item = 'message' AND reason IS NULL;

CREATE OR REPLACE TEMP VIEW stage_statuses AS
SELECT file, line, wamid, status, ts, recipient_id, callback, error_code, error_title,
       pricing_category, pricing_type, billable
FROM stage.stage_items WHERE item = 'status' AND reason IS NULL;
"""
