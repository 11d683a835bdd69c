"""The fake GitHub's plumbing: one HTTP server on 127.0.0.1, the routes of every API
area, the token checks, the record of every call, and the outages a test can cause.

It answers however a client reaches GitHub: directly (``base`` + ``/repos/...``, as the
receiver's dispatcher does), under ``/api/v3`` (GitHub Enterprise's layout, so the
staff form's ``github_url`` names the API and the OAuth app at once), or as a proxy
for ``gh`` (``GH_HOST=github.localhost`` makes gh speak plain HTTP to
``api.github.localhost``; ``HTTP_PROXY`` sends the absolute URI here).

A route says which token permission GitHub asks for it (``needs``). A token is
granted a set of permissions, as a workflow's ``permissions:`` grant its
``GITHUB_TOKEN``, or all of them (None), as a person's token; a missing one answers
403 as GitHub does. A call no route knows answers 404 and is kept in ``unknown``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from . import actions, git_data, oauth
from . import pulls as pull_requests
from .pulls import PullRequest
from .routes import LEVELS, Answer, Request, Route, not_found

TOKEN = "github_pat_for_tests"  # the receiver's dispatch token (actions: write)
REPOSITORY = "comune-esempio/banditore"
API_PREFIX = "/api/v3"


@dataclass(frozen=True)
class Call:
    method: str
    path: str  # without the query, /api/v3 or the proxy's host
    body: dict
    at: float  # time.monotonic() when it arrived
    kind: str  # the route's name ("dispatch", "contents"...), "unknown" when none matched


class FakeGitHub:
    """``with FakeGitHub(...) as github:``; ``github.base`` is its address.

    The state every area reads and changes: the repository's name and default branch,
    the tokens, the workflows' states, the pull requests, a bare git repository
    behind the git data API (``repo``) and the OAuth app."""

    def __init__(self, repository: str = REPOSITORY, *,
                 tokens: dict[str, dict[str, str] | None] | None = None,
                 pulls: list[PullRequest] | None = None, repo: Path | None = None,
                 callback: str = "", default_branch: str = "main"):
        self.routes: list[Route] = [*actions.ROUTES, *pull_requests.ROUTES, *git_data.ROUTES,
                                    *oauth.ROUTES]
        self.repository = repository
        self.default_branch = default_branch
        self.tokens = {TOKEN: {"actions": "write"}} if tokens is None else dict(tokens)
        self.workflows = {"send.yml": "active"}
        self.pulls: list[PullRequest] = list(pulls or [])
        self.repo = repo
        self.callback = callback  # where the OAuth app sends the browser back
        self.codes: set[str] = set()
        self.calls: list[Call] = []
        self.unknown: list[tuple[str, str]] = []
        self.outage: str | None = None  # "503": every call answers 503; "hang": none answers
        self.fail_next = 0  # the next N calls answer 503
        self.on_call: Callable[[Call], None] | None = None
        self.lock = threading.Lock()
        self._release = threading.Event()  # ends every hanging answer
        handler = type("Handler", (_Handler,), {"github": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def proxy(self) -> str:
        """What ``HTTP_PROXY`` names for ``gh``."""
        return self.base

    def __enter__(self) -> FakeGitHub:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._release.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()

    # --- what tests look at ------------------------------------------------------------
    def kinds(self) -> list[str]:
        """The calls in order, by their route's name."""
        with self.lock:
            return [c.kind for c in self.calls]

    def requests(self) -> list[str]:
        """The calls in order, as ``"GET /repos/..."``."""
        with self.lock:
            return [f"{c.method} {c.path}" for c in self.calls]

    def dispatches(self) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if c.kind == "dispatch"]

    def wait_for(self, count: int, seconds: float = 10.0) -> list[Call]:
        """The dispatches once there are at least ``count`` (or when ``seconds`` are up)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and len(self.dispatches()) < count:
            time.sleep(0.01)
        return self.dispatches()

    def set_outage(self, outage: str | None) -> None:
        self.outage = outage
        if outage is None:
            self._release.set()
            self._release = threading.Event()

    def pull(self, number: int) -> PullRequest | None:
        return next((p for p in self.pulls if p.number == number), None)

    # --- answering ---------------------------------------------------------------------
    def handle(self, method: str, target: str, body: bytes, auth: str,
               accept: str = "") -> Answer:
        url = urlsplit(target)  # an absolute URI when asked as a proxy
        path = unquote(url.path).removeprefix(API_PREFIX).rstrip("/") or "/"
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        try:
            data = json.loads(body) if body.strip().startswith((b"{", b"[")) else {}
        except ValueError:
            return Answer(400, {"message": "Problems parsing JSON"})
        found = next(((r, m) for r in self.routes if r.method == method
                      for m in [r.pattern.match(path)] if m), None)
        call = Call(method, path, data if isinstance(data, dict) else {}, time.monotonic(),
                    found[0].kind if found else "unknown")
        with self.lock:
            self.calls.append(call)
        if self.on_call:
            self.on_call(call)
        if self.outage == "hang":
            self._release.wait(60)
            return Answer(503, {"message": "Service Unavailable"})
        if self.outage == "503" or self.fail_next > 0:
            self.fail_next = max(self.fail_next - 1, 0)
            return Answer(503, {"message": "Service Unavailable"})
        if not found:
            with self.lock:
                self.unknown.append((method, path))
            return not_found()
        route, match = found
        token = auth.split(" ", 1)[1].strip() if " " in auth else None
        if not route.public:
            if token not in self.tokens:
                return Answer(401, {"message": "Bad credentials"})
            if match.groupdict().get("repo", self.repository) != self.repository:
                return not_found()
            granted = self.tokens[token]
            if route.needs and granted is not None and max(
                    LEVELS[granted.get(scope, "none")] for scope in route.needs[0].split("|")
            ) < LEVELS[route.needs[1]]:
                return Answer(403, {"message": "Resource not accessible by integration",
                                    "needs": f"{route.needs[0]}: {route.needs[1]}"})
        with self.lock:
            return route.answer(self, match, Request(method, path, query, data, body, token,
                                                     accept))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    github: FakeGitHub

    def log_message(self, *args) -> None:  # quiet
        pass

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        answer = self.github.handle(self.command, self.path, body,
                                    self.headers.get("Authorization") or "",
                                    self.headers.get("Accept") or "")
        data = answer.body if isinstance(answer.body, bytes) else (
            b"" if answer.body is None else json.dumps(answer.body).encode())
        try:
            self.send_response(answer.status)
            self._cors()
            if data:
                self.send_header("Content-Type", answer.content_type)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (a hanging outage)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def do_OPTIONS(self) -> None:  # a browser's CORS preflight, as GitHub's API answers it
        self.send_response(204)
        self._cors()
        self.send_header("Access-Control-Allow-Methods", "GET, POST, PATCH, PUT, DELETE")
        self.send_header("Access-Control-Allow-Headers", "Authorization, Content-Type")
        self.send_header("Access-Control-Max-Age", "600")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _cors(self) -> None:
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Expose-Headers", "Link")

    def handle(self) -> None:
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError):
            pass  # a client that went away (a receiver stopped, a timeout)
