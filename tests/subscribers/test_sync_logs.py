"""sync on logs as a town's server leaves them: files growing while sync reads,
links in the folder, JSON of the wrong types. Real files, a real DuckDB."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import duckdb
import pytest

from runner.config import load_settings
from runner.subscribers.logs import files as logs
from runner.subscribers.logs.staging import stage
from runner.subscribers.sync import sync
from tests.support.database import query
from tests.support.towns import SYNONYMS
from tests.support.webhooks import T0, envelope, message, status, write

pytestmark = pytest.mark.town(**SYNONYMS)


def malformed(town: Path) -> list[tuple]:
    return query(town / "subscribers.duckdb",
                 "SELECT regexp_extract(file, '[^/]*$'), line, reason FROM malformed ORDER BY ALL")


def test_malformed_line_numbers_after_an_incremental_sync(town):
    log = town / "logs" / "a.jsonl"
    write(log, [message("393330000001", "wamid.1", T0, "MI ISCRIVO"), "not json",
                message("393330000002", "wamid.2", T0, "MI ISCRIVO")])
    sync(load_settings())
    write(log, ["", message("393330000003", "wamid.3", T0, "MI ISCRIVO"), '{"entry": 1'],
          mode="a")
    s = sync(load_settings())
    assert s.lines == 3
    assert malformed(town) == [("a.jsonl", 2, "not_json"), ("a.jsonl", 4, "empty"),
                               ("a.jsonl", 6, "truncated")]
    assert query(town / "subscribers.duckdb", "SELECT wamid, line FROM inbound ORDER BY 1") == [
        ("wamid.1", 1), ("wamid.2", 3), ("wamid.3", 5)]
    assert query(town / "subscribers.duckdb", "SELECT lines, size FROM log_files") == [
        (6, log.stat().st_size)]


def _bad(n: int) -> str:
    return ["", "GET / HTTP/1.1", '{"entry": [', '{"hello": 1}'][n % 4]


def test_appending_while_sync_reads_loses_no_malformed_line(town):
    """The receiver appends (sometimes half a line at a time) while sync runs again
    and again: in the end the database holds what a rebuild from the same file
    holds, malformed lines included, at the right line numbers."""
    log = town / "logs" / "a.jsonl"
    log.write_text("")
    done = threading.Event()

    def receiver():
        with log.open("a", encoding="utf-8") as f:
            for n in range(600):
                line = (_bad(n) if n % 5 == 0
                        else message(f"3933300{n:05d}", f"wamid.{n}", T0 + n, "MI ISCRIVO"))
                half = len(line) // 2
                f.write(line[:half])
                f.flush()
                time.sleep(0.003)  # sync may read the half line
                f.write(line[half:] + "\n")
                f.flush()
        done.set()

    writer = threading.Thread(target=receiver)
    writer.start()
    syncs = 0
    while not done.is_set():
        sync(load_settings())
        syncs += 1
    writer.join()
    assert syncs >= 3  # else nothing raced
    sync(load_settings())
    incremental = malformed(town)
    inbound = query(town / "subscribers.duckdb", "SELECT wamid, line FROM inbound ORDER BY 1")
    assert len(incremental) == 120 and len(inbound) == 480
    assert incremental == [("a.jsonl", n + 1, reason) for n, reason in zip(
        range(0, 600, 5), ["empty", "not_json", "truncated", "wrong_shape"] * 30, strict=True)]
    sync(load_settings(), rebuild=True)
    assert malformed(town) == incremental
    assert query(town / "subscribers.duckdb",
                 "SELECT wamid, line FROM inbound ORDER BY 1") == inbound


def test_a_half_written_line_is_read_again_when_complete(town):
    log = town / "logs" / "a.jsonl"
    line = message("393330000001", "wamid.1", T0, "MI ISCRIVO")
    log.write_bytes(b"not json\n" + line.encode()[:40])
    s = sync(load_settings())
    assert malformed(town) == [("a.jsonl", 1, "not_json"), ("a.jsonl", 2, "truncated")]
    with log.open("ab") as f:
        f.write(line.encode()[40:] + b"\n\xff\xfe\n")
    s = sync(load_settings())
    assert malformed(town) == [("a.jsonl", 1, "not_json"), ("a.jsonl", 3, "not_json")]
    assert s.states == {"active": 1}


# --- links ---------------------------------------------------------------------------


SECRET_LINE = "root:$6$saltsalt$secrethash:19000:0:99999:7:::"


@pytest.fixture
def outside(tmp_path) -> Path:
    """Files outside the logs folder: what a link must never bring in."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    for name in ("shadow.jsonl", "inner.jsonl"):
        (folder / name).write_text(
            SECRET_LINE + "\n" + message("393339999999", f"wamid.{name}", T0, "MI ISCRIVO") + "\n")
    return folder


def _nothing_from_outside(town: Path) -> None:
    db = town / "subscribers.duckdb"
    stored = json.dumps([query(db, f"SELECT * FROM {table}") for table in
                         ("log_files", "malformed", "inbound", "citizens")], default=str)
    assert "elsewhere" not in stored and "shadow" not in stored and "root:" not in stored
    assert "393339999999" not in stored
    assert query(db, "SELECT count(*) FROM inbound") == [(1,)]


def test_links_in_the_logs_folder_are_not_followed(town, outside):
    write(town / "logs" / "a.jsonl", [message("393330000001", "wamid.1", T0, "MI ISCRIVO")])
    (town / "logs" / "shadow.jsonl").symlink_to(outside / "shadow.jsonl")
    (town / "logs" / "old").symlink_to(outside, target_is_directory=True)
    s = sync(load_settings())
    assert s.links == 2 and s.states == {"active": 1}
    assert any("2" in line and "simbolic" in line for line in s.lines_text())
    _nothing_from_outside(town)


def test_links_are_not_followed_by_a_glob_either(town, outside, monkeypatch):
    write(town / "logs" / "a.jsonl", [message("393330000001", "wamid.1", T0, "MI ISCRIVO")])
    (town / "logs" / "shadow.jsonl").symlink_to(outside / "shadow.jsonl")
    (town / "logs" / "old").symlink_to(outside, target_is_directory=True)
    monkeypatch.setenv("BANDITORE_WEBHOOK_LOGS", str(town / "logs" / "**" / "*.jsonl"))
    s = sync(load_settings())
    assert s.links == 2
    _nothing_from_outside(town)


def test_a_link_swapped_in_after_the_listing_is_not_opened(town, outside):
    target = town / "logs" / "a.jsonl"
    target.symlink_to(outside / "shadow.jsonl")
    read = logs.FileRead(str(target), restart=True, first_line=1)
    with pytest.raises(OSError):
        list(logs.blocks(read))
    assert os.path.islink(target)


# --- JSON of the wrong types ---------------------------------------------------------


def _message(**fields) -> str:
    m = {"from": "393330000001", "id": "wamid.x", "timestamp": str(T0), "type": "text",
         "text": {"body": "MI ISCRIVO"}, **fields}
    return envelope({"contacts": [{"profile": {"name": "X"}, "wa_id": "393330000001"}],
                     "messages": [m]})


@pytest.mark.parametrize("line", [
    _message(**{"from": 393330000001}),  # a number, though the contact has a wa_id
    _message(**{"from": ["393330000001"]}),
    _message(text={"body": ["MI ISCRIVO"]}),
    _message(text={"body": {"b": "MI ISCRIVO"}}),
    _message(id=12345),
    _message(timestamp="253402300800"),  # 10000-01-01
    _message(timestamp=str(10**15)),
    status("wamid.s", "delivered", 253402300800),
    envelope({"statuses": [{"id": 5, "status": "read", "timestamp": str(T0)}]}),
], ids=["from-number", "from-list", "body-list", "body-object", "id-number", "year-10000",
        "far-future", "status-year-10000", "status-id-number"])
def test_fields_of_the_wrong_type_are_wrong_shape(town, line):
    write(town / "logs" / "a.jsonl", [line, message("393330000002", "wamid.ok", T0, "ISCRIVIMI")])
    s = sync(load_settings())
    assert s.malformed == {"wrong_shape": 1}
    assert s.states == {"active": 1}
    db = town / "subscribers.duckdb"
    assert query(db, "SELECT wamid FROM inbound") == [("wamid.ok",)]
    assert query(db, "SELECT count(*) FROM statuses") == [(0,)]
    assert query(db, "SELECT line FROM malformed") == [(1,)]


def test_the_last_second_of_year_9999_is_still_a_time(town):
    write(town / "logs" / "a.jsonl", [
        message("393330000001", "wamid.1", 253402300799, "MI ISCRIVO"),
        status("wamid.s", "delivered", 253402300799)])
    s = sync(load_settings())
    assert (s.malformed, s.states, s.statuses) == ({}, {"active": 1}, 1)


def test_escaped_strings_are_read_as_their_text(town):
    line = json.dumps(json.loads(message("393330000001", "wamid.1", T0, "MI ISCRIVO")),
                      ensure_ascii=True).replace('"MI ISCRIVO"', '"MI \\u0049SCRIVO"')
    write(town / "logs" / "a.jsonl", [line])
    assert sync(load_settings()).states == {"active": 1}


def test_a_database_written_with_swapped_columns_is_repaired(town):
    log = town / "logs" / "a.jsonl"
    write(log, [message("393330000001", "wamid.1", T0, "MI ISCRIVO"), "not json"])
    sync(load_settings())
    write(log, ["", message("393330000002", "wamid.2", T0, "MI ISCRIVO")], mode="a")
    # What the old sync left: lines and mtime swapped, lines numbered from the mtime.
    con = duckdb.connect(str(town / "subscribers.duckdb"))
    mtime = int(log.stat().st_mtime)
    con.execute("UPDATE log_files SET lines = ?, mtime = 2", [mtime])
    con.execute("INSERT INTO malformed SELECT path, ? + 1, 'empty', NULL FROM log_files", [mtime])
    con.execute("INSERT INTO inbound SELECT * REPLACE ('wamid.2' AS wamid, ? + 2 AS line) "
                "FROM inbound", [mtime])
    con.execute("DELETE FROM _migrations WHERE name = '0006_sync_logs'")
    con.close()
    sync(load_settings())
    assert malformed(town) == [("a.jsonl", 2, "not_json"), ("a.jsonl", 3, "empty")]
    assert query(town / "subscribers.duckdb", "SELECT wamid, line FROM inbound ORDER BY 1") == [
        ("wamid.1", 1), ("wamid.2", 4)]


# --- one-item lines and complex lines are read alike -----------------------------------


def _complex(line: str) -> str:
    """The same webhook with a second, empty entry: no item more, but no longer a
    one-item line, so staging flattens it the general way."""
    body = json.loads(line)
    body["entry"].append({"id": "2", "changes": []})
    return json.dumps(body)


ODD_LINES = [
    _message(), _message(**{"from": 393330000001}), _message(text={"body": ["MI"]}),
    _message(text={"body": None}), _message(text=None), _message(id=None),
    _message(timestamp=1711000000), _message(timestamp="253402300800"),
    _message(type=5), _message(type="button", button={"payload": "p", "text": "MI ISCRIVO"}),
    _message(type="interactive", interactive={"type": "list_reply", "list_reply": {
        "id": "topic:scuole", "title": "Scuole"}}),
    _message(type="image", image={"caption": "foto"}), _message(from_user_id="IT.1"),
    _message(**{"from": None, "from_user_id": "IT.2"}),
    envelope({"contacts": [{"wa_id": "1"}, {"wa_id": "393330000001", "profile": {"name": "Y"}}],
              "messages": [json.loads(_message())["entry"][0]["changes"][0]["value"]
                           ["messages"][0]]}),
    envelope({"contacts": "none", "messages": [{"from": "393330000001", "id": "wamid.c",
                                                "timestamp": str(T0), "type": "text"}]}),
    envelope({"messages": [None]}), envelope({"statuses": [None]}),
    envelope({"messages": {"id": "wamid.o"}, "statuses": [json.loads(status(
        "wamid.s", "read", T0))["entry"][0]["changes"][0]["value"]["statuses"][0]]}),
    status("wamid.s", "read", T0), status("wamid.s", "failed", T0, code=131026),
    status("wamid.s", "exploded", T0), status("wamid.s", "sent", T0, callback=None),
    envelope({"statuses": [{"id": "wamid.s", "status": None, "timestamp": str(T0)}]}),
    envelope({"statuses": [{"id": "wamid.s", "status": "read", "timestamp": "x",
                            "errors": [{"code": "abc"}], "pricing": "utility"}]}),
    *(envelope({"statuses": [{"id": "wamid.p", "status": "delivered", "timestamp": str(T0),
                              "pricing": {"category": "utility", "type": "regular",
                                          "billable": billable}}]})
      for billable in (True, False, "true", 1, None)),
]


def test_one_item_lines_are_read_as_the_general_path_reads_them(tmp_path):
    """Staging reads a line holding one message or one status by indexing its lists,
    any other line by unnesting them: both must give the same items."""
    folder = tmp_path / "logs"
    folder.mkdir()
    write(folder / "one.jsonl", ODD_LINES)
    write(folder / "complex.jsonl", [_complex(line) for line in ODD_LINES])
    con = duckdb.connect(str(tmp_path / "stage.duckdb"))
    stage(con, [logs.plan(str(p), None) for p in sorted(folder.iterdir())])
    items = {name: con.execute(
        "SELECT * EXCLUDE (file, raw) FROM stage.stage_items WHERE item <> 'complex' "
        "AND file LIKE ? ORDER BY ALL", [f"%{name}.jsonl"]).fetchall()
        for name in ("one", "complex")}
    assert con.execute("SELECT file LIKE '%complex.jsonl', count(*) FROM stage.stage_items "
                       "WHERE item = 'complex' GROUP BY 1").fetchall() == [(True, len(ODD_LINES))]
    assert len(items["one"]) >= len(ODD_LINES) - 1
    assert items["one"] == items["complex"]
