"""The town's receiver host: gunicorn with the shipped settings, as docs/town-setup.md runs it.

``gunicorn -c python:runner.webhook.gunicorn_conf 'runner.webhook:create_app()'``,
on a fixed loopback port so that a restart comes back at the same address
(Meta's webhooks keep one URL). Its dispatch to GitHub (issue 22:
``BANDITORE_GITHUB_REPOSITORY``, ``_DISPATCH_TOKEN``, ``_API_BASE``) goes to the
fake GitHub API, with a token that may start and enable workflows and nothing else.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from runner.webhook.coalesce import SharedLedger


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Receiver:
    def __init__(self, folder: Path, source: Path, app_secret: str, verify_token: str,
                 dispatch: dict[str, str] | None = None):
        self.folder = folder
        self.logs = folder / "webhook-logs"
        self.source = source
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("BANDITORE_")}
        self.env.update(PYTHONPATH=str(source), BANDITORE_WHATSAPP_APP_SECRET=app_secret,
                        BANDITORE_WHATSAPP_VERIFY_TOKEN=verify_token,
                        BANDITORE_WEBHOOK_LOGS=str(self.logs), **(dispatch or {}))
        # gunicorn's control socket lives in $HOME/.gunicorn: one of its own, so that
        # a restart (or another gunicorn on the machine) never meets a stale one.
        self.env["HOME"] = str(folder)
        self.proc: subprocess.Popen | None = None
        self.restarts = 0
        self.stderr = folder / "gunicorn.log"

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        gunicorn = str(Path(sys.executable).with_name("gunicorn"))
        self.proc = subprocess.Popen(
            [gunicorn, "-c", "python:runner.webhook.gunicorn_conf",
             "--bind", f"127.0.0.1:{self.port}", "runner.webhook:create_app()"],
            cwd=self.folder, env=self.env, stdout=subprocess.DEVNULL,
            stderr=self.stderr.open("ab"))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn stopped at start: see {self.stderr}")
            try:
                with urllib.request.urlopen(self.url + "healthz", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the receiver does not answer /healthz")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # graceful: requests in flight finish
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self) -> tuple[float, float]:
        """Stop (gracefully) and start again: when it began and when it answered again."""
        began = time.monotonic()
        self.stop()
        self.restarts += 1
        self.start()
        return began, time.monotonic()

    def dispatch_settled(self, messages: int) -> bool:
        """Whether the receiver has recorded ``messages`` citizens' messages and a
        dispatch covers them all: nothing left for it to ask GitHub. Read from the
        ledger its processes share (runner.webhook.coalesce), as they read it."""
        if not self.logs.is_dir():
            return messages == 0
        with SharedLedger(self.logs).locked(time.time()) as ledger:
            return ledger.seen >= messages and ledger.covered >= ledger.seen

    def lines(self) -> int:
        return sum(p.read_bytes().count(b"\n") for p in self.logs.glob("*.jsonl"))
