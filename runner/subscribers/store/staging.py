"""The stage: the new lines of the webhook logs, parsed by DuckDB into flat tables in
an attached in-memory database, ``stage`` (its tables are the store's contract,
:mod:`runner.subscribers.store`).

One JSON pass per line (``json_transform`` to a typed struct holding only what
sync reads), then one row per item of entry[].changes[].value.{messages,
statuses,errors}[]:

- ``stage.stage_items``: every message, status, webhook error and unusable line
  (with its reason: empty, not_json, truncated, wrong_shape), keyed by file and line;
  a line of an import record (``subscribers import``) is an item ``import`` kept
  whole, for :mod:`.imports` to read;
- ``stage.template_items``: the template changes Meta announced (:mod:`.templates`);
- ``stage_messages`` and ``stage_statuses`` (views): the usable messages and statuses.

A malformed line costs only itself (the parse statement says how). bench/sync.py
prints the time of each step of a sync, parsing included.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...vocabulary import IMPORT_RECORD, STATUS_VALUES

if TYPE_CHECKING:
    import duckdb

# Stands for a line that is not UTF-8 (the reader reported it already): the parse
# statement skips it.
NOT_UTF8 = b"\x01"

# The parts of a webhook body sync reads; json_transform ignores the rest. The
# fields that identify a message or hold what a citizen wrote come as JSON, so
# that a number or a list there makes the message wrong_shape instead of being
# read as its text ("from": 393... is not a sender).
_CONTACT_TYPE = '{"wa_id":"VARCHAR","user_id":"VARCHAR","profile":{"name":"VARCHAR"}}'
_REPLY_TYPE = '{"id":"VARCHAR","title":"VARCHAR"}'
_MEDIA_TYPE = '{"caption":"VARCHAR"}'
_ERROR_TYPE = '{"code":"INTEGER","title":"VARCHAR"}'
_MESSAGE_TYPE = (
    '{"from":"JSON","from_user_id":"JSON","id":"JSON","timestamp":"VARCHAR",'
    '"type":"VARCHAR","text":{"body":"JSON"},"button":{"payload":"VARCHAR","text":"VARCHAR"},'
    f'"interactive":{{"type":"VARCHAR","button_reply":{_REPLY_TYPE},"list_reply":{_REPLY_TYPE}}},'
    f'"image":{_MEDIA_TYPE},"video":{_MEDIA_TYPE},"document":{_MEDIA_TYPE}}}'
)
_STATUS_TYPE = (
    '{"id":"JSON","status":"VARCHAR","timestamp":"VARCHAR","recipient_id":"VARCHAR",'
    '"recipient_user_id":"VARCHAR","biz_opaque_callback_data":"VARCHAR",'
    f'"errors":[{_ERROR_TYPE}],'
    # billable as text: a value of another type must not make the whole line unreadable
    '"pricing":{"category":"VARCHAR","type":"VARCHAR","billable":"VARCHAR"}}'
)
WEBHOOK_TYPE = (
    f'{{"entry":[{{"changes":[{{"field":"VARCHAR","value":{{"contacts":[{_CONTACT_TYPE}],'
    f'"messages":[{_MESSAGE_TYPE}],"statuses":[{_STATUS_TYPE}],"errors":[{_ERROR_TYPE}]}}}}]}}]'
    # A line of an import record: no webhook, a consent moved in (subscribers import).
    f',"{IMPORT_RECORD}":"JSON"}}'
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


def attach(con: duckdb.DuckDBPyConnection) -> None:
    """Make the stage: the attached database and its two tables, empty."""
    con.execute("ATTACH IF NOT EXISTS ':memory:' AS stage")
    con.execute(_STAGE_TABLES)


def detach(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the stage, its tables and the views over them (outside any transaction)."""
    con.execute("DROP VIEW IF EXISTS stage_messages")
    con.execute("DROP VIEW IF EXISTS stage_statuses")
    con.execute("DETACH DATABASE IF EXISTS stage")


def parse_block(cur: duckdb.DuckDBPyConnection, path: str, first_line: int, data: bytes) -> None:
    """One block of lines (their bytes, joined by newlines) into ``stage.stage_items``.
    One bytes object per block: DuckDB decodes and splits it without the GIL (a list
    of a million Python strings took the GIL for their conversion)."""
    cur.execute(_PARSE_BLOCK, {"file": path, "first": first_line, "block": data})


def flatten_complex(con: duckdb.DuckDBPyConnection) -> None:
    """The lines kept whole as ``complex``, once after the blocks: one row per item."""
    con.execute(_COMPLEX)


def split(con: duckdb.DuckDBPyConnection) -> None:
    """The views the next steps read: ``stage_messages`` and ``stage_statuses``."""
    con.execute(_SPLIT_STAGE)


_STAGE_TABLES = """
CREATE OR REPLACE TABLE stage.stage_items (
    file VARCHAR, line BIGINT,
    item VARCHAR,            -- line (unusable) | message | status | error | complex | import
    wamid VARCHAR, ts TIMESTAMPTZ, type VARCHAR, text VARCHAR, reply_id VARCHAR,
    wa_id VARCHAR, user_id VARCHAR, profile_name VARCHAR,
    status VARCHAR, recipient_id VARCHAR, callback VARCHAR,
    error_code INTEGER, error_title VARCHAR, pricing_category VARCHAR,
    pricing_type VARCHAR, billable BOOLEAN, reason VARCHAR, detail VARCHAR,
    raw VARCHAR);            -- a complex line, flattened after the blocks; an import line

CREATE OR REPLACE TABLE stage.template_items (
    ts TIMESTAMPTZ, field VARCHAR, template_id VARCHAR, name VARCHAR,
    language VARCHAR, status VARCHAR, category VARCHAR, previous_category VARCHAR,
    reason VARCHAR);
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
                                WHERE raw <> chr({NOT_UTF8[0]}))))))))  -- reported by the reader
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
