"""Unauthenticated bodies are bounded in bytes held at once and in time: real HTTP on
loopback, large bodies sent slowly by real sockets (the figures in memory are
bench/receiver.py --big's)."""

from __future__ import annotations

import http.client
import json
import select
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from runner.webhook.app import WebhookApp, sign
from runner.webhook.body import IN_FLIGHT, MAX_BODY, SMALL_BODY, BodyReader, install_read_timeout
from runner.webhook.logwriter import LogWriter
from runner.webhook.server import make_server

SECRET = "app-secret-for-body-tests"


@pytest.fixture
def served(tmp_path):
    """The receiver whose bodies must arrive within 1 s: (host, port, app, logs)."""
    logs = tmp_path / "webhook-logs"
    app = WebhookApp(SECRET.encode(), b"verify", LogWriter(logs), bodies=BodyReader(seconds=1.0))
    server = make_server(app, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield "127.0.0.1", server.server_address[1], app, logs
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def slow_post(host: str, port: int, size: int, pause: float = 0.2) -> int:
    """POST ``size`` bytes, 64 KiB every ``pause`` s, stopping at the first answer."""
    sock = socket.create_connection((host, port), timeout=30)
    try:
        sock.sendall(f"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     f"X-Hub-Signature-256: sha256={'0' * 64}\r\n"
                     f"Content-Length: {size}\r\n\r\n".encode())
        sent = 0
        while sent < size and not select.select([sock], [], [], pause)[0]:
            chunk = min(64 * 1024, size - sent)
            try:
                sock.sendall(b" " * chunk)
            except OSError:
                break  # refused and closed while sending
            sent += chunk
        answer = sock.recv(64)
        return int(answer.split()[1]) if answer else 0
    finally:
        sock.close()


def post(host: str, port: int, body: bytes) -> int:
    conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        conn.request("POST", "/", body=body, headers={"X-Hub-Signature-256": sign(body, SECRET)})
        return conn.getresponse().status
    finally:
        conn.close()


def test_20_slow_3_mb_bodies_hold_at_most_the_budget_and_only_for_their_time(served):
    host, port, app, logs = served
    held = []
    with ThreadPoolExecutor(20) as pool:
        slow = [pool.submit(slow_post, host, port, MAX_BODY) for _ in range(20)]
        # While they trickle, the receiver holds no more than its budget, and a
        # normal webhook is answered at once.
        for _ in range(10):
            held.append(app.bodies.held)
            time.sleep(0.05)
        assert post(host, port, b'{"object":"whatsapp_business_account","entry":[]}') == 200
        statuses = sorted(f.result() for f in slow)
    assert max(held) == IN_FLIGHT == 4 * MAX_BODY
    assert statuses == [408] * 4 + [503] * 16  # 4 read until their time was up
    assert app.bodies.held == 0
    lines = [json.loads(x) for f in logs.glob("*.jsonl") for x in f.read_text().splitlines()]
    assert lines == [{"object": "whatsapp_business_account", "entry": []}]
    # The budget is free again: a full-size signed body goes through.
    body = json.dumps({"entry": [], "pad": "x" * (MAX_BODY - 30)}).encode()
    assert post(host, port, body) == 200


def test_small_bodies_are_not_kept_out_by_large_ones(served):
    host, port, app, _ = served
    reader = app.bodies
    reader.held = IN_FLIGHT  # as if large bodies filled the budget
    try:
        body = b'{"object":"whatsapp_business_account","entry":[],"pad":"' + \
            b"x" * (SMALL_BODY - 80) + b'"}'
        assert post(host, port, body) == 200
        assert post(host, port, body + b" " * 100) == 503
    finally:
        reader.held = 0


def test_gunicorn_connections_get_a_read_timeout():
    """gevent workers time only the headers: every connection gets a read timeout."""
    seen = []

    class Worker:
        def handle(self, listener, client, addr):
            seen.append(client.gettimeout())

    worker = Worker()
    install_read_timeout(worker, 7.5)
    a, b = socket.socketpair()
    try:
        worker.handle(None, a, None)
    finally:
        a.close()
        b.close()
    assert seen == [7.5]
