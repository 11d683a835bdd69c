"""The form, locally: ``make cms`` (``python -m runner cms serve``) and the browser test.

Three things on 127.0.0.1, none needing a GitHub account or the network:

* **decap-server** (npm) in git mode on a *scratch* git repository: saving a draft
  makes a ``cms/announcements/...`` branch there, approving merges it, exactly the
  editorial workflow GitHub pull requests give. Scratch, because the proxy checks
  branches out and commits with ``git add .`` in the repository it serves: never
  the working copy someone is editing. ``make cms`` clones this repository into
  ``.cms/repo`` once and reuses it, drafts included.
* the **admin page**: ``admin/`` as committed, Decap's JavaScript from
  ``node_modules/decap-cms/dist`` (installed by npm, never a CDN), and
  ``config.yml`` with ``local_backend`` pointed at that decap-server;
* ``POST /api/preview``: the preview pane's answers (:mod:`.preview`).
"""

from __future__ import annotations

import json
import mimetypes
import os
import socket
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING

import requests
import yaml

from ..errors import ConfigError
from ..messages import t
from .config import CONFIG_PATH
from .preview import MEDIA_MAX_BYTES, preview_draft

if TYPE_CHECKING:
    from ..config import Settings

DECAP_DIST = Path("node_modules/decap-cms/dist")
DECAP_SERVER = Path("node_modules/decap-server/dist/index.js")
SANDBOX = Path(".cms/repo")
MAX_POST = 2 * MEDIA_MAX_BYTES  # base64 of the largest attachment, plus the text


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare_sandbox(source: Path, dest: Path, branch: str) -> Path:
    """A git clone of ``source`` at ``dest`` on ``branch``, once; kept between runs."""
    if (dest / ".git").is_dir():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    git = ["git", "-C", str(dest)]
    subprocess.run(["git", "clone", "--quiet", str(source.resolve()), str(dest)], check=True)
    subprocess.run([*git, "checkout", "--quiet", "-B", branch], check=True)
    # decap-server commits each save: a local identity, never the user's own.
    subprocess.run([*git, "config", "user.name", "Redazione (prova locale)"], check=True)
    subprocess.run([*git, "config", "user.email", "redazione@localhost"], check=True)
    return dest


class DecapServer:
    """decap-server (git mode) on ``repo``, on a free port, stopped by :meth:`stop`."""

    def __init__(self, repo: Path, node_modules_root: Path = Path(".")):
        script = (node_modules_root / DECAP_SERVER).resolve()
        if not script.is_file():
            raise ConfigError(t("cms.no-node-modules", path=script))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/api/v1"
        env = {**os.environ, "MODE": "git", "GIT_REPO_DIRECTORY": str(repo.resolve()),
               "PORT": str(self.port), "BIND_HOST": "127.0.0.1", "LOG_LEVEL": "warn"}
        # Its log goes to a file, not a pipe: a long session would fill a pipe nobody
        # reads and stall the proxy. cwd: the repository, so its dotenv finds no .env
        # of ours with secrets in it.
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(["node", str(script)], cwd=repo, env=env,
                                        stdout=self.log, stderr=subprocess.STDOUT)
        self._wait()

    def _wait(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.log.seek(0)
                detail = self.log.read().decode(errors="replace")[-500:]
                self.log.close()
                raise ConfigError(t("cms.proxy-failed", detail=detail))
            try:
                requests.post(self.url, json={"action": "info"}, timeout=2)
                return
            except requests.ConnectionError:
                time.sleep(0.1)
        self.stop()
        raise ConfigError(t("cms.proxy-failed", detail=f"no answer in {timeout:.0f} s"))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def served_config(config_path: Path, proxy_url: str) -> str:
    """The committed config, pointed at the local decap-server."""
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    config["local_backend"] = {"url": proxy_url}
    return yaml.safe_dump(config, allow_unicode=True, sort_keys=False)


def _handler(app: AdminApp):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet: the terminal shows only the address
            pass

        def do_GET(self):
            path = self.path.split("?", 1)[0]
            if path in ("/", "/admin"):
                self.send_response(302)
                self.send_header("Location", "/admin/")
                self.end_headers()
                return
            found = app.file_for(path)
            if found is None:
                self.send_error(404)
                return
            body, kind = found
            self._reply(200, body, kind)

        def do_POST(self):
            if self.path != "/api/preview":
                self.send_error(404)
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_POST:
                self.send_error(413)
                return
            try:
                payload = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                self.send_error(400)
                return
            answer = preview_draft(app.settings, payload if isinstance(payload, dict) else {})
            self._reply(200, json.dumps(answer, ensure_ascii=False).encode(),
                        "application/json; charset=utf-8")

        def _reply(self, code: int, body: bytes, kind: str):
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

    return Handler


class AdminApp:
    """The admin page and the preview endpoint, over a running :class:`DecapServer`."""

    def __init__(self, settings: Settings, proxy: DecapServer, root: Path = Path("."),
                 port: int = 0):
        self.settings, self.proxy = settings, proxy
        self.admin = (root / CONFIG_PATH.parent).resolve()
        self.dist = (root / DECAP_DIST).resolve()
        self.config = served_config(root / CONFIG_PATH, proxy.url).encode()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/admin/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def file_for(self, path: str) -> tuple[bytes, str] | None:
        """(content, type) of a page file: the served config, Decap's bundle, admin/."""
        if path == "/admin/config.yml":
            return self.config, "text/yaml; charset=utf-8"
        if path == "/admin/":
            path = "/admin/index.html"
        if path.startswith("/admin/decap-cms/"):
            base, rest = self.dist, path.removeprefix("/admin/decap-cms/")
        elif path.startswith("/admin/"):
            base, rest = self.admin, path.removeprefix("/admin/")
        else:
            return None
        target = (base / rest).resolve()
        if not target.is_relative_to(base) or not target.is_file():
            return None
        kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        if kind.startswith("text/") or kind.endswith("javascript"):
            kind += "; charset=utf-8"
        return target.read_bytes(), kind

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.proxy.stop()


def start(settings: Settings, repo: Path, root: Path = Path("."), port: int = 0) -> AdminApp:
    """decap-server on ``repo`` and the admin page of ``root``; :meth:`AdminApp.stop` ends both."""
    proxy = DecapServer(repo, root)
    try:
        return AdminApp(settings, proxy, root, port)
    except BaseException:
        proxy.stop()
        raise


def serve(settings: Settings, port: int, on_ready, repo: Path | None = None) -> None:
    """``make cms``: the form on the scratch copy until Ctrl+C."""
    repo = repo or prepare_sandbox(Path("."), SANDBOX, settings.cms_branch)
    app = start(settings, repo, Path("."), port)
    on_ready(app.url, repo)
    try:
        while True:
            time.sleep(3600)
    finally:
        app.stop()
