"""The webhook receiver over real HTTP on 127.0.0.1, writing real files.

The server runs in a thread for most tests, and as the real
``python -m runner webhook serve`` subprocess where the process itself matters
(start-up errors, SIGKILL during load).
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest

from runner.errors import ConfigError
from runner.webhook.app import MAX_BODY, RESERIALISED_KEY, create_app, log_line, sign
from runner.webhook.logwriter import LogWriter, logs_folder
from tests.support.receiver import (
    SECRET,
    TOKEN,
    log_lines,
    meta_body,
    post,
    raw_http,
    request,
    wamid,
)

ROOT = Path(__file__).resolve().parents[2]


# --- Meta's verification handshake ------------------------------------------------


def test_handshake_echoes_the_challenge(receiver):
    url, _ = receiver
    query = urlencode({"hub.mode": "subscribe", "hub.verify_token": TOKEN,
                       "hub.challenge": "1158201444"})
    assert request(url, path="/webhook?" + query) == (200, b"1158201444")


@pytest.mark.parametrize("params", [
    {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
    {"hub.mode": "subscribe", "hub.verify_token": TOKEN[:-1], "hub.challenge": "1"},
    {"hub.mode": "unsubscribe", "hub.verify_token": TOKEN, "hub.challenge": "1"},
    {"hub.mode": "subscribe", "hub.verify_token": TOKEN},
    {"hub.mode": "subscribe", "hub.challenge": "1"},
    {},
])
def test_handshake_forbidden(receiver, params):
    url, logs = receiver
    status, body = request(url, path="/?" + urlencode(params))
    assert status == 403
    assert b"1" not in body


# --- signed POSTs -------------------------------------------------------------------


def test_signed_body_is_stored_byte_for_byte(receiver):
    url, logs = receiver
    body = meta_body(1, "Servizio Info ON Paolo Rossi è qui \u2028")
    assert post(url, body) == (200, b"OK")
    files = list(logs.glob("*.jsonl"))
    assert [f.name for f in files] == [f"{datetime.now(UTC):%Y-%m-%d}.jsonl"]
    assert files[0].read_bytes() == body + b"\n"
    # The stored bytes still verify against the header Meta sent.
    assert sign(files[0].read_bytes()[:-1], SECRET) == sign(body, SECRET)
    assert oct(files[0].stat().st_mode & 0o777) == "0o600"


def test_raw_utf8_body_kept_raw(receiver):
    url, logs = receiver
    body = '{"object":"whatsapp_business_account","entry":[],"x":"città"}'.encode()
    assert post(url, body)[0] == 200
    assert log_lines(logs) == [body]


@pytest.mark.parametrize("signature", [
    None,
    "",
    "sha256=",
    "sha256=" + "0" * 64,
    "sha1=" + "0" * 40,
    sign(b"another body", SECRET),
    "signed with another secret",
    "sha256=not hex at all \u00e9",
])
def test_bad_or_missing_signature_is_401_and_writes_nothing(receiver, signature):
    url, logs = receiver
    body = meta_body(2)
    if signature == "signed with another secret":
        signature = sign(body, "another-secret")
    status, _ = post(url, body, signature=signature)
    assert status == 401
    assert not list(logs.glob("*.jsonl"))


@pytest.mark.parametrize("body", [
    b"", b"not json", b'{"object": "whatsapp_business_account"', b"\xff\xfe{}",
    b'{"value": NaN}', b"[1, 2,]",
])
def test_invalid_json_is_400_and_writes_nothing(receiver, body):
    url, logs = receiver
    assert post(url, body)[0] == 400
    assert not list(logs.glob("*.jsonl"))


def test_body_over_3_mb_is_413_without_reading_it(receiver):
    url, logs = receiver
    # Only the header announces the size: the receiver must answer before the body.
    head = (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"X-Hub-Signature-256: " + sign(b"{}", SECRET).encode() + b"\r\n"
            b"Content-Length: " + str(MAX_BODY + 1).encode() + b"\r\n\r\n")
    answer = raw_http(url, head, b"{}")
    assert answer.startswith(b"HTTP/1.0 413")
    assert not list(logs.glob("*.jsonl"))


def test_body_of_exactly_3_mb_is_accepted(receiver):
    url, logs = receiver
    prefix, suffix = b'{"object":"whatsapp_business_account","pad":"', b'"}'
    body = prefix + b"x" * (MAX_BODY - len(prefix) - len(suffix)) + suffix
    assert len(body) == MAX_BODY
    assert post(url, body)[0] == 200
    assert log_lines(logs) == [body]


def test_expect_100_continue(receiver):
    url, logs = receiver
    body = meta_body(9)
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                     b"X-Hub-Signature-256: " + sign(body, SECRET).encode() + b"\r\n"
                     b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 100 Continue")
        sock.sendall(body)
        answer = b"".join(iter(lambda: sock.recv(65536), b""))
    assert b" 200 OK" in answer
    assert log_lines(logs) == [body]
    # Too large: the final answer comes at once, without inviting the body.
    big = raw_http(url, b"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                   b"Content-Length: " + str(MAX_BODY + 1).encode() + b"\r\n\r\n")
    assert big.startswith(b"HTTP/1.0 413")


def test_missing_content_length_is_411(receiver):
    url, logs = receiver
    answer = raw_http(url, b"POST / HTTP/1.0\r\nX-Hub-Signature-256: "
                      + sign(b"{}", SECRET).encode() + b"\r\n\r\n", b"{}")
    assert answer.startswith(b"HTTP/1.0 411")
    assert not list(logs.glob("*.jsonl"))


def test_other_methods_are_405(receiver):
    url, _ = receiver
    assert request(url, "PUT", body=b"{}")[0] == 405


def test_multi_line_body_becomes_one_marked_line(receiver):
    url, logs = receiver
    pretty = json.dumps(json.loads(meta_body(3, "città")), indent=2).encode()
    assert b"\n" in pretty
    assert post(url, pretty)[0] == 200
    [line] = log_lines(logs)
    record = json.loads(line)
    assert record.pop(RESERIALISED_KEY) is True
    assert record == json.loads(pretty)
    assert wamid(line) == "wamid.test3"
    assert line.isascii()


def test_multi_line_non_object_is_wrapped(receiver):
    url, logs = receiver
    assert post(url, b"[1,\r\n2]")[0] == 200
    assert [json.loads(x) for x in log_lines(logs)] == [{"body": [1, 2], RESERIALISED_KEY: True}]


def test_a_failed_write_is_not_acknowledged(receiver):
    url, logs = receiver
    logs.rmdir()
    logs.write_text("a file where the folder should be")
    assert post(url, meta_body(4))[0] == 503


def test_access_log_holds_no_token_body_or_number(receiver, caplog):
    url, _ = receiver
    caplog.set_level(logging.INFO, logger="banditore.webhook")
    query = urlencode({"hub.mode": "subscribe", "hub.verify_token": TOKEN, "hub.challenge": "7"})
    request(url, path="/?" + query)
    request(url, path="/?" + urlencode({"hub.mode": "subscribe", "hub.verify_token": TOKEN + "x",
                                         "hub.challenge": "7"}))
    post(url, meta_body(5))
    post(url, meta_body(6), signature=None)
    post(url, b"not json")
    raw_http(url, b"GET /?hub.verify_token=" + TOKEN.encode() + b" BROKEN REQUEST LINE\r\n\r\n")
    text = caplog.text
    assert "GET / 200" in text and "POST / 200" in text and "POST / 401" in text
    for secret in (TOKEN, SECRET, "393330000005", "393330000006", "MI ISCRIVO", "hub."):
        assert secret not in text


# --- configuration -------------------------------------------------------------


@pytest.mark.parametrize("missing", ["BANDITORE_WHATSAPP_APP_SECRET",
                                     "BANDITORE_WHATSAPP_VERIFY_TOKEN"])
@pytest.mark.parametrize("how", ["unset", "empty"])
def test_refuses_to_start_without_secrets(env, monkeypatch, missing, how):
    if how == "unset":
        monkeypatch.delenv(missing)
    else:
        monkeypatch.setenv(missing, "")
    with pytest.raises(ConfigError, match=missing):
        create_app()


def test_refuses_a_logs_folder_it_cannot_write(env, tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("BANDITORE_WEBHOOK_LOGS", str(blocker / "logs"))
    with pytest.raises(ConfigError, match="not-a-folder"):
        create_app()


def test_cli_without_secrets_exits_2_with_a_clear_message(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("BANDITORE_")}
    done = subprocess.run([sys.executable, "-m", "runner", "webhook", "serve", "--port", "0"],
                          cwd=tmp_path, env={**env, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert "BANDITORE_WHATSAPP_APP_SECRET" in done.stderr
    assert "BANDITORE_WHATSAPP_VERIFY_TOKEN" in done.stderr


@pytest.mark.parametrize("setting, folder", [
    ("webhook-logs", "webhook-logs"),
    ("/srv/logs/*.jsonl*", "/srv/logs"),
    ("/srv/logs/**/*.jsonl", "/srv/logs"),
    ("logs/2024-*/x.jsonl", "logs"),
    ("*.jsonl", "."),
])
def test_logs_folder_from_the_setting(setting, folder):
    assert logs_folder(setting) == Path(folder)


# --- the journal -----------------------------------------------------------------


def test_journal_uses_the_utc_day(tmp_path):
    moments = iter([datetime(2024, 3, 31, 23, 59, 59, tzinfo=UTC),
                    datetime(2024, 4, 1, 1, 30, tzinfo=UTC) + timedelta(hours=-1),
                    # 01:30 in Rome on 1 April is still 31 March in UTC.
                    datetime.fromisoformat("2024-04-01T01:30:00+02:00")])
    journal = LogWriter(tmp_path, clock=lambda: next(moments))
    for n in range(3):
        journal.append(b'{"n":%d}\n' % n)
    assert (tmp_path / "2024-03-31.jsonl").read_bytes() == b'{"n":0}\n{"n":2}\n'
    assert (tmp_path / "2024-04-01.jsonl").read_bytes() == b'{"n":1}\n'


@pytest.mark.parametrize("line", [b"{}", b"{}\n{}\n", b"{\r}\n"])
def test_journal_takes_exactly_one_line(tmp_path, line):
    with pytest.raises(ValueError):
        LogWriter(tmp_path).append(line)


def test_journal_terminates_a_fragment_left_by_a_killed_writer(tmp_path):
    moment = datetime(2024, 4, 2, tzinfo=UTC)
    (tmp_path / "2024-04-02.jsonl").write_bytes(b'{"ok":1}\n{"torn":')
    LogWriter(tmp_path, clock=lambda: moment).append(b'{"ok":2}\n')
    assert (tmp_path / "2024-04-02.jsonl").read_bytes() == b'{"ok":1}\n{"torn":\n{"ok":2}\n'


# --- load -----------------------------------------------------------------------


def test_2000_concurrent_signed_posts_give_2000_intact_lines(receiver):
    url, logs = receiver
    # Some bodies span several pages, so a torn or interleaved write would show.
    bodies = {i: meta_body(i, pad=(i % 7) * 1500) for i in range(2000)}

    def send(i):
        return post(url, bodies[i])[0]

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(send, bodies))
    assert statuses == [200] * 2000
    lines = log_lines(logs)
    assert len(lines) == 2000
    assert sorted(lines) == sorted(bodies.values())


def start_receiver_process(logs: Path, cwd: Path) -> tuple[subprocess.Popen, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BANDITORE_")}
    env.update(PYTHONPATH=str(ROOT), BANDITORE_WHATSAPP_APP_SECRET=SECRET,
               BANDITORE_WHATSAPP_VERIFY_TOKEN=TOKEN, BANDITORE_WEBHOOK_LOGS=str(logs))
    proc = subprocess.Popen(
        [sys.executable, "-m", "runner", "webhook", "serve", "--host", "127.0.0.1",
         "--port", "0"], cwd=cwd, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True)
    ready = proc.stdout.readline()
    match = re.search(r"http://\S+/", ready)
    assert match, f"no address in {ready!r}"
    return proc, match.group(0)


def stop(proc: subprocess.Popen, sig: int) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
    proc.wait(10)
    proc.stdout.close()


def test_sigkill_during_load_keeps_every_acknowledged_line(tmp_path):
    logs = tmp_path / "logs"
    proc, url = start_receiver_process(logs, tmp_path)
    acknowledged: list[int] = []
    lock = threading.Lock()
    enough = threading.Event()
    counter = iter(range(10**6))

    def client():
        while True:
            with lock:
                i = next(counter)
            try:
                status, _ = post(url, meta_body(i, pad=(i % 5) * 2000))
            except (OSError, http.client.HTTPException):
                return  # the receiver is gone
            if status == 200:
                with lock:
                    acknowledged.append(i)
                    if len(acknowledged) >= 400:
                        enough.set()

    threads = [threading.Thread(target=client) for _ in range(8)]
    for thread in threads:
        thread.start()
    try:
        assert enough.wait(60), "the receiver did not take the load"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        stop(proc, signal.SIGKILL)
        for thread in threads:
            thread.join(30)
    assert len(acknowledged) >= 400

    lines = log_lines(logs)
    intact = {}
    for n, line in enumerate(lines):
        try:
            intact[wamid(line)] = line
        except ValueError:
            assert n == len(lines) - 1, "only the line being written at the kill may be torn"
    assert {f"wamid.test{i}" for i in acknowledged} <= intact.keys()

    # A restarted receiver appends after whatever the kill left, never onto it.
    proc, url = start_receiver_process(logs, tmp_path)
    try:
        assert post(url, meta_body(10**6))[0] == 200
    finally:
        stop(proc, signal.SIGTERM)
    after = log_lines(logs)
    assert wamid(after[-1]) == f"wamid.test{10**6}"
    assert after[:len(lines)] == lines


def test_group_commit_shares_one_fsync_among_waiting_lines(tmp_path):
    calls = []

    def slow_fsync(fd):
        os.fsync(fd)
        calls.append(fd)
        if len(calls) == 1:
            threading.Event().wait(0.3)  # a slow disk: the others queue meanwhile

    journal = LogWriter(tmp_path, fsync=slow_fsync)
    start = threading.Barrier(20)

    def append(n):
        start.wait()
        journal.append(b'{"n":%d}\n' % n)

    with ThreadPoolExecutor(max_workers=20) as pool:
        list(pool.map(append, range(20)))
    lines = log_lines(tmp_path)
    assert sorted(lines) == sorted(b'{"n":%d}' % n for n in range(20))
    assert len(calls) <= 3, f"{len(calls)} fsyncs for 20 lines: no group commit"


def test_signature_hex_in_upper_case_is_accepted(receiver):
    url, logs = receiver
    body = meta_body(7)
    assert post(url, body, signature="sha256=" + sign(body, SECRET)[7:].upper())[0] == 200
    assert log_lines(logs) == [body]


def test_health_check_for_monitoring(receiver):
    url, logs = receiver
    assert request(url, path="/healthz") == (200, b"OK")
    assert request(url, path="/webhook/healthz") == (200, b"OK")
    logs.rmdir()
    logs.write_text("not a folder")
    assert request(url, path="/healthz")[0] == 503


def test_sigterm_stops_the_receiver_cleanly(tmp_path):
    proc, url = start_receiver_process(tmp_path / "logs", tmp_path)
    assert post(url, meta_body(8))[0] == 200
    stop(proc, signal.SIGTERM)
    assert proc.returncode == 0


def test_sync_reads_what_the_receiver_writes(tmp_path, monkeypatch):
    """The contract with runner.subscribers.sync: raw lines, re-serialised lines and
    a fragment left by a killed writer give the same subscribers."""
    sync = pytest.importorskip("runner.subscribers.sync")
    import duckdb

    from runner.config import load_settings

    monkeypatch.chdir(tmp_path)
    day = datetime(2024, 4, 1, 9, tzinfo=UTC)
    bodies = [meta_body(i, "MI ISCRIVO") for i in range(5)]
    results = {}
    for form in ("raw", "marked"):
        folder = tmp_path / form
        journal = LogWriter(folder, clock=lambda: day)
        for body in bodies[:4]:
            journal.append(log_line(body if form == "raw" else
                                        json.dumps(json.loads(body), indent=2).encode()))
        if form == "marked":
            with open(journal.path_for(day), "ab") as f:
                f.write(bodies[4][:100])  # a writer killed mid-line
        journal.append(log_line(bodies[4]))
        settings = load_settings(database=tmp_path / f"{form}.duckdb", webhook_logs=str(folder))
        sync.sync(settings)
        with duckdb.connect(str(settings.database), read_only=True) as con:
            results[form] = (
                con.execute("SELECT count(*) FROM subscribers WHERE state = 'active'").fetchone(),
                con.execute("SELECT count(*) FROM malformed").fetchone()[0])
    assert results["raw"] == ((5,), 0)
    assert results["marked"] == ((5,), 1)


def test_the_guide_names_a_factory_that_exists(env):
    guide = (ROOT / "docs" / "town-setup.md").read_text(encoding="utf-8")
    factories = set(re.findall(r"'(runner\.\w+):(\w+)\(\)'", guide))
    assert factories == {("runner.webhook", "create_app")}
    import importlib

    for module, name in factories:
        app = getattr(importlib.import_module(module), name)()
        assert callable(app)
