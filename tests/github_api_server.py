"""A real HTTP server on 127.0.0.1 that answers like GitHub's REST API, for the four
calls the receiver's dispatcher makes (runner/webhook/github.py).

Used by tests/webhook/test_dispatch.py (in a thread) and bench/dispatch.py (as a
process: ``python tests/github_api_server.py`` prints its base URL, then one JSON
line per call, ``{"kind": ..., "at": <time.monotonic()>}``, until stopped; the
monotonic clock is the machine's, so the bench compares it with its own).

- ``GET /repos/{owner}/{name}``: ``{"default_branch": ...}``.
- ``GET /repos/{owner}/{name}/actions/workflows/{file}``: ``{"state": ...}``.
- ``PUT .../enable``: 204, and the workflow's state becomes ``active``.
- ``POST .../dispatches``: 204 for ``{"ref": <the default branch>}``; 422 with
  GitHub's message for another ref, and while the workflow is not active.
- A wrong bearer token answers 401 ("Bad credentials"), another repository 404.
- ``outage``: ``"503"`` answers every call 503; ``"hang"`` accepts the connection
  and never answers (the client's timeout must end the wait); None: normal.
  ``fail_next = N``: the next N calls answer 503, then all is well again.

Every call is recorded as :class:`Call` (method, path, body, the monotonic time it
arrived); :meth:`GitHubApiServer.wait_for` polls them with a deadline.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN = "github_pat_for_tests"
REPOSITORY = "comune-esempio/banditore"


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    body: dict
    at: float  # time.monotonic() when it arrived


class GitHubApiServer:
    def __init__(self, repository: str = REPOSITORY, token: str = TOKEN,
                 default_branch: str = "main", state: str = "active"):
        self.repository = repository
        self.token = token
        self.default_branch = default_branch
        self.state = state
        self.outage: str | None = None
        self.fail_next = 0
        self.on_call = None  # called with each Call as it arrives
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self._release = threading.Event()  # ends every hanging answer
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> GitHubApiServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    # --- what tests look at ------------------------------------------------------
    def dispatches(self) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == "POST" and c.path.endswith("/dispatches")]

    def kinds(self) -> list[str]:
        """The calls in order, as short words: repo, state, enable, dispatch."""
        with self._lock:
            return [_kind(c) for c in self.calls]

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

    # --- answering -----------------------------------------------------------------
    def _answer(self, method: str, path: str, auth: str, body: dict) -> tuple[int, dict | None]:
        if self.outage == "hang":
            self._release.wait(60)
            return 503, {"message": "Service Unavailable"}
        if self.outage == "503" or self.fail_next > 0:
            self.fail_next = max(self.fail_next - 1, 0)
            return 503, {"message": "Service Unavailable"}
        if auth != f"Bearer {self.token}":
            return 401, {"message": "Bad credentials"}
        repo = f"/repos/{self.repository}"
        workflow = f"{repo}/actions/workflows/send.yml"
        if method == "GET" and path == repo:
            return 200, {"full_name": self.repository, "default_branch": self.default_branch}
        if method == "GET" and path == workflow:
            return 200, {"id": 1, "path": ".github/workflows/send.yml", "state": self.state}
        if method == "PUT" and path == f"{workflow}/enable":
            self.state = "active"
            return 204, None
        if method == "POST" and path == f"{workflow}/dispatches":
            if self.state != "active":
                return 422, {"message": "Workflow is disabled"}
            if body.get("ref") != self.default_branch:
                return 422, {"message": f"No ref found for: {body.get('ref')}"}
            return 204, None
        return 404, {"message": "Not Found"}

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else {}
                call = Call(self.command, self.path, body, time.monotonic())
                with server._lock:
                    server.calls.append(call)
                if server.on_call:
                    server.on_call(call)
                status, answer = server._answer(self.command, self.path,
                                                self.headers.get("Authorization", ""), body)
                data = json.dumps(answer).encode() if answer is not None else b""
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (a hanging outage)

            do_GET = do_POST = do_PUT = _serve

            def handle(self):
                try:
                    super().handle()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # a client that went away (a receiver stopped, a timeout)

            def log_message(self, *args):  # quiet
                pass

        return Handler


def _kind(call: Call) -> str:
    if call.path.endswith("/dispatches"):
        return "dispatch"
    if call.path.endswith("/enable"):
        return "enable"
    if "/actions/workflows/" in call.path:
        return "state"
    return "repo"


def main() -> None:
    server = GitHubApiServer()

    def report(call: Call) -> None:
        print(json.dumps({"kind": _kind(call), "at": call.at}), flush=True)

    server.on_call = report
    with server:
        print(server.base, flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
