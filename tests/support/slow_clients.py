"""Loopback helpers shared by the deployment tests and bench/receiver.py: the
documented gunicorn receiver in a subprocess, and clients that send their
headers one byte at a time and never finish (what holds a threaded server)."""

from __future__ import annotations

import os
import re
import resource
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The README's deployment before event-loop workers, for comparison.
GTHREAD = ["--worker-class", "gthread", "--workers", "2", "--threads", "32", "--timeout", "30"]
DOCUMENTED = ["-c", "python:runner.webhook.gunicorn_conf"]


def gunicorn_command(settings: list[str]) -> list[str]:
    """gunicorn serving ``runner.webhook:create_app()`` on a free loopback port."""
    return [str(Path(sys.executable).with_name("gunicorn")), *settings,
            "--bind", "127.0.0.1:0", "runner.webhook:create_app()"]


def gunicorn_env(logs: Path, secret: str, token: str) -> dict[str, str]:
    """This environment without BANDITORE_* settings, plus the receiver's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BANDITORE_")}
    env.update(PYTHONPATH=str(ROOT), BANDITORE_WHATSAPP_APP_SECRET=secret,
               BANDITORE_WHATSAPP_VERIFY_TOKEN=token, BANDITORE_WEBHOOK_LOGS=str(logs))
    return env


def start_gunicorn(logs: Path, secret: str, token: str, settings: list[str] = DOCUMENTED,
                   workers: int = 2, env: dict[str, str] | None = None
                   ) -> tuple[subprocess.Popen, str]:
    """gunicorn serving ``runner.webhook:create_app()`` on a free loopback port,
    with ``env`` added to its environment; returns once every worker answers /healthz."""
    proc = subprocess.Popen(gunicorn_command(settings), cwd=logs.parent,
                            env={**gunicorn_env(logs, secret, token), **(env or {})},
                            stderr=subprocess.PIPE, text=True)
    url, booted = None, 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and booted < workers:
        line = proc.stderr.readline()
        if not line:
            break
        if match := re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", line):
            url = match.group(1) + "/"
        booted += "Booting worker" in line
    if not url or booted < workers:
        proc.kill()
        raise RuntimeError("gunicorn did not start")
    # Keep reading its log, so a full pipe never blocks it.
    reader = threading.Thread(target=proc.stderr.read, daemon=True)
    reader.start()
    _readers[proc.pid] = reader
    for _ in range(100):
        try:
            with urllib.request.urlopen(url + "healthz", timeout=2) as answer:
                if answer.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("gunicorn does not answer")


_readers: dict[int, threading.Thread] = {}


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
    reader = _readers.pop(proc.pid, None)
    if reader:
        reader.join(5)
    proc.stderr.close()


class SlowClients:
    """``count`` connections that send a request's headers a byte a second and
    never finish them, until :meth:`close` (bounded by ``seconds``). One that
    the server cuts is opened again, as an attacker would."""

    def __init__(self, host: str, port: int, count: int, seconds: float = 120):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < count + 256:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, count + 1024), hard))
        self.address = (host, port)
        self.reconnects = 0
        self.sockets = [self._connect() for _ in range(count)]
        self._stop = threading.Event()
        self._until = time.monotonic() + seconds
        self._thread = threading.Thread(target=self._trickle, daemon=True)
        self._thread.start()

    def _connect(self) -> socket.socket:
        sock = socket.create_connection(self.address, timeout=5)
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        return sock

    def _trickle(self) -> None:
        while not self._stop.wait(1.0) and time.monotonic() < self._until:
            for n, sock in enumerate(self.sockets):
                try:
                    sock.send(b"a")
                except OSError:  # cut by the server: come back
                    sock.close()
                    try:
                        self.sockets[n] = self._connect()
                        self.reconnects += 1
                    except OSError:
                        pass

    def open(self) -> int:
        """How many of them the server still holds open."""
        alive = 0
        for sock in self.sockets:
            sock.setblocking(False)
            try:
                alive += sock.recv(1, socket.MSG_PEEK) != b""
            except BlockingIOError:
                alive += 1
            except OSError:
                pass
            finally:
                sock.setblocking(True)
        return alive

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        for sock in self.sockets:
            sock.close()
