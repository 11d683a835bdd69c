"""A fake GitHub REST API on loopback, for ``gh`` in the workflows and for the receiver.

``gh`` (Debian's, as on GitHub's runners) reaches it with ``GH_HOST=github.localhost``,
for which gh speaks plain HTTP to ``api.github.localhost``, and ``HTTP_PROXY``
pointing here: the server answers absolute-URI requests as a proxy would. The
receiver reaches it directly through ``BANDITORE_GITHUB_API_BASE``.

Each endpoint is one small function registered with :func:`route`, with the
token permission GitHub asks for it: a job's ``GITHUB_TOKEN`` has exactly the
``permissions:`` its workflow grants, so a missing permission fails here as on
GitHub. Every request is recorded (:attr:`GitHub.requests`); an endpoint that is
not here answers 404 naming itself, and the rehearsal reports it.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from .gitside import Remote
from .storage import ArtifactStore

API = "http://api.github.localhost"
LEVELS = {"none": 0, "read": 1, "write": 2}


@dataclass
class Answer:
    status: int
    body: object = None  # JSON, or bytes as they are
    content_type: str = "application/json"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: dict
    token: str | None
    accept: str = ""


@dataclass
class WorkflowRecord:
    id: int
    file: str
    name: str
    state: str = "active"  # or disabled_inactivity, disabled_manually


@dataclass
class RunRecord:
    id: int
    workflow_file: str
    name: str
    event: str
    head_branch: str
    head_sha: str
    status: str = "queued"
    conclusion: str | None = None
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())


ROUTES: list[tuple[str, re.Pattern, tuple[str, str] | None, Callable]] = []


def route(method: str, pattern: str, needs: tuple[str, str] | None = None):
    """Register an endpoint: ``needs`` is (permission, level) for a job's token;
    ``"issues|pull-requests"`` where GitHub accepts either."""
    def register(fn):
        ROUTES.append((method, re.compile(pattern.replace("{repo}", r"(?P<repo>[^/]+/[^/]+)")
                                          + r"\Z"), needs, fn))
        return fn
    return register


class GitHub:
    """The state behind the API: the repository, pull requests, comments, workflows, runs."""

    def __init__(self, repository: str, remote: Remote, artifacts: ArtifactStore):
        self.repository = repository
        self.remote = remote
        self.artifacts = artifacts
        self.tokens: dict[str, dict[str, str]] = {}
        self.workflows: dict[str, WorkflowRecord] = {}
        self.runs: dict[int, RunRecord] = {}
        self.comments: dict[int, list[dict]] = {}
        self.requests: list[tuple[str, str, int]] = []
        self.dispatches: list[tuple[str, str, dict]] = []  # (file, ref, inputs), in order
        # Actions' side of a dispatch: queue the run, or say why not (answered 422).
        self.on_dispatch: Callable[[str, str, dict], str | None] | None = None
        self.lock = threading.Lock()
        self._ids = itertools.count(1001)

    def new_id(self) -> int:
        return next(self._ids)

    def add_workflow(self, file: str, name: str) -> None:
        self.workflows[file] = WorkflowRecord(self.new_id(), file, name)

    def workflow(self, key: str) -> WorkflowRecord | None:
        return next((w for w in self.workflows.values() if key in (w.file, str(w.id))), None)

    def handle(self, method: str, url: str, body: bytes, token: str | None,
               accept: str = "") -> Answer:
        parts = urlsplit(url)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        path = parts.path.rstrip("/")
        try:
            data = json.loads(body) if body.strip() else {}
        except ValueError:
            return Answer(400, {"message": "Problems parsing JSON"})
        for verb, pattern, needs, fn in ROUTES:
            match = pattern.match(path)
            if verb != method or not match:
                continue
            if match.groupdict().get("repo", self.repository) != self.repository:
                return Answer(404, {"message": "Not Found"})
            if token not in self.tokens:
                return Answer(401, {"message": "Bad credentials"})
            granted = self.tokens[token]
            if needs and max(LEVELS.get(granted.get(scope, "none"), 0)
                             for scope in needs[0].split("|")) < LEVELS[needs[1]]:
                return Answer(403, {"message": "Resource not accessible by integration",
                                    "needs": f"{needs[0]}: {needs[1]}"})
            with self.lock:
                return fn(self, match, Request(method, path, query, data, token, accept))
        return Answer(404, {"message": f"Not Found: the rehearsal's GitHub API has no "
                                       f"{method} {path} (rehearsal/github_api.py)"})


# --- endpoints, one small function each --------------------------------------------------


def _pr(gh: GitHub, number: str):
    return gh.remote.pulls.get(int(number))


def _pr_json(pr) -> dict:
    return {"number": pr.number, "state": pr.state, "title": pr.title,
            "head": {"sha": pr.head, "ref": pr.branch}, "base": {"sha": pr.base, "ref": "main"},
            "merge_commit_sha": pr.merge}


@route("GET", r"/repos/{repo}")
def get_repository(gh: GitHub, m, r: Request) -> Answer:
    return Answer(200, {"full_name": gh.repository, "default_branch": "main",
                        "private": True, "name": gh.repository.split("/")[1]})


@route("GET", r"/repos/{repo}/pulls/(?P<n>\d+)", ("pull-requests", "read"))
def get_pull(gh: GitHub, m, r: Request) -> Answer:
    pr = _pr(gh, m["n"])
    return Answer(200, _pr_json(pr)) if pr else Answer(404, {"message": "Not Found"})


@route("GET", r"/repos/{repo}/pulls/(?P<n>\d+)/files", ("pull-requests", "read"))
def list_pull_files(gh: GitHub, m, r: Request) -> Answer:
    pr = _pr(gh, m["n"])
    if not pr:
        return Answer(404, {"message": "Not Found"})
    return Answer(200, [{"filename": f, "status": "modified" if gh.remote.show(pr.base, f)
                         else "added", "sha": gh.remote.blob_sha(pr.head, f)
                         if gh.remote.show(pr.head, f) is not None else None}
                        for f in pr.files])


@route("GET", r"/repos/{repo}/commits/(?P<sha>[0-9a-f]{40})/pulls", ("pull-requests", "read"))
def list_commit_pulls(gh: GitHub, m, r: Request) -> Answer:
    return Answer(200, [_pr_json(pr) for pr in gh.remote.pulls.values()
                        if m["sha"] in (pr.head, pr.merge)])


@route("GET", r"/repos/{repo}/contents/(?P<path>.+)", ("contents", "read"))
def get_contents(gh: GitHub, m, r: Request) -> Answer:
    ref = r.query.get("ref", "main")
    data = gh.remote.show(ref, m["path"])
    if data is None:
        return Answer(404, {"message": "Not Found"})
    if "vnd.github.raw" in r.accept:  # the file itself, as GitHub's raw media type gives it
        return Answer(200, data, "application/octet-stream")
    return Answer(200, {"type": "file", "path": m["path"], "name": m["path"].rsplit("/", 1)[-1],
                        "encoding": "base64", "size": len(data),
                        "sha": gh.remote.blob_sha(ref, m["path"]),
                        "content": base64.encodebytes(data).decode()})


@route("GET", r"/repos/{repo}/issues/(?P<n>\d+)/comments", ("issues|pull-requests", "read"))
def list_comments(gh: GitHub, m, r: Request) -> Answer:
    return Answer(200, gh.comments.get(int(m["n"]), []))


@route("POST", r"/repos/{repo}/issues/(?P<n>\d+)/comments", ("issues|pull-requests", "write"))
def create_comment(gh: GitHub, m, r: Request) -> Answer:
    comment = {"id": gh.new_id(), "body": str(r.body.get("body", "")),
               "user": {"login": "github-actions[bot]"}, "issue": int(m["n"])}
    gh.comments.setdefault(int(m["n"]), []).append(comment)
    return Answer(201, comment)


@route("PATCH", r"/repos/{repo}/issues/comments/(?P<id>\d+)", ("issues|pull-requests", "write"))
def update_comment(gh: GitHub, m, r: Request) -> Answer:
    for comments in gh.comments.values():
        for comment in comments:
            if comment["id"] == int(m["id"]):
                comment["body"] = str(r.body.get("body", ""))
                return Answer(200, comment)
    return Answer(404, {"message": "Not Found"})


def _workflow_json(w: WorkflowRecord) -> dict:
    return {"id": w.id, "name": w.name, "path": f".github/workflows/{w.file}", "state": w.state}


@route("GET", r"/repos/{repo}/actions/workflows", ("actions", "read"))
def list_workflows(gh: GitHub, m, r: Request) -> Answer:
    return Answer(200, {"total_count": len(gh.workflows),
                        "workflows": [_workflow_json(w) for w in gh.workflows.values()]})


@route("GET", r"/repos/{repo}/actions/workflows/(?P<w>[^/]+)", ("actions", "read"))
def get_workflow(gh: GitHub, m, r: Request) -> Answer:
    w = gh.workflow(m["w"])
    return Answer(200, _workflow_json(w)) if w else Answer(404, {"message": "Not Found"})


@route("PUT", r"/repos/{repo}/actions/workflows/(?P<w>[^/]+)/enable", ("actions", "write"))
def enable_workflow(gh: GitHub, m, r: Request) -> Answer:
    w = gh.workflow(m["w"])
    if not w:
        return Answer(404, {"message": "Not Found"})
    w.state = "active"
    return Answer(204)


@route("POST", r"/repos/{repo}/actions/workflows/(?P<w>[^/]+)/dispatches", ("actions", "write"))
def dispatch_workflow(gh: GitHub, m, r: Request) -> Answer:
    w = gh.workflow(m["w"])
    if not w:
        return Answer(404, {"message": "Not Found"})
    if w.state != "active":
        return Answer(422, {"message": f"Cannot trigger a 'workflow_dispatch' on a disabled "
                                       f"workflow ({w.state})"})
    if "ref" not in r.body:
        return Answer(422, {"message": "Invalid request: ref is required"})
    ref, inputs = str(r.body["ref"]), dict(r.body.get("inputs") or {})
    refused = gh.on_dispatch(w.file, ref, inputs) if gh.on_dispatch else None
    if refused:
        return Answer(422, {"message": refused})
    gh.dispatches.append((w.file, ref, inputs))
    return Answer(204)


def _run_json(run: RunRecord, gh: GitHub) -> dict:
    return {"id": run.id, "name": run.name, "head_branch": run.head_branch,
            "head_sha": run.head_sha, "status": run.status, "conclusion": run.conclusion,
            "event": run.event, "workflow_id": gh.workflows[run.workflow_file].id,
            "run_number": run.id, "run_attempt": 1, "created_at": run.created_at,
            "updated_at": run.created_at, "display_title": run.name,
            "path": f".github/workflows/{run.workflow_file}",
            "url": f"{API}/repos/{gh.repository}/actions/runs/{run.id}"}


@route("GET", r"/repos/{repo}/actions/workflows/(?P<w>[^/]+)/runs", ("actions", "read"))
def list_workflow_runs(gh: GitHub, m, r: Request) -> Answer:
    w = gh.workflow(m["w"])
    runs = [run for run in sorted(gh.runs.values(), key=lambda x: -x.id)
            if w and run.workflow_file == w.file
            and r.query.get("branch") in (None, run.head_branch)
            and r.query.get("status") in (None, run.status, run.conclusion)
            and r.query.get("event") in (None, run.event)]
    runs = runs[:int(r.query.get("per_page", 30))]
    return Answer(200, {"total_count": len(runs), "workflow_runs": [_run_json(x, gh)
                                                                    for x in runs]})


@route("GET", r"/repos/{repo}/actions/runs/(?P<id>\d+)", ("actions", "read"))
def get_run(gh: GitHub, m, r: Request) -> Answer:
    run = gh.runs.get(int(m["id"]))
    return Answer(200, _run_json(run, gh)) if run else Answer(404, {"message": "Not Found"})


@route("GET", r"/repos/{repo}/actions/runs/(?P<id>\d+)/artifacts", ("actions", "read"))
def list_run_artifacts(gh: GitHub, m, r: Request) -> Answer:
    found = gh.artifacts.find(int(m["id"]), r.query.get("name"))
    return Answer(200, {"total_count": len(found), "artifacts": [
        gh.artifacts.describe(a, API, gh.repository) for a in found]})


@route("GET", r"/repos/{repo}/actions/artifacts/(?P<id>\d+)/zip", ("actions", "read"))
def download_artifact(gh: GitHub, m, r: Request) -> Answer:
    artifact = gh.artifacts.by_id(int(m["id"]))
    if not artifact:
        return Answer(404, {"message": "Not Found"})
    return Answer(200, artifact.zip_bytes(), "application/zip")


# --- the server -------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    github: GitHub

    def log_message(self, *args) -> None:
        pass

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        auth = self.headers.get("Authorization") or ""
        token = auth.split(" ", 1)[1].strip() if " " in auth else None
        answer = self.github.handle(self.command, self.path, body, token,
                                    self.headers.get("Accept") or "")
        self.github.requests.append((self.command, urlsplit(self.path).path, answer.status))
        data = answer.body if isinstance(answer.body, bytes) else (
            b"" if answer.body is None else json.dumps(answer.body).encode())
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve


class GitHubServer:
    """``with GitHubServer(github) as server:``; ``server.base`` for direct clients."""

    def __init__(self, github: GitHub):
        handler = type("Handler", (_Handler,), {"github": github})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> GitHubServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
