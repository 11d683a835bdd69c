"""The receiver under real-world conditions: a full disk, framing that HTTP
parsers read differently, JSON nested past Python's parser. Real HTTP on
loopback, real failed writes."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from runner.webhook import logwriter
from runner.webhook.app import create_app
from runner.webhook.logwriter import LogWriter
from runner.webhook.server import make_server
from tests.support.receiver import (
    MISFRAMED,
    SECRET,
    TOKEN,
    log_lines,
    meta_body,
    post,
    post_framed,
    request,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def served(env):
    """The receiver in a thread, with its app at hand: (url, app, logs folder)."""
    app = create_app()
    server = make_server(app, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", app, env
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_a_signed_body_nested_50000_deep_is_400_and_writes_nothing(receiver):
    url, logs = receiver
    for body in (b"[" * 50_000 + b"]" * 50_000, b'{"a":' * 50_000 + b"1" + b"}" * 50_000):
        assert post(url, body)[0] == 400
    assert post(url, meta_body(1))[0] == 200  # and the receiver is fine after it
    assert len(log_lines(logs)) == 1


@pytest.mark.parametrize("lines", MISFRAMED.values(), ids=MISFRAMED.keys())
def test_content_length_that_is_not_one_plain_number_is_400(receiver, lines):
    url, logs = receiver
    assert re.match(rb"HTTP/1\.[01] 400", post_framed(url, lines))
    assert not list(logs.glob("*.jsonl"))


def test_content_length_without_the_space_is_the_same_length(receiver):
    url, logs = receiver
    assert re.match(rb"HTTP/1\.[01] 200", post_framed(url, [b"content-length:2"]))
    assert log_lines(logs) == [b"{}"]


def _dev_full(path, flags, mode):
    """Opens /dev/full instead: every write fails with ENOSPC, as on a full disk."""
    return os.open("/dev/full", os.O_WRONLY | os.O_CLOEXEC)


def test_health_fails_while_the_disk_is_full(served, monkeypatch):
    url, app, logs = served
    monkeypatch.setattr(logwriter, "PROBE_EVERY", 0.0)
    assert request(url, path="/healthz") == (200, b"OK")
    full = {"now": True}
    app.log = LogWriter(logs, open_file=lambda p, f, m: _dev_full(p, f, m) if full["now"]
                        else os.open(p, f, m))
    assert post(url, meta_body(1))[0] == 503
    assert request(url, path="/healthz")[0] == 503
    full["now"] = False  # space freed
    assert request(url, path="/healthz") == (200, b"OK")
    assert post(url, meta_body(2))[0] == 200
    assert log_lines(logs) == [meta_body(2)]
    # No probe file left behind.
    assert sorted(p.name for p in logs.iterdir()) == sorted(p.name for p in logs.glob("*.jsonl"))


def test_health_probes_the_disk_at_most_once_a_second(served):
    url, app, logs = served
    writes = []
    app.log = LogWriter(logs, open_file=lambda p, f, m: writes.append(p) or os.open(p, f, m))
    for _ in range(20):
        assert request(url, path="/healthz") == (200, b"OK")
    assert len(writes) == 1


def _health_becomes(url: str, status: int) -> bool:
    """Whether /healthz answers ``status`` within 3 s (a probe's answer holds 1 s)."""
    for _ in range(30):
        if request(url, path="/healthz")[0] == status:
            return True
        threading.Event().wait(0.1)
    return False


def _can_mount() -> bool:
    if not (shutil.which("unshare") and shutil.which("nsenter")):
        return False
    probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                            "mount -t tmpfs -o size=64k tmpfs /mnt"], capture_output=True)
    return probe.returncode == 0


@pytest.mark.skipif(not _can_mount(), reason="no private mount namespace here (needs root)")
def test_health_on_a_really_full_file_system(tmp_path):
    """The receiver's logs on a 256 KB tmpfs of its own: fill it with real POSTs."""
    logs = tmp_path / "webhook-logs"
    logs.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BANDITORE_")}
    env.update(PYTHONPATH=str(ROOT), BANDITORE_WHATSAPP_APP_SECRET=SECRET,
               BANDITORE_WHATSAPP_VERIFY_TOKEN=TOKEN, BANDITORE_WEBHOOK_LOGS=str(logs))
    proc = subprocess.Popen(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c",
         'mount -t tmpfs -o size=256k,mode=700 tmpfs "$0" && exec "$@"', str(logs),
         sys.executable, "-m", "runner", "webhook", "serve", "--host", "127.0.0.1",
         "--port", "0"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True)
    try:
        url = re.search(r"http://\S+/", proc.stdout.readline()).group(0)
        assert request(url, path="/healthz") == (200, b"OK")
        answers = [post(url, meta_body(i, pad=20_000))[0] for i in range(20)]
        assert answers[0] == 200 and 503 in answers
        # Then small ones, to the last free byte.
        answers = [post(url, meta_body(i))[0] for i in range(100, 400)]
        assert 503 in answers
        assert _health_becomes(url, 503)
        # Free the space, inside the receiver's own mount namespace.
        subprocess.run(["nsenter", "--target", str(proc.pid), "--mount", "sh", "-c",
                        f'rm -f "{logs}"/*.jsonl'], check=True)
        assert _health_becomes(url, 200)
        assert post(url, meta_body(99))[0] == 200
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stdout.close()
