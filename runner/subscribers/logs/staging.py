"""Staging: the new lines of the webhook logs, parsed by DuckDB into flat tables.

One JSON pass per line (``json_transform`` to a typed struct holding only what
sync reads), then one row per item of entry[].changes[].value.{messages,
statuses,errors}[], in an attached in-memory database, ``stage``:

- ``stage.stage_items``: every message, status, webhook error and unusable line
  (with its reason: empty, not_json, truncated, wrong_shape), keyed by file and line;
  a line of an import record (``subscribers import``) is an item ``import`` kept
  whole, for :mod:`.imports` to read;
- ``stage_messages`` and ``stage_statuses`` (views): the usable ones.

The reading thread only cuts files into blocks and checks they are UTF-8
(logs.py); worker threads, each with its own cursor, hand DuckDB one block
each as one bytes object, and DuckDB splits and parses it without holding the
GIL, so parsing uses every core.

Measured per block of 63,000 lines (32 MB, 1 % of them malformed), one core:
Python 0.07 s (read, UTF-8 check); DuckDB 0.06 s to take and split the bytes,
0.02 s to check the JSON, 0.07 s to transform it, 0.1 s to make and store the
items (0.33 s in all before one-item lines skipped the unnesting and the
workers their commit per block). A malformed line costs only itself: before
json_valid guarded json_transform, the same block took 0.96 s.
"""

from __future__ import annotations

import os
import queue
import threading

from ..vocabulary import STATUS_VALUES
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
    f'"messages":[{_MESSAGE}],"statuses":[{_STATUS}],"errors":[{_ERROR}]}}}}]}}]'
    # A line of an import record: no webhook, a consent moved in (runner.subscribers.imports).
    ',"banditore_import":"JSON"}'
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


def stage(con, reads: list[logs.FileRead]) -> tuple[int, int]:
    """Parse the new lines of ``reads`` into the stage; returns (files, lines) read.
    The caller detaches ``stage`` when done (outside any transaction)."""
    con.execute("ATTACH IF NOT EXISTS ':memory:' AS stage")
    con.execute(_STAGE_TABLE)
    template_updates.prepare(con)
    blocks: queue.Queue = queue.Queue(maxsize=PARSE_WORKERS + 1)
    errors: list[BaseException] = []
    files = lines = 0
    # Each worker's statement runs on its own thread alone: DuckDB's own threads
    # added 0.4-0.6 s CPU to the stage (scheduling) and no speed, the workers
    # already keeping every core busy. The setting is the instance's: restored after.
    threads = con.execute("SELECT current_setting('threads')").fetchall()[0][0]
    con.execute("SET threads = 1")
    workers = [threading.Thread(target=_work, args=(con, blocks, errors), daemon=True)
               for _ in range(PARSE_WORKERS)]
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
        con.execute(f"SET threads = {int(threads)}")
    if errors:
        raise errors[0]
    con.execute(_COMPLEX)
    con.execute(_SPLIT_STAGE)
    return files, lines


def _work(con, blocks: queue.Queue, errors: list[BaseException]) -> None:
    """A parsing thread: blocks from the queue into the stage, until None."""
    cur = con.cursor()
    # One transaction per worker, not one per block: committing an append to
    # the stage cost more than parsing the block whenever it completed a row
    # group (0.3-0.45 s every other 32 MB block), and nothing here needs to
    # be visible before the workers are done.
    cur.execute("BEGIN TRANSACTION")
    try:
        while (block := blocks.get()) is not None:
            if errors:
                continue  # keep draining so the reader never blocks
            try:
                _parse(cur, block)
            except BaseException as exc:  # re-raised by the reading thread
                errors.append(exc)
        cur.execute("ROLLBACK" if errors else "COMMIT")
    except BaseException as exc:
        errors.append(exc)
    finally:
        cur.close()


def _parse(cur, block: logs.Block) -> None:
    # One bytes object per block: DuckDB decodes and splits it without the GIL
    # (a list of a million Python strings took the GIL for their conversion).
    cur.execute(_PARSE_BLOCK, {"file": block.path, "first": block.first_line,
                               "block": block.data})
    template_updates.stage_block(cur, block.data)


_STAGE_TABLE = """
CREATE OR REPLACE TABLE stage.stage_items (
    file VARCHAR, line BIGINT,
    item VARCHAR,            -- line (unusable) | message | status | error | complex | import
    wamid VARCHAR, ts TIMESTAMPTZ, type VARCHAR, text VARCHAR, reply_id VARCHAR,
    wa_id VARCHAR, user_id VARCHAR, profile_name VARCHAR,
    status VARCHAR, recipient_id VARCHAR, callback VARCHAR,
    error_code INTEGER, error_title VARCHAR, pricing_category VARCHAR,
    pricing_type VARCHAR, billable BOOLEAN, reason VARCHAR, detail VARCHAR,
    raw VARCHAR)             -- a complex line, flattened after the blocks; an import line
"""

# --- one message ``m`` (with its value's ``contacts``) or one status ``s`` -> columns.
# Shared by the one-item lines and the complex ones, so both read a webhook alike.
_FROM, _FROM_USER = _text('m."from"'), _text("m.from_user_id")
_MESSAGE = {
    "wamid": _text("m.id"),
    "ts": _moment("m.timestamp"),
    "type": "coalesce(m.type, 'unknown')",
    "text": """CASE m.type WHEN 'text' THEN {body}
                    WHEN 'button' THEN coalesce(m.button.text, m.button.payload)
                    WHEN 'interactive' THEN coalesce(m.interactive.button_reply.title,
                                                     m.interactive.list_reply.title)
                    ELSE coalesce(m.image.caption, m.video.caption, m.document.caption)
                    END""".format(body=_text("m.text.body")),
    # the id of the row or button tapped (a topic menu's rows carry the topic)
    "reply_id": """CASE m.type WHEN 'interactive' THEN coalesce(m.interactive.list_reply.id,
                                                                m.interactive.button_reply.id)
                        WHEN 'button' THEN m.button.payload END""",
    "wa_id": f"coalesce({_FROM}, contact.wa_id)",
    "user_id": f"coalesce({_FROM_USER}, contact.user_id)",
    "profile_name": "contact.profile.name",
    "mistyped": " OR ".join(_not_text(f) for f in
                            ("m.id", 'm."from"', "m.from_user_id", "m.text.body")),
}
_CONTACT = (f"coalesce(list_filter(contacts, lambda c: c.wa_id = {_FROM} "
            f"OR c.user_id = {_FROM_USER})[1], "
            "CASE WHEN len(contacts) = 1 THEN contacts[1] END)")
_STATUS = {
    "wamid": _text("s.id"),
    "status": "s.status",
    "ts": _moment("s.timestamp"),
    "recipient_id": "coalesce(s.recipient_id, s.recipient_user_id)",
    "callback": "s.biz_opaque_callback_data",
    "error_code": "s.errors[1].code",
    "error_title": "s.errors[1].title",
    "pricing_category": "s.pricing.category",
    "pricing_type": "s.pricing.type",
    "billable": "CASE s.pricing.billable WHEN 'true' THEN true WHEN 'false' THEN false END",
}


def _columns(exprs: dict[str, str], prefix: str = "") -> str:
    return ",\n        ".join(f"{sql} AS {prefix}{name}" for name, sql in exprs.items())


def _message_verdict(p: str = "") -> tuple[str, str]:
    """SQL (reason, detail) of a message from its columns (named with prefix ``p``)."""
    missing = f"{p}wamid IS NULL OR {p}ts IS NULL OR ({p}wa_id IS NULL AND {p}user_id IS NULL)"
    return (f"CASE WHEN {p}mistyped OR {missing} THEN 'wrong_shape' END",
            f"CASE WHEN {p}mistyped THEN 'message whose id, sender or text is not a string' "
            f"WHEN {missing} THEN 'message without id, timestamp (up to year 9999) or sender' "
            "END")


def _status_verdict(p: str = "") -> tuple[str, str]:
    # NOT (x = a OR ...) is NOT IN spelled so that DuckDB needs no join for it (the
    # join cost the block statement more than its JSON parse).
    known = " OR ".join(f"{p}status = '{v}'" for v in STATUS_VALUES)
    bad = f"{p}wamid IS NULL OR {p}ts IS NULL OR NOT ({known})"
    return (f"CASE WHEN {bad} THEN 'wrong_shape' END",
            f"CASE WHEN {bad} THEN 'status without id, timestamp or a known status' END")


# One statement per block, from its bytes to one stage row per line. One JSON
# pass per line into a typed struct (only lines that are JSON reach
# json_transform, so a bad line costs itself alone: an error inside try() would
# send its whole vector of lines down a row-by-row path; try() stays for what
# valid JSON could still throw). A line holding one message or one status (all
# but a few) becomes its item right here, by indexing the struct's lists; any
# other line is kept whole as 'complex' and flattened by unnesting after the
# blocks (_COMPLEX): unnesting every line's three levels of lists, and storing
# the struct in between, cost twice the parse itself. Details never hold a
# phone number: digits are masked.
_LINE_REASON = """
    CASE WHEN j.entry IS NOT NULL OR j.banditore_import IS NOT NULL THEN NULL
         WHEN trim(raw, E' \\t\\r') = '' THEN 'empty'
         WHEN NOT json THEN
            CASE WHEN ltrim(raw) SIMILAR TO '[\\[{].*' THEN 'truncated' ELSE 'not_json' END
         ELSE 'wrong_shape' END"""
_LINE_DETAIL = """
    CASE WHEN j.entry IS NULL AND trim(raw, E' \\t\\r') <> '' THEN length(raw) || ' bytes: '
         || regexp_replace(left(raw, 40), '[0-9]', '#', 'g') END"""
_M_REASON, _M_DETAIL = _message_verdict("m_")
_S_REASON, _S_DETAIL = _status_verdict("s_")
_PARSE_BLOCK = f"""
INSERT INTO stage.stage_items BY NAME
SELECT $file AS file, line, item, raw,
    CASE item WHEN 'message' THEN m_wamid WHEN 'status' THEN s_wamid END AS wamid,
    CASE item WHEN 'message' THEN m_ts WHEN 'status' THEN s_ts END AS ts,
    {", ".join(f"CASE WHEN item = 'message' THEN m_{c} END AS {c}" for c in
               ("type", "text", "reply_id", "wa_id", "user_id", "profile_name"))},
    {", ".join(f"s_{c} AS {c}" for c in _STATUS if c not in ("wamid", "ts"))},
    CASE item WHEN 'line' THEN line_reason WHEN 'message' THEN {_M_REASON}
              WHEN 'status' THEN {_S_REASON} END AS reason,
    CASE item WHEN 'line' THEN line_detail WHEN 'message' THEN {_M_DETAIL}
              WHEN 'status' THEN {_S_DETAIL} END AS detail
FROM (
    SELECT line, item, raw, line_reason, line_detail,
        {_columns(_MESSAGE, "m_")},
        {_columns(_STATUS, "s_")}
    FROM (
        SELECT *, {_CONTACT} AS contact FROM (
            SELECT line, item, line_reason, line_detail,
                CASE WHEN item IN ('complex', 'import') THEN raw END AS raw,
                CASE WHEN item = 'message' THEN v.messages[1] END AS m,
                CASE WHEN item = 'message' THEN v.contacts END AS contacts,
                CASE WHEN item = 'status' THEN v.statuses[1] END AS s
            FROM (
                SELECT line, raw, v, line_reason, line_detail,
                    CASE WHEN line_reason IS NOT NULL THEN 'line'
                         WHEN imported THEN 'import'
                         WHEN NOT one THEN 'complex'
                         WHEN len(v.messages) = 1 AND coalesce(len(v.statuses), 0) = 0
                            THEN 'message'
                         WHEN len(v.statuses) = 1 AND coalesce(len(v.messages), 0) = 0
                            THEN 'status'
                         ELSE 'complex' END AS item
                FROM (
                    SELECT line, raw, j.entry[1].changes[1].value AS v,
                        {_LINE_REASON} AS line_reason, {_LINE_DETAIL} AS line_detail,
                        j.banditore_import IS NOT NULL AS imported,
                        coalesce(len(j.entry) = 1 AND len(j.entry[1].changes) = 1
                                 AND coalesce(len(j.entry[1].changes[1].value.errors), 0) = 0,
                                 false) AS one
                    FROM (SELECT line, raw, json,
                                 CASE WHEN json THEN try(json_transform(raw, '{WEBHOOK_TYPE}'))
                                      END AS j
                          FROM (SELECT line, raw, coalesce(json_valid(raw), false) AS json
                                FROM (SELECT unnest(range($first, $first + len(l))) AS line,
                                             unnest(l) AS raw
                                      FROM (SELECT string_split(decode($block), chr(10)) AS l))
                                WHERE raw <> chr({logs.NOT_UTF8[0]}))))))))  -- reported by logs.py
"""

# The complex lines (several entries, changes or items, webhook errors, items of
# no kind sync reads), once after the blocks: every value, then one row per item.
_M_REASON0, _M_DETAIL0 = _message_verdict()
_S_REASON0, _S_DETAIL0 = _status_verdict()
_COMPLEX = f"""
CREATE OR REPLACE TEMP TABLE stage_values AS
SELECT file, line, c.value AS v FROM (
SELECT file, line, unnest(coalesce(e.changes, [NULL])) AS c FROM (
SELECT file, line, unnest(coalesce(j.entry, [NULL])) AS e FROM (
    SELECT file, line, try(json_transform(raw, '{WEBHOOK_TYPE}')) AS j
    FROM stage.stage_items WHERE item = 'complex')));

INSERT INTO stage.stage_items BY NAME
SELECT * EXCLUDE (mistyped), {_M_REASON0} AS reason, {_M_DETAIL0} AS detail
FROM (
    SELECT 'message' AS item, file, line, {_columns(_MESSAGE)}
    FROM (
        SELECT file, line, m, {_CONTACT} AS contact
        FROM (SELECT file, line, v.contacts AS contacts, unnest(v.messages) AS m
              FROM stage_values WHERE len(v.messages) > 0)));

INSERT INTO stage.stage_items BY NAME
SELECT *, {_S_REASON0} AS reason, {_S_DETAIL0} AS detail
FROM (
    SELECT 'status' AS item, file, line, {_columns(_STATUS)}
    FROM (SELECT file, line, unnest(v.statuses) AS s FROM stage_values
          WHERE len(v.statuses) > 0));

INSERT INTO stage.stage_items BY NAME
SELECT 'error' AS item, file, line, e.code AS error_code, e.title AS error_title
FROM (SELECT file, line, unnest(v.errors) AS e FROM stage_values WHERE len(v.errors) > 0);

DROP TABLE stage_values;
"""

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
