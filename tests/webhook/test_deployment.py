"""The documented deployment, for real on loopback: gunicorn with the shipped
settings (runner/webhook/gunicorn_conf.py) serving the receiver, facing slow
clients and malformed framing. Bounded: a few hundred clients, seconds each."""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.support.receiver import (
    MISFRAMED,
    SECRET,
    TOKEN,
    log_lines,
    meta_body,
    post,
    post_framed,
)
from tests.support.slow_clients import (
    DOCUMENTED,
    SlowClients,
    gunicorn_command,
    gunicorn_env,
    start_gunicorn,
    stop,
)

pytest.importorskip("gevent", reason="the receiver extra is not installed")


@pytest.fixture(scope="module")
def gunicorn(tmp_path_factory):
    logs = tmp_path_factory.mktemp("deployment") / "webhook-logs"
    proc, url = start_gunicorn(logs, SECRET, TOKEN)
    try:
        yield url, logs
    finally:
        stop(proc)


def test_normal_posts_are_answered_while_slow_clients_hold_connections(gunicorn):
    """300 clients trickling their headers (the README's old 2 x 32 threads
    stopped answering at 80): every normal POST still gets its 200, and its line."""
    url, logs = gunicorn
    before = len(log_lines(logs))
    parts = urlsplit(url)
    slow = SlowClients(parts.hostname, parts.port, 300, seconds=60)
    try:
        assert slow.open() == 300  # connected, their requests unfinished
        bodies = [meta_body(10_000 + i) for i in range(60)]
        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(lambda body: post(url, body)[0], bodies))
    finally:
        slow.close()
    assert statuses == [200] * 60
    assert sorted(log_lines(logs)[before:]) == sorted(bodies)


@pytest.mark.parametrize("lines", MISFRAMED.values(), ids=MISFRAMED.keys())
def test_content_length_that_is_not_one_plain_number_is_400(gunicorn, lines):
    url, logs = gunicorn
    before = log_lines(logs)
    assert post_framed(url, lines).startswith(b"HTTP/1.1 400")
    assert log_lines(logs) == before


def test_content_length_without_the_space_is_the_same_length(gunicorn):
    url, logs = gunicorn
    before = len(log_lines(logs))
    assert post_framed(url, [b"content-length:2"]).startswith(b"HTTP/1.1 200")
    assert log_lines(logs)[before:] == [b"{}"]


def test_gunicorn_will_not_serve_with_a_parser_that_skips_the_length_check(tmp_path):
    """gunicorn_h1c's parser (``auto`` picks it when installed) never shows the
    receiver the raw header lines: the workers refuse to boot and gunicorn stops."""
    run = subprocess.run(gunicorn_command([*DOCUMENTED, "--http-parser", "auto"]),
                         cwd=tmp_path, env=gunicorn_env(tmp_path / "logs", SECRET, TOKEN),
                         capture_output=True, text=True, timeout=30)
    assert run.returncode != 0
    assert "http_parser = 'python'" in run.stderr


def test_a_signed_body_nested_50000_deep_is_400(gunicorn):
    url, logs = gunicorn
    before = log_lines(logs)
    body = b"[" * 50_000 + b"]" * 50_000
    assert post(url, body)[0] == 400
    assert log_lines(logs) == before


def test_the_guide_and_the_readme_deploy_with_the_shipped_settings():
    root = Path(__file__).resolve().parents[2]
    for doc in ("README.md", "docs/town-setup.md"):
        text = (root / doc).read_text(encoding="utf-8")
        assert "-c python:runner.webhook.gunicorn_conf" in text, doc
        assert "--worker-class gthread" not in text, doc
