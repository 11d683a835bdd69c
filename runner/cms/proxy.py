"""decap-server (npm), the form's local git proxy, where only the admin server reaches it.

It runs as ``node decap_socket.js``: decap-server's own git middleware, listening on a
Unix socket in a folder made for this session with mode 0700 (no TCP port at all), so
no browser page and no other user of the machine can talk to it; the admin server
forwards each request it has checked (:mod:`.guard`) over that socket.

It works on a *scratch* git repository: saving a draft makes a ``cms/announcements/...``
branch there, approving merges it, the editorial workflow GitHub pull requests give.
Scratch, because the proxy checks branches out and commits with ``git add .`` in the
repository it serves: never the working copy someone is editing.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from ..errors import ConfigError
from ..messages import t

DECAP_SERVER = Path("node_modules/decap-server/dist/index.js")
LAUNCHER = Path(__file__).with_name("decap_socket.js")
TIMEOUT = 120  # a save commits and checks branches out: seconds, not milliseconds


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float = TIMEOUT):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


class DecapServer:
    """decap-server (git mode) on ``repo``, on a private Unix socket; :meth:`stop` ends it."""

    def __init__(self, repo: Path, node_modules_root: Path = Path(".")):
        script = (node_modules_root / DECAP_SERVER).resolve()
        if not script.is_file():
            raise ConfigError(t("cms.no-node-modules", path=script))
        self.folder = Path(tempfile.mkdtemp(prefix="banditore-cms-"))  # mode 0700
        self.socket = str(self.folder / "decap.sock")
        env = {**os.environ, "MODE": "git", "GIT_REPO_DIRECTORY": str(repo.resolve()),
               "LOG_LEVEL": "warn"}
        for name in ("PORT", "BIND_HOST", "ORIGIN"):  # none of these apply any more
            env.pop(name, None)
        # Its log goes to a file, not a pipe: a long session would fill a pipe nobody
        # reads and stall the proxy. cwd: the repository, so its dotenv finds no .env
        # of ours with secrets in it.
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(["node", str(LAUNCHER), str(script), self.socket],
                                        cwd=repo, env=env, stdout=self.log,
                                        stderr=subprocess.STDOUT)
        self._wait()

    def _wait(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.log.seek(0)
                detail = self.log.read().decode(errors="replace")[-500:]
                self.stop()
                raise ConfigError(t("cms.proxy-failed", detail=detail))
            try:
                self.forward(json.dumps({"action": "info"}).encode(), timeout=2)
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise ConfigError(t("cms.proxy-failed", detail=f"no answer in {timeout:.0f} s"))

    def forward(self, body: bytes, timeout: float = TIMEOUT) -> tuple[int, str, bytes]:
        """POST ``body`` to decap-server's /api/v1: (status, content type, answer)."""
        conn = _UnixConnection(self.socket, timeout)
        try:
            conn.request("POST", "/api/v1", body=body,
                         headers={"Content-Type": "application/json; charset=utf-8"})
            answer = conn.getresponse()
            return (answer.status, answer.getheader("Content-Type", "application/json"),
                    answer.read())
        finally:
            conn.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        shutil.rmtree(self.folder, ignore_errors=True)
