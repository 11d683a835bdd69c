"""The receiver asks GitHub for a send run: real HTTP on loopback, from signed
webhooks to the fake GitHub (tests/support/github/).

Where time matters the dispatcher runs on a fake clock that the test moves
(a burst of 100 keywords "in 10 s", the window, a day of silence); waits on real
time are only generous deadlines for something that happens at once.
"""

from __future__ import annotations

import fcntl
import http.client
import json
import logging
import os
import re
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from runner.errors import ConfigError
from runner.webhook.app import WebhookApp, create_app, sign
from runner.webhook.coalesce import (
    MAX_BACKOFF,
    STATE_FILE,
    Ledger,
    SharedLedger,
    decide,
    settle,
)
from runner.webhook.dispatch import Dispatcher, carries_message
from runner.webhook.github import GitHubActions
from runner.webhook.logwriter import LogWriter
from runner.webhook.server import make_server
from tests.support.github import REPOSITORY, TOKEN, FakeGitHub
from tests.support.webhooks import message

SECRET = "app-secret-for-dispatch-tests"
VERIFY = "verify-token-for-dispatch-tests"
ROOT = Path(__file__).resolve().parents[2]
START = 1_800_000_000.0  # the fake clock's start (wall time, seconds)


def keyword(i: int, text: str = "MI ISCRIVO") -> bytes:
    """A citizen's message as Meta sends it, with an invented number."""
    return message(f"3933300{i % 100000:05d}", f"wamid.kw{i}", 1711960000, text).encode()


def status(i: int) -> bytes:
    """A delivery status: nobody waits for an answer to it."""
    return json.dumps({"object": "whatsapp_business_account", "entry": [{
        "id": "111", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "390000000000", "phone_number_id": "999"},
            "statuses": [{"id": f"wamid.st{i}", "status": "delivered",
                          "timestamp": "1711960000", "recipient_id": f"3933300{i:05d}"}]}}]}]},
        separators=(",", ":")).encode()


def post(url: str, body: bytes) -> int:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request("POST", "/", body=body, headers={
            "Content-Type": "application/json", "X-Hub-Signature-256": sign(body, SECRET)})
        return conn.getresponse().status
    finally:
        conn.close()


def lines(folder: Path) -> int:
    return sum(f.read_bytes().count(b"\n") for f in folder.glob("*.jsonl"))


class FakeClock:
    """Wall time that only moves when told; moving it wakes the dispatcher."""

    def __init__(self):
        self.now = START
        self.dispatcher: Dispatcher | None = None

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
        if self.dispatcher:
            self.dispatcher.nudge()


@pytest.fixture
def served(tmp_path, github):
    """The receiver (built-in server, in a thread) with a dispatcher on a fake
    clock: yields (url, dispatcher, clock, logs folder)."""
    logs = tmp_path / "webhook-logs"
    logs.mkdir()
    clock = FakeClock()
    slept: list[float] = []
    dispatcher = Dispatcher(GitHubActions(github.base, REPOSITORY, TOKEN, timeout=1.0),
                            SharedLedger(logs), clock=clock, sleep=slept.append,
                            attempt_seconds=1.0)
    dispatcher.slept = slept
    clock.dispatcher = dispatcher
    app = WebhookApp(SECRET.encode(), VERIFY.encode(), LogWriter(logs), dispatcher)
    dispatcher.start()
    server = make_server(app, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", dispatcher, clock, logs
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def ledger(logs: Path) -> dict:
    """The ledger file's content, read under its lock as the dispatchers do."""
    with open(logs / STATE_FILE, "rb") as f:
        fcntl.flock(f, fcntl.LOCK_SH)
        return json.loads(f.read())


# How long a test waits for a dispatch that must come: generous, since the suite shares
# a loaded machine; it returns as soon as the dispatch is there. The "within 5 s"
# target is measured by bench/dispatch.py, not asserted here.
PATIENCE = 60.0


def settled(seconds: float = 0.5) -> None:
    """Give anything that should not happen the time to happen anyway."""
    time.sleep(seconds)


# --- the Done-when lines, on loopback ----------------------------------------------


def receiver_process(logs: Path, github: FakeGitHub) -> tuple[subprocess.Popen, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BANDITORE_")}
    env.update(PYTHONPATH=str(ROOT), BANDITORE_WHATSAPP_APP_SECRET=SECRET,
               BANDITORE_WHATSAPP_VERIFY_TOKEN=VERIFY, BANDITORE_WEBHOOK_LOGS=str(logs),
               BANDITORE_GITHUB_REPOSITORY=REPOSITORY, BANDITORE_GITHUB_DISPATCH_TOKEN=TOKEN,
               BANDITORE_GITHUB_API_BASE=github.base)
    proc = subprocess.Popen([sys.executable, "-m", "runner", "webhook", "serve", "--port", "0"],
                            cwd=logs.parent, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    url = re.search(r"http://[\d.]+:\d+/", proc.stdout.readline())
    assert url, proc.stderr.read()
    return proc, url.group(0)


def test_a_signed_keyword_starts_exactly_one_dispatch(tmp_path, github):
    """The real `webhook serve`, configured from the environment as documented."""
    logs = tmp_path / "webhook-logs"
    proc, url = receiver_process(logs, github)
    try:
        assert post(url, keyword(1)) == 200
        dispatches = github.wait_for(1, seconds=PATIENCE)
        settled()
        assert len(github.dispatches()) == 1
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=15)
    assert dispatches[0].body == {"ref": "main"}
    assert github.kinds() == ["state", "repo", "dispatch"]
    assert lines(logs) == 1
    assert "dispatched send.yml on main (1 new message(s))" in err
    assert "39333" not in err and TOKEN not in err


def test_100_keywords_in_10_s_start_at_most_3_one_after_the_last(served, github):
    url, dispatcher, clock, logs = served
    for i in range(100):
        assert post(url, keyword(i)) == 200
        clock.advance(0.1)  # 100 keywords in 10 s
        if i == 0:  # the first is answered at once, whatever follows
            assert len(github.wait_for(1, seconds=PATIENCE)) == 1
    last_keyword = time.monotonic()
    settled()
    assert len(github.dispatches()) == 1  # the window holds the rest
    clock.advance(60)  # the window ends: one more, for everything since
    after = github.wait_for(2, seconds=PATIENCE)
    clock.advance(3600)  # then nothing is waiting: nothing more
    settled()
    assert 2 <= len(github.dispatches()) <= 3
    assert after[-1].at > last_keyword
    assert ledger(logs)["seen"] == 100 and ledger(logs)["covered"] == 100


def test_a_status_webhook_starts_none(served, github):
    url, dispatcher, clock, logs = served
    for i in range(20):
        assert post(url, status(i)) == 200
    errors = {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [
        {"field": "messages", "value": {"errors": [{"code": 130429}]}}]}]}
    assert post(url, json.dumps(errors).encode()) == 200
    clock.advance(120)
    settled()
    assert github.dispatches() == []
    # The same receiver does dispatch for a message: the statuses were not counted.
    assert post(url, keyword(1)) == 200
    assert len(github.wait_for(1, seconds=PATIENCE)) == 1
    assert ledger(logs)["seen"] == 1
    assert lines(logs) == 22


def test_a_workflow_disabled_for_inactivity_is_enabled_before_the_dispatch(served, github):
    url, dispatcher, clock, logs = served
    github.workflows["send.yml"] = "disabled_inactivity"
    assert post(url, keyword(1)) == 200
    assert len(github.wait_for(1, seconds=PATIENCE)) == 1
    kinds = github.kinds()
    assert kinds.index("state") < kinds.index("enable") < kinds.index("dispatch")
    assert github.workflows["send.yml"] == "active"


def test_a_workflow_disabled_by_hand_is_left_alone(served, github, caplog):
    url, dispatcher, clock, logs = served
    github.workflows["send.yml"] = "disabled_manually"
    with caplog.at_level(logging.INFO, logger="banditore.webhook.dispatch"):
        assert post(url, keyword(1)) == 200
        deadline = time.monotonic() + 5
        while "disabled_manually" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.01)
    assert "is disabled_manually" in caplog.text
    assert "enable" not in github.kinds() and github.dispatches() == []
    assert ledger(logs)["covered"] == 0  # still due: the next look tries again


def test_the_daily_heartbeat_enables_and_dispatches_when_nobody_writes(served, github):
    url, dispatcher, clock, logs = served
    github.workflows["send.yml"] = "disabled_inactivity"
    clock.advance(23 * 3600)
    settled()
    assert github.kinds() == []
    clock.advance(3600)
    assert len(github.wait_for(1, seconds=PATIENCE)) == 1
    kinds = github.kinds()
    assert kinds.index("state") < kinds.index("enable") < kinds.index("dispatch")
    clock.advance(3600)  # the next one is a day after this one
    settled()
    assert len(github.dispatches()) == 1


def test_a_github_outage_loses_no_webhook_line(served, github, caplog):
    """GitHub hangs: every webhook is answered and written while it still hangs;
    once GitHub is back, the dispatch that was due is made."""
    url, dispatcher, clock, logs = served
    github.set_outage("hang")
    with caplog.at_level(logging.INFO, logger="banditore.webhook.dispatch"):
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda i: post(url, keyword(i)), range(50)))
        assert github.outage == "hang", "answered while GitHub was still hanging"
        assert answers == [200] * 50 and lines(logs) == 50
        deadline = time.monotonic() + 10
        while ledger(logs)["failures"] == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert ledger(logs)["failures"] >= 1 and github.dispatches() == []
        github.set_outage(None)
        clock.advance(MAX_BACKOFF)
        assert len(github.wait_for(1, seconds=PATIENCE)) == 1
    assert ledger(logs)["covered"] == ledger(logs)["seen"] == 50
    assert "39333" not in caplog.text and TOKEN not in caplog.text


def test_failed_calls_are_retried_with_exponential_backoff(served, github):
    url, dispatcher, clock, logs = served
    github.fail_next = 3
    assert post(url, keyword(1)) == 200
    assert len(github.wait_for(1, seconds=PATIENCE)) == 1
    assert dispatcher.slept == [1, 2, 4]


def test_workers_sharing_the_logs_folder_coalesce_together(tmp_path, github):
    """Two dispatchers (two gunicorn workers) on one ledger: one dispatch for both."""
    logs = tmp_path / "webhook-logs"
    logs.mkdir()
    clock = FakeClock()
    workers = [Dispatcher(GitHubActions(github.base, REPOSITORY, TOKEN), SharedLedger(logs),
                          clock=clock) for _ in range(2)]
    for _ in range(20):
        for worker in workers:
            worker.poke()
    assert len(github.wait_for(1, seconds=PATIENCE)) == 1
    for worker in workers:
        worker.nudge()
    settled()
    assert len(github.dispatches()) == 1
    clock.advance(60)
    for worker in workers:
        worker.nudge()
    github.wait_for(2, seconds=PATIENCE)
    settled()
    assert len(github.dispatches()) == 2
    assert ledger(logs)["covered"] == ledger(logs)["seen"] == 40


def test_the_documented_gunicorn_deployment_coalesces_across_its_workers(tmp_path, github):
    """gunicorn, gevent, two workers: 100 keywords at once start one dispatch (the
    next may come only when the window ends, a minute later)."""
    pytest.importorskip("gevent", reason="the receiver extra is not installed")
    from tests.support.slow_clients import start_gunicorn, stop

    logs = tmp_path / "webhook-logs"
    logs.mkdir()
    proc, url = start_gunicorn(logs, SECRET, VERIFY, env={
        "BANDITORE_GITHUB_REPOSITORY": REPOSITORY, "BANDITORE_GITHUB_DISPATCH_TOKEN": TOKEN,
        "BANDITORE_GITHUB_API_BASE": github.base})
    try:
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda i: post(url, keyword(i)), range(100)))
        assert answers == [200] * 100
        assert len(github.wait_for(1, seconds=PATIENCE)) == 1
        deadline = time.monotonic() + 5  # every worker has recorded what it saw
        while ledger(logs)["seen"] < 100 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ledger(logs)["seen"] == 100
        assert len(github.dispatches()) == 1
    finally:
        stop(proc)
    assert lines(logs) == 100


# --- configuration -----------------------------------------------------------------


@pytest.fixture
def receiver_env(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BANDITORE_WHATSAPP_APP_SECRET", SECRET)
    monkeypatch.setenv("BANDITORE_WHATSAPP_VERIFY_TOKEN", VERIFY)
    monkeypatch.setenv("BANDITORE_WEBHOOK_LOGS", str(tmp_path / "webhook-logs"))
    return monkeypatch


@pytest.mark.parametrize("given, missing", [
    ({"BANDITORE_GITHUB_REPOSITORY": REPOSITORY}, "BANDITORE_GITHUB_DISPATCH_TOKEN"),
    ({"BANDITORE_GITHUB_DISPATCH_TOKEN": TOKEN}, "BANDITORE_GITHUB_REPOSITORY"),
])
def test_half_a_dispatch_configuration_is_refused(receiver_env, given, missing):
    for name, value in given.items():
        receiver_env.setenv(name, value)
    with pytest.raises(ConfigError, match=missing):
        create_app()


def test_without_dispatch_settings_the_receiver_relies_on_the_schedule(receiver_env):
    assert create_app().dispatcher is None


@pytest.mark.parametrize("body, expected", [
    (keyword(1), True),
    (status(1), False),
    (b'{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages",'
     b'"value":{"messages":[]}}]}]}', False),
    (b'{"entry":[{"changes":[{"field":"message_template_status_update",'
     b'"value":{"messages":[{"id":"x"}]}}]}]}', False),
    (b'{"entry":"nonsense"}', False),
    (b'[1, 2]', False),
])
def test_only_a_citizens_message_asks_for_a_run(body, expected):
    assert carries_message(json.loads(body)) is expected


# --- the rule, on a virtual clock ----------------------------------------------------


def test_the_rule_100_keywords_in_10_s():
    ledger, claims = Ledger(succeeded_at=START), []
    for i in range(100):
        now = START + i * 0.1
        ledger.seen += 1
        claim, _ = decide(ledger, now)
        if claim:
            claims.append(now)
            settle(ledger, claim, True, now)
    now = START + 10
    while now < START + 600:
        claim, due = decide(ledger, now)
        if claim:
            claims.append(now)
            settle(ledger, claim, True, now)
        now = max(due, now + 1)
    assert claims == [START, START + 60]


def test_the_rule_backs_off_after_failures_up_to_15_minutes():
    ledger = Ledger(seen=1, succeeded_at=START)
    waits, now = [], START
    for _ in range(8):
        claim, _ = decide(ledger, now)
        assert claim is not None
        settle(ledger, claim, False, now)
        waits.append(ledger.retry_at - now)
        assert decide(ledger, ledger.retry_at - 1)[0] is None
        now = ledger.retry_at
    assert waits == [60, 120, 240, 480, 900, 900, 900, 900]
    settle(ledger, decide(ledger, now)[0], True, now)
    assert ledger.failures == 0 and ledger.covered == 1


def test_the_rule_heartbeat_and_a_clock_that_goes_back():
    ledger = Ledger(succeeded_at=START)
    assert decide(ledger, START + 86399)[0] is None
    claim, _ = decide(ledger, START + 86400)
    assert claim is not None and claim.heartbeat
    ledger = Ledger(seen=1, claimed_at=START + 3600, succeeded_at=START)
    assert decide(ledger, START)[0] is not None  # not an hour's wait for a past claim


def test_a_damaged_ledger_starts_afresh(tmp_path):
    (tmp_path / STATE_FILE).write_text("{not json")
    with SharedLedger(tmp_path).locked(START) as fresh:
        assert fresh == Ledger(succeeded_at=START)
        fresh.seen = 3
    assert ledger(tmp_path)["seen"] == 3


def test_a_new_ledger_is_private_and_waits_a_day_for_its_first_heartbeat(tmp_path):
    with SharedLedger(tmp_path).locked(START) as new:
        assert new == Ledger(succeeded_at=START)
    assert oct((tmp_path / STATE_FILE).stat().st_mode & 0o777) == "0o600"
