"""sync: webhook logs -> subscribers.duckdb, on real files and a real DuckDB database."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from runner.config import load_settings
from runner.subscribers.lifecycle.notices import notice_version
from runner.subscribers.privacy import citizen_id
from runner.subscribers.sync import sync
from tests.support.announcement_repo import write_announcement
from tests.support.database import query, state
from tests.support.sending import run
from tests.support.towns import SYNONYMS
from tests.support.webhooks import T0, message, status, write

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "logs"
# sync's own town knows two words for each way
pytestmark = pytest.mark.town(**SYNONYMS)


# --- the shipped sample -----------------------------------------------------------------


def test_sample_logs(town, monkeypatch):
    monkeypatch.setenv("BANDITORE_WEBHOOK_LOGS", str(SAMPLES))
    summary = sync(load_settings())
    db = town / "subscribers.duckdb"
    assert summary.states == {"active": 38, "unsubscribed": 3}
    assert summary.malformed == {"truncated": 1}
    assert summary.kinds["near_miss"] == 2
    # one citizen left and came back under the same privacy notice: a short reply
    assert (summary.welcome, summary.rejoined, summary.goodbye) == (41, 1, 4)
    assert summary.errors == 1
    assert summary.duplicates == 1  # Meta delivered one POST twice
    # a reaction and an image are recorded and ignored
    assert query(db, "SELECT type, kind FROM inbound WHERE type IN ('reaction', 'image') "
                     "ORDER BY type") == [("image", "ignored"), ("reaction", "ignored")]
    # the citizen known only by a business-scoped id is subscribed, without a number
    assert query(db, "SELECT s.state, c.wa_id, c.user_id FROM subscribers s JOIN citizens c "
                     "USING (citizen_id) WHERE c.wa_id IS NULL") == [
        ("active", None, "IT.1349875623984561")]
    # every welcome the runner sent is echoed back with its callback
    assert query(db, "SELECT count(*) FROM statuses WHERE callback LIKE 'banditore:w:%'") == [(40,)]
    assert query(db, "SELECT DISTINCT error_code FROM statuses WHERE status = 'failed'") == [
        (131026,)]


def test_sample_summary_never_shows_numbers(town, monkeypatch):
    monkeypatch.setenv("BANDITORE_WEBHOOK_LOGS", str(SAMPLES))
    text = sync(load_settings()).one_line()
    assert "39333" not in text
    details = query(town / "subscribers.duckdb", "SELECT detail FROM malformed")
    assert all("333" not in d for (d,) in details)


# --- idempotence, order, rebuild --------------------------------------------------------


def test_second_sync_reads_nothing_and_changes_nothing(town):
    write(town / "logs" / "a.jsonl", [message("393330000001", "wamid.1", T0, "MI ISCRIVO")])
    sync(load_settings())
    before = state(town / "subscribers.duckdb")
    again = sync(load_settings())
    assert (again.lines, again.messages, again.welcome) == (0, 0, 0)
    assert state(town / "subscribers.duckdb") == before


def test_grown_file_is_read_from_where_it_stopped(town):
    log = town / "logs" / "a.jsonl"
    write(log, [message("393330000001", "wamid.1", T0, "MI ISCRIVO")])
    assert sync(load_settings()).lines == 1
    # The receiver is halfway through writing the next line.
    second = message("393330000002", "wamid.2", T0 + 5, "MI ISCRIVO")
    write(log, [message("393330000003", "wamid.3", T0 + 9, "MI ISCRIVO")], mode="a")
    with log.open("a") as f:
        f.write(second[:50])
    s = sync(load_settings())
    assert (s.lines, s.messages) == (2, 1)  # the new line, and the partial one (not yet usable)
    # Nothing written since: the partial line is not parsed again.
    assert (sync(load_settings()).lines, sync(load_settings()).files) == (0, 0)
    with log.open("a") as f:
        f.write(second[50:] + "\n")
    s = sync(load_settings())
    assert (s.lines, s.messages) == (1, 1)
    assert s.malformed == {}  # the partial line's record went when it was completed
    assert s.states == {"active": 3}


def test_replaced_file_is_read_again_without_double_counting(town):
    log = town / "logs" / "a.jsonl"
    write(log, [message("393330000001", "wamid.1", T0, "MI ISCRIVO"),
                message("393330000002", "wamid.2", T0, "MI ISCRIVO")])
    sync(load_settings())
    write(log, [message("393330000001", "wamid.1", T0, "MI ISCRIVO")])  # shorter: rotated
    s = sync(load_settings())
    assert (s.lines, s.messages, s.duplicates) == (1, 0, 1)
    assert s.states == {"active": 2}


def test_rebuild_equals_incremental(town, tmp_path, monkeypatch):
    lines = [line for f in sorted(SAMPLES.glob("*.jsonl")) for line in f.read_text().splitlines()]
    log = town / "logs" / "growing.jsonl"
    for start in range(0, len(lines), 37):  # the receiver appends; sync runs in between
        write(log, lines[start:start + 37], mode="a")
        sync(load_settings())
    write(town / "logs" / "late.jsonl", lines[:20])  # Meta retried old POSTs
    sync(load_settings())
    incremental = state(town / "subscribers.duckdb")

    monkeypatch.setenv("BANDITORE_DATABASE", str(tmp_path / "fresh.duckdb"))
    sync(load_settings())
    assert state(tmp_path / "fresh.duckdb") == incremental
    s = sync(load_settings(), rebuild=True)
    assert s.rebuilt and state(tmp_path / "fresh.duckdb") == incremental


EVENTS = [
    message("393330000001", "wamid.a1", T0, "MI ISCRIVO"),
    message("393330000001", "wamid.a2", T0 + 60, "MI CANCELLO"),
    message("393330000001", "wamid.a3", T0 + 120, "mi iscrivo!"),
    message("393330000002", "wamid.b1", T0 + 10, "ISCRIVIMI"),
    message("393330000002", "wamid.b2", T0 + 10, "CANCELLAMI"),  # same second: wamid decides
    message("393330000003", "wamid.c1", T0 + 30, "Vorrei iscrivermi"),
    # topics: a keyword naming one, menu picks (one before, one after subscribing), leaving one
    message("393330000004", "wamid.d0", T0 + 1, kind="interactive",
            extra={"interactive": {"type": "list_reply", "list_reply": {
                "id": "banditore:topic:eventi", "title": "Eventi"}}}),
    message("393330000004", "wamid.d1", T0 + 5, "Mi iscrivo viabilità 🚧"),
    message("393330000004", "wamid.d2", T0 + 50, kind="interactive",
            extra={"interactive": {"type": "list_reply", "list_reply": {
                "id": "banditore:topic:eventi", "title": "Eventi"}}}),
    message("393330000001", "wamid.a4", T0 + 130, "MI CANCELLO EVENTI"),
    # pause and resume, each twice, and a pause before subscribing (changes nothing)
    message("393330000005", "wamid.e0", T0, "PAUSA"),
    message("393330000005", "wamid.e1", T0 + 20, "MI ISCRIVO"),
    message("393330000005", "wamid.e2", T0 + 40, "Pausa"),
    message("393330000005", "wamid.e3", T0 + 40, "pausa!"),
    message("393330000005", "wamid.e4", T0 + 70, "RIPRENDI"),
    message("393330000005", "wamid.e5", T0 + 80, "riprendi"),
    message("393330000005", "wamid.e6", T0 + 90, "PAUSA"),
    status("wamid.out1", "read", T0 + 300),
    status("wamid.out1", "delivered", T0 + 200),
    status("wamid.out1", "sent", T0 + 100),
    status("wamid.out2", "failed", T0 + 150, code=131026),
    status("wamid.out2", "sent", T0 + 100),
]


@hsettings(max_examples=12, deadline=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.permutations(range(len(EVENTS))), st.lists(st.integers(0, len(EVENTS) - 1), max_size=4),
       st.integers(1, 3))
def test_any_order_and_duplication_reaches_the_same_state(town, order, repeats, files):
    db_expected = town / "expected.duckdb"
    if not db_expected.exists():
        write(town / "logs" / "all.jsonl", EVENTS)
        sync(load_settings(database=db_expected))
        (town / "logs" / "all.jsonl").unlink()
    logs = town / "shuffled"
    shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir()
    lines = [EVENTS[i] for i in order] + [EVENTS[i] for i in repeats]
    db = town / "shuffled.duckdb"
    db.unlink(missing_ok=True)
    for n in range(files):  # spread over files, synced one after the other
        write(logs / f"{n}.jsonl", lines[n::files])
        sync(load_settings(database=db, webhook_logs=str(logs)))
    assert state(db) == state(db_expected)


# --- subscriptions ------------------------------------------------------------------


def test_subscription_consent_and_welcome(town):
    write(town / "logs" / "a.jsonl", [message("393330000001", "wamid.1", T0, "“Mi iscrivo” 🙏")])
    settings = load_settings()
    sync(settings)
    db = town / "subscribers.duckdb"
    cid = citizen_id("393330000001")
    assert query(db, "SELECT citizen_id, state FROM subscribers") == [(cid, "active")]
    assert query(db, "SELECT text, keyword, notice_version FROM consents") == [
        ("“Mi iscrivo” 🙏", "MI ISCRIVO", notice_version(settings))]
    assert query(db, "SELECT delivery_id, kind, state FROM deliveries") == [
        ("w:wamid.1", "welcome", "queued")]


def test_leaving_and_coming_back(town):
    write(town / "logs" / "a.jsonl", [
        message("393330000001", "wamid.1", T0, "MI ISCRIVO"),
        message("393330000001", "wamid.2", T0 + 60, "mi cancello"),
        message("393330000001", "wamid.3", T0 + 120, "MI ISCRIVO"),
    ])
    sync(load_settings())
    db = town / "subscribers.duckdb"
    assert query(db, "SELECT to_state FROM subscriber_events ORDER BY ts") == [
        ("active",), ("unsubscribed",), ("active",)]
    # back under the privacy notice of the welcome: "di nuovo iscritto", not the welcome
    assert query(db, "SELECT delivery_id, kind FROM deliveries ORDER BY 1") == [
        ("d:wamid.3", "rejoined"), ("g:wamid.2", "goodbye"), ("w:wamid.1", "welcome")]
    assert query(db, "SELECT count(*) FROM consents") == [(2,)]


def test_chatter_and_near_misses_are_never_answered(town):
    write(town / "logs" / "a.jsonl", [
        message("393330000001", "wamid.1", T0, "Buongiorno, vorrei iscrivermi"),
        message("393330000002", "wamid.2", T0, "Grazie"),
        message("393330000003", "wamid.3", T0, None, kind="reaction",
                extra={"reaction": {"message_id": "wamid.x", "emoji": "👍"}}),
    ])
    s = sync(load_settings())
    assert s.kinds == {"near_miss": 1, "ignored": 2}
    assert s.states == {} and s.welcome == 0


def test_jesi_off_unsubscribes_and_never_subscribes(town, monkeypatch):
    monkeypatch.setenv("BANDITORE_SUBSCRIBE_KEYWORDS", '["JESI ON"]')
    monkeypatch.setenv("BANDITORE_UNSUBSCRIBE_KEYWORDS", '["JESI OFF"]')
    write(town / "logs" / "a.jsonl", [
        message("393330000001", "wamid.1", T0, "JESI ON"),
        message("393330000001", "wamid.2", T0 + 60, "Jesi Off!"),
        message("393330000002", "wamid.3", T0, "JESI OFF"),
    ])
    s = sync(load_settings())
    assert s.states == {"unsubscribed": 1}


def test_button_reply_counts_as_its_text(town):
    write(town / "logs" / "a.jsonl", [message(
        "393330000001", "wamid.1", T0, kind="button",
        extra={"button": {"payload": "sub", "text": "Mi iscrivo"}})])
    assert sync(load_settings()).states == {"active": 1}


def test_changing_keywords_reclassifies_everything(town, monkeypatch):
    write(town / "logs" / "a.jsonl", [message("393330000001", "wamid.1", T0, "JESI ON")])
    assert sync(load_settings()).states == {}
    monkeypatch.setenv("BANDITORE_SUBSCRIBE_KEYWORDS", '["JESI ON"]')
    s = sync(load_settings())
    assert s.rebuilt and s.states == {"active": 1}


# --- business-scoped user ids ---------------------------------------------------------


def test_bsuid_only_message_is_kept_and_linked_when_the_number_appears(town):
    log = town / "logs" / "a.jsonl"
    write(log, [message(None, "wamid.1", T0, "MI ISCRIVO", user_id="IT.777")])
    s = sync(load_settings())
    db = town / "subscribers.duckdb"
    assert s.states == {"active": 1}
    assert query(db, "SELECT wa_id, user_id FROM citizens") == [(None, "IT.777")]
    # Later the same person writes with both ids: one citizen, keyed by the number.
    write(log, [message("393330000009", "wamid.2", T0 + 60, "MI CANCELLO", user_id="IT.777")],
          mode="a")
    s = sync(load_settings())
    assert query(db, "SELECT citizen_id, wa_id, user_id FROM citizens") == [
        (citizen_id("393330000009"), "393330000009", "IT.777")]
    assert s.states == {"unsubscribed": 1}
    assert query(db, "SELECT count(DISTINCT citizen_id) FROM inbound") == [(1,)]


# --- statuses ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        ([("sent", 1), ("delivered", 2), ("read", 3)], "read"),
        ([("read", 3), ("sent", 1), ("delivered", 2)], "read"),
        ([("sent", 1), ("read", 3)], "read"),  # delivered skipped: read implies it
        ([("sent", 1), ("failed", 2)], "failed"),
        ([("failed", 2), ("delivered", 3)], "delivered"),  # a later delivered wins
        ([("delivered", 3), ("failed", 2)], "delivered"),
        ([("delivered", 2), ("failed", 3)], "failed"),  # failed after delivered stays
        ([("read", 2), ("read", 2), ("sent", 1)], "read"),
    ],
)
def test_status_is_the_highest_reached(town, events, expected):
    write(town / "logs" / "a.jsonl",
          [status("wamid.out", s, T0 + t, code=131049 if s == "failed" else None)
           for s, t in events])
    sync(load_settings())
    rows = query(town / "subscribers.duckdb", "SELECT status, callback FROM statuses")
    assert rows == [(expected, "banditore:a:x:c_1")]


def test_status_merge_across_syncs(town):
    log = town / "logs" / "a.jsonl"
    write(log, [status("wamid.out", "failed", T0 + 10, code=131026)])
    sync(load_settings())
    db = town / "subscribers.duckdb"
    assert query(db, "SELECT status, error_code, error_title FROM statuses") == [
        ("failed", 131026, "error 131026")]
    write(log, [status("wamid.out", "sent", T0), status("wamid.out", "read", T0 + 20)], "a")
    sync(load_settings())
    assert query(db, "SELECT status, epoch(sent_at), epoch(read_at) FROM statuses") == [
        ("read", T0, T0 + 20)]


# --- malformed input -------------------------------------------------------------------


def test_malformed_lines_are_counted_and_never_stop_the_sync(town):
    good = message("393330000001", "wamid.1", T0, "MI ISCRIVO")
    log = town / "logs" / "a.jsonl"
    with log.open("wb") as f:
        f.write(b"\n".join([
            good[:60].encode(),  # 1 truncated JSON
            b"GET /webhook HTTP/1.1",  # 2 not JSON
            b"",  # 3 empty
            b'{"hello": "world"}',  # 4 JSON of the wrong shape
            b"[1, 2, 3]",  # 5 wrong shape too
            b'{"entry": [{"changes": [{"value": {"messages": [{"type": "text"}]}}]}]}',  # 6
            b"\xff\xfe not utf-8",  # 7
            good.encode(),  # 8 fine
        ]) + b"\n")
    rotated = "".join(message(f"3933300{n:05d}", f"wamid.z{n}", T0, "MI ISCRIVO") + "\n"
                      for n in range(400))
    data = gzip.compress(rotated.encode())
    (town / "logs" / "b.jsonl.gz").write_bytes(data[: len(data) // 2])  # gzip cut short
    s = sync(load_settings())
    # the lines before the cut are used; the line the cut went through is reported
    assert 1 + 100 < s.states["active"] < 1 + 400
    assert s.malformed == {"truncated": 1, "not_json": 2, "empty": 1, "wrong_shape": 3,
                           "gzip_truncated": 1}
    rows = query(town / "subscribers.duckdb", "SELECT file, line, reason FROM malformed "
                                              "WHERE file LIKE '%a.jsonl' ORDER BY line")
    assert [(line, reason) for _, line, reason in rows] == [
        (1, "truncated"), (2, "not_json"), (3, "empty"), (4, "wrong_shape"),
        (5, "wrong_shape"), (6, "wrong_shape"), (7, "not_json")]
    assert "malformed" in " ".join(s.lines_text()) or "illeggibili" in " ".join(s.lines_text())


def test_gzip_logs_are_read(town):
    lines = [message("393330000001", "wamid.1", T0, "MI ISCRIVO"),
             message("393330000002", "wamid.2", T0, "ISCRIVIMI")]
    (town / "logs" / "old.jsonl.gz").write_bytes(gzip.compress("\n".join(lines).encode()))
    s = sync(load_settings())
    assert (s.lines, s.states, s.malformed) == (2, {"active": 2}, {})


def test_glob_setting(town, monkeypatch):
    write(town / "logs" / "a.jsonl", [message("393330000001", "wamid.1", T0, "MI ISCRIVO")])
    write(town / "logs" / "b.jsonl", [message("393330000002", "wamid.2", T0, "MI ISCRIVO")])
    monkeypatch.setenv("BANDITORE_WEBHOOK_LOGS", str(town / "logs" / "a*.jsonl"))
    assert sync(load_settings()).states == {"active": 1}


def test_missing_logs_say_where_they_were_looked_for(town, monkeypatch):
    monkeypatch.setenv("BANDITORE_WEBHOOK_LOGS", str(town / "nowhere"))
    s = sync(load_settings())
    assert s.no_logs and str(town / "nowhere") in s.lines_text()[0]


def test_rebuild_keeps_the_send_engines_records(town, monkeypatch):
    write(town / "logs" / "a.jsonl", [message("393330000001", "wamid.1", T0, "MI ISCRIVO")])
    sync(load_settings())
    # A send run that morning: the welcome goes, an announcement is planned for the citizen.
    monkeypatch.setenv("BANDITORE_NOW", "2024-03-21T10:00:00+01:00")
    write_announcement(town / "announcements", "2024-03-21-x",
                       publish_at="2024-03-21T09:00:00+01:00")
    run(load_settings())
    s = sync(load_settings(), rebuild=True)
    assert s.rebuilt and s.states == {"active": 1}
    db = town / "subscribers.duckdb"
    assert query(db, "SELECT delivery_id FROM deliveries ORDER BY 1") == [
        (f"a:2024-03-21-x:{citizen_id('393330000001')}",), ("w:wamid.1",)]
    # the emptied tables kept their keys
    assert query(db, "SELECT count(*) FROM duckdb_constraints() WHERE table_name = 'inbound' "
                     "AND constraint_type = 'PRIMARY KEY'") == [(1,)]


def test_concatenated_gzip_members_and_crlf_lines(town):
    first = message("393330000001", "wamid.1", T0, "MI ISCRIVO") + "\r\n"
    second = message("393330000002", "wamid.2", T0, "MI ISCRIVO") + "\r\n"
    # logrotate's copytruncate + gzip, or `cat a.gz b.gz`: one file, two gzip members
    (town / "logs" / "x.jsonl.gz").write_bytes(gzip.compress(first.encode())
                                               + gzip.compress(second.encode()))
    s = sync(load_settings())
    assert (s.lines, s.states, s.malformed) == (2, {"active": 2}, {})
