"""The form, locally: ``make cms`` (``python -m runner cms serve``) and the browser test.

One HTTP server on 127.0.0.1, needing no GitHub account and no network:

* the **admin page**: ``admin/`` as committed, Decap's JavaScript from
  ``node_modules/decap-cms/dist`` (installed by npm, never a CDN), and
  ``config.yml`` with ``local_backend`` pointed at this server's ``/api/v1``;
* ``POST /api/v1``: decap-server's git proxy (:mod:`.proxy`), reached only through
  here, over a private Unix socket, once :mod:`.guard` has checked the request;
* ``POST /api/preview``: the preview pane's answers (:mod:`.preview`).

Every request must come with this server's own Host (and Origin, when there is one)
and the session's token: ``make cms`` prints the address with the token, which the
first visit exchanges for a cookie (:mod:`.guard` says why each check is there).
``make cms`` clones this repository into ``.cms/repo`` once and reuses it, drafts
included.
"""

from __future__ import annotations

import json
import mimetypes
import secrets
import subprocess
import threading
import time
from collections.abc import Callable
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import yaml

from ..webhook.framing import StrictLength
from .config import CONFIG_PATH
from .guard import TOKEN_PARAM, Guard, Refused, content_length
from .preview import MEDIA_MAX_BYTES, preview_draft
from .proxy import DECAP_SERVER, DecapServer

if TYPE_CHECKING:
    from ..config import Settings

__all__ = ["DECAP_DIST", "DECAP_SERVER", "AdminApp", "DecapServer", "serve", "start"]

DECAP_DIST = Path("node_modules/decap-cms/dist")
SANDBOX = Path(".cms/repo")
MAX_POST = 2 * MEDIA_MAX_BYTES  # base64 of the largest attachment, plus the text
API = "/api/v1"


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


def served_config(config_path: Path, origin: str) -> str:
    """The committed config, pointed at this server's own proxy endpoint, under the
    origin the browser uses (Decap wants an absolute address)."""
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    config["local_backend"] = {"url": origin + API}
    return yaml.safe_dump(config, allow_unicode=True, sort_keys=False)


class Handler(StrictLength):
    """The admin server's requests; ``app`` is bound by :func:`_handler`."""

    app: AdminApp

    def log_message(self, *args: object) -> None:  # quiet: the terminal shows only the address
        pass

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        try:
            self._guard(login=parse_qs(url.query).get(TOKEN_PARAM, [""])[0])
        except Refused as exc:
            return self._refuse(exc)
        if url.path in ("/", "/admin"):
            return self._redirect("/admin/")
        found = self.app.file_for(url.path, self.headers.get("Host", ""))
        if found is None:
            self.send_error(404)
            return
        body, kind = found
        self._reply(200, body, kind)

    def do_POST(self) -> None:
        try:
            self._guard()
            if self.path not in ("/api/preview", API):
                raise Refused(404, "no such endpoint")
            length = content_length(self.headers.get("Content-Length"))
            if length > MAX_POST:
                raise Refused(413, f"body of {length} bytes")
            raw = self.rfile.read(length)
            try:
                payload = json.loads(raw or b"{}")
            except ValueError:
                raise Refused(400, "not JSON") from None
            if self.path == API:
                self.app.guard.check_proxy(payload)
                return self._proxied(raw)
        except Refused as exc:
            return self._refuse(exc)
        answer = preview_draft(self.app.settings, payload if isinstance(payload, dict) else {})
        self._reply(200, json.dumps(answer, ensure_ascii=False).encode(),
                    "application/json; charset=utf-8")

    def _proxied(self, raw: bytes) -> None:
        status, kind, body = self.app.proxy.forward(raw)
        self._reply(status, body, kind)

    def _guard(self, login: str = "") -> None:
        """Host and Origin always; the token from the cookie, or once from the
        address (then the cookie is set and the token leaves the address bar)."""
        host, origin = self.headers.get("Host"), self.headers.get("Origin")
        if login and self.app.guard.token_matches(login):
            self.app.guard.check_host(host, origin)
            self._redirect(urlsplit(self.path).path, cookie=self.app.guard.cookie())
            raise _Done
        self.app.guard.check_request(host, origin, self.headers.get("Cookie"))

    def _redirect(self, to: str, cookie: str | None = None) -> None:
        self.send_response(302)
        self.send_header("Location", to)
        if cookie:
            self.send_header("Set-Cookie", cookie)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _refuse(self, exc: Refused) -> None:
        if isinstance(exc, _Done):
            return
        self.close_connection = True
        self._reply(exc.status, f"{exc.status} {exc.reason}\n".encode(),
                    "text/plain; charset=utf-8")

    def _reply(self, code: int, body: bytes, kind: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        self.wfile.write(body)


def _handler(app: AdminApp) -> type[Handler]:
    return type("BoundHandler", (Handler,), {"app": app})


class _Done(Refused):
    """The request was answered already (the token's redirect)."""

    def __init__(self) -> None:
        super().__init__(302, "answered")


class AdminApp:
    """The admin page, the proxy and the preview endpoint, over a running
    :class:`~.proxy.DecapServer`. ``url`` carries the session's token: open it once."""

    def __init__(self, settings: Settings, proxy: DecapServer, root: Path = Path("."),
                 port: int = 0):
        self.settings, self.proxy = settings, proxy
        self.admin = (root / CONFIG_PATH.parent).resolve()
        self.dist = (root / DECAP_DIST).resolve()
        self.config_path = root / CONFIG_PATH
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        port = self.httpd.server_address[1]
        token = secrets.token_urlsafe(32)
        self.guard = Guard(port, token, settings.cms_branch,
                           settings.announcements_dir.as_posix())
        self.base = f"http://127.0.0.1:{port}"
        self.url = f"{self.base}/admin/?{TOKEN_PARAM}={token}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def file_for(self, path: str, host: str) -> tuple[bytes, str] | None:
        """(content, type) of a page file: the served config, Decap's bundle, admin/
        (``host``: the request's, already checked to be this server's)."""
        if path == "/admin/config.yml":
            config = served_config(self.config_path, f"http://{host.lower()}")
            return config.encode(), "text/yaml; charset=utf-8"
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


def serve(settings: Settings, port: int, on_ready: Callable[[str, Path], None],
          repo: Path | None = None) -> None:
    """``make cms``: the form on the scratch copy until Ctrl+C."""
    repo = repo or prepare_sandbox(Path("."), SANDBOX, settings.cms_branch)
    app = start(settings, repo, Path("."), port)
    on_ready(app.url, repo)
    try:
        while True:
            time.sleep(3600)
    finally:
        app.stop()
