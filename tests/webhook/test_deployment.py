"""The documented deployment, for real on loopback: gunicorn with the shipped
settings (runner/webhook/gunicorn_conf.py) serving the receiver, facing slow
clients and malformed framing. Bounded: a few hundred clients, seconds each."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from runner.webhook.app import sign

from .slow_clients import SlowClients, start_gunicorn, stop
from .test_webhook import SECRET, TOKEN, log_lines, meta_body, post, raw_http

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


@pytest.mark.parametrize("lengths", [
    [b"1_0"], [b"+2"], [b"-2"], [b"0x2"], ["\u0662".encode()], [b"2", b"2"], [b"2", b"3"],
], ids=["underscore", "plus", "minus", "hex", "arabic-digit", "duplicate", "conflicting"])
def test_content_length_that_is_not_one_plain_number_is_400(gunicorn, lengths):
    url, logs = gunicorn
    before = log_lines(logs)
    headers = b"".join(b"Content-Length: " + value + b"\r\n" for value in lengths)
    answer = raw_http(url, b"POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                      b"X-Hub-Signature-256: " + sign(b"{}", SECRET).encode() + b"\r\n"
                      + headers + b"\r\n{}")
    assert answer.startswith(b"HTTP/1.1 400")
    assert log_lines(logs) == before


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
