"""A loopback stand-in for the few GitHub REST endpoints the review-comment workflow calls
(pull requests, their files, contents, issue comments). The receiver's dispatch has its
own in tests/github_api_server.py.

The workflow's shell runs for real, with the real ``gh``: ``GH_HOST=github.localhost``
makes gh speak plain HTTP to ``api.github.localhost``, and ``HTTP_PROXY`` sends that
to this server, which answers as GitHub does (JSON, the raw contents of a file at a
commit, comments) and records what was posted. Nothing leaves the machine.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit


@dataclass
class PullRequest:
    number: int
    heads: list[str]  # what .head.sha answers, one per call (the last one stays)
    files: list[dict] = field(default_factory=list)  # as /pulls/N/files lists them
    contents: dict[tuple[str, str], bytes] = field(default_factory=dict)  # (path, ref)
    comments: list[dict] = field(default_factory=list)
    posted: list[tuple[str, str, str]] = field(default_factory=list)  # (method, path, body)
    calls: list[str] = field(default_factory=list)

    def head(self) -> str:
        return self.heads.pop(0) if len(self.heads) > 1 else self.heads[0]


class GitHubAPI:
    def __init__(self, pull: PullRequest, repo: str = "comune/avvisi"):
        self.pull, self.repo = pull, repo
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                api.answer(self, "GET")

            def do_POST(self):
                api.answer(self, "POST")

            def do_PATCH(self):
                api.answer(self, "PATCH")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    @property
    def proxy(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def answer(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        url = urlsplit(handler.path)
        path, query = url.path, parse_qs(url.query)
        pull = self.pull
        pull.calls.append(f"{method} {path}")
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        base = f"/repos/{self.repo}"
        n = pull.number
        if method == "GET" and path == f"{base}/pulls/{n}":
            return self._json(handler, {"number": n, "state": "open",
                                        "head": {"sha": pull.head()}, "base": {"ref": "main"}})
        if method == "GET" and path == f"{base}/pulls/{n}/files":
            return self._json(handler, pull.files)
        if method == "GET" and path.startswith(f"{base}/contents/"):
            key = (unquote(path.removeprefix(f"{base}/contents/")), query.get("ref", [""])[0])
            if key in pull.contents:
                return self._send(handler, 200, pull.contents[key], "application/octet-stream")
            return self._json(handler, {"message": "Not Found"}, 404)
        if method == "GET" and path == f"{base}/issues/{n}/comments":
            return self._json(handler, pull.comments)
        found = re.fullmatch(rf"{base}/issues/(?:{n}/comments|comments/(\d+))", path)
        if method in ("POST", "PATCH") and found:
            pull.posted.append((method, path, json.loads(body)["body"]))
            return self._json(handler, {"id": 1}, 201 if method == "POST" else 200)
        return self._json(handler, {"message": "Not Found"}, 404)

    def _json(self, handler, data, status: int = 200) -> None:
        self._send(handler, status, json.dumps(data).encode(), "application/json")

    @staticmethod
    def _send(handler, status: int, data: bytes, kind: str) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", kind)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
