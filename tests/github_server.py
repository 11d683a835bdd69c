"""A real HTTP server on 127.0.0.1 that answers like GitHub for the staff form's login
and saves: the OAuth app's two addresses and the REST calls Decap CMS's GitHub backend
makes, over a real bare git repository (blobs, trees, commits and refs are git's own,
so a test reads the saved draft with ``git show``).

- ``GET /login/oauth/authorize``: the user approves at once; a redirect to the app's
  callback with a one-time ``code`` and the ``state`` given;
- ``POST /login/oauth/access_token``: that code, the client id and secret -> a token
  (GitHub's error body for anything else);
- the REST API under ``/api/v3`` (GitHub Enterprise's layout, so ``github_url`` names
  both): ``GET /user``, ``GET /repos/{o}/{r}``, branches, ``git/trees/{ref}:{folder}``,
  ``git/blobs`` (read and create), ``git/trees`` and ``git/commits`` (create),
  ``git/refs`` (create, update), pulls (list, create) and their labels, with CORS as
  GitHub's API answers a browser; a request without the token is 401.

``requests`` records every call as ``(method, path)``; ``unknown`` the ones this fake
does not know (answered 404, as GitHub answers what it does not have).
"""

from __future__ import annotations

import base64
import json
import secrets
import subprocess
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

API = "/api/v3"
CLIENT_ID, CLIENT_SECRET = "Iv1.banditoretest", "test-client-secret"
USER = {"login": "redazione", "name": "Redazione Comune", "id": 1,
        "avatar_url": "", "email": "redazione@comune.invalid"}


class GitHubServer:
    """``with GitHubServer(bare_repo, "comune/avvisi", callback) as gh:``; ``gh.base``."""

    def __init__(self, repo: Path, full_name: str, callback: str):
        self.repo, self.full_name, self.callback = repo, full_name, callback
        self.codes: set[str] = set()
        self.tokens: set[str] = set()
        self.pulls: list[dict] = []
        self.requests: list[tuple[str, str]] = []
        self.unknown: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        handler = type("BoundHandler", (_Handler,), {"fake": self})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> GitHubServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def git(self, *args: str, stdin: bytes | None = None, env: dict | None = None) -> str:
        import os
        done = subprocess.run(["git", "--git-dir", str(self.repo), *args], input=stdin,
                              capture_output=True, check=True,
                              env={**os.environ, **(env or {})})
        return done.stdout.decode().strip()


class _Handler(BaseHTTPRequestHandler):
    fake: GitHubServer

    def log_message(self, *args):
        pass

    # --- plumbing ---------------------------------------------------------------------
    def _send(self, status: int, body: object = None, headers: dict | None = None):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Expose-Headers", "Link")
        if body is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _json(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"{}")

    def do_OPTIONS(self):  # a browser's CORS preflight
        self.send_response(204)
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Allow-Methods", "GET, POST, PATCH, PUT, DELETE")
        self.send_header("Access-Control-Allow-Headers", "Authorization, Content-Type")
        self.send_header("Access-Control-Max-Age", "600")
        self.end_headers()

    def do_GET(self):
        self._route("GET")

    def do_POST(self):
        self._route("POST")

    def do_PATCH(self):
        self._route("PATCH")

    def do_PUT(self):
        self._route("PUT")

    def _route(self, method: str):
        url = urlsplit(self.path)
        path, query = unquote(url.path), parse_qs(url.query)
        fake = self.fake
        with fake.lock:
            fake.requests.append((method, path))
        if path == "/login/oauth/authorize" and method == "GET":
            return self._authorize(query)
        if path == "/login/oauth/access_token" and method == "POST":
            return self._access_token()
        if not path.startswith(API):
            return self._unknown(method, path)
        if self.headers.get("Authorization", "").split(" ")[-1] not in fake.tokens:
            return self._send(401, {"message": "Bad credentials"})
        rest = path.removeprefix(API)
        if rest in ("/user", f"/users/{USER['login']}"):
            return self._send(200, USER)
        repo = f"/repos/{fake.full_name}"
        if not rest.startswith(repo):
            return self._unknown(method, path)
        return _RepoCalls(self, fake).answer(method, rest.removeprefix(repo), query)

    def _unknown(self, method: str, path: str):
        with self.fake.lock:
            self.fake.unknown.append((method, path))
        self._send(404, {"message": "Not Found"})

    # --- OAuth ---------------------------------------------------------------------
    def _authorize(self, query: dict):
        if query.get("client_id", [""])[0] != CLIENT_ID:
            return self._send(404, {"message": "Not Found"})
        code = secrets.token_hex(10)
        self.fake.codes.add(code)
        target = self.fake.callback + "?" + urlencode(
            {"code": code, "state": query.get("state", [""])[0]})
        self._send(302, None, {"Location": target})

    def _access_token(self):
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode())
        code = form.get("code", [""])[0]
        good = (form.get("client_id", [""])[0] == CLIENT_ID
                and form.get("client_secret", [""])[0] == CLIENT_SECRET
                and code in self.fake.codes)
        if not good:
            return self._send(200, {"error": "bad_verification_code",
                                    "error_description": "The code passed is incorrect."})
        self.fake.codes.discard(code)
        token = "gho_" + secrets.token_hex(16)
        self.fake.tokens.add(token)
        self._send(200, {"access_token": token, "token_type": "bearer", "scope": "repo"})


class _RepoCalls:
    """The repository's REST calls, on the bare repository."""

    def __init__(self, handler: _Handler, fake: GitHubServer):
        self.h, self.fake = handler, fake

    def answer(self, method: str, rest: str, query: dict):
        routes = [
            ("GET", "", self.repo), ("GET", "/branches/", self.branch),
            ("GET", "/git/trees/", self.tree), ("GET", "/git/blobs/", self.blob),
            ("POST", "/git/blobs", self.new_blob), ("POST", "/git/trees", self.new_tree),
            ("POST", "/git/commits", self.new_commit), ("POST", "/git/refs", self.new_ref),
            ("PATCH", "/git/refs/", self.move_ref), ("GET", "/pulls", self.list_pulls),
            ("POST", "/pulls", self.new_pull), ("PUT", "/issues/", self.labels),
            ("GET", "/commits", self.commits), ("GET", "/git/refs/", self.ref),
            ("GET", "/compare/", self.compare),
        ]
        for verb, prefix, call in routes:
            exact = prefix in ("", "/git/blobs", "/git/trees", "/git/commits", "/git/refs",
                               "/pulls", "/commits")
            if verb == method and (rest == prefix if exact else rest.startswith(prefix)):
                return call(rest.removeprefix(prefix), query)
        return self.h._unknown(method, rest)

    def _ok(self, body, status: int = 200):
        self.h._send(status, body)

    def _sha(self, ref: str) -> str | None:
        try:
            return self.fake.git("rev-parse", "--verify", "--quiet", ref + "^{commit}")
        except subprocess.CalledProcessError:
            return None

    def _commit(self, name: str) -> str | None:
        """A branch (``owner:branch`` too) or a commit's sha."""
        name = name.split(":")[-1]
        return self._sha(f"refs/heads/{name}") or self._sha(name)

    def repo(self, _, query):
        self._ok({"name": self.fake.full_name.split("/")[1], "full_name": self.fake.full_name,
                  "owner": {"login": self.fake.full_name.split("/")[0]},
                  "default_branch": "main", "permissions": {"admin": False, "push": True,
                                                            "pull": True}})

    def branch(self, name, query):
        sha = self._sha(f"refs/heads/{name}")
        if sha is None:
            return self._ok({"message": "Branch not found"}, 404)
        self._ok({"name": name, "commit": {"sha": sha, "commit": {"tree": {"sha": self.fake.git(
            "rev-parse", sha + "^{tree}")}}}})

    def ref(self, name, query):
        sha = self._sha(f"refs/{name}")
        if sha is None:
            return self._ok({"message": "Not Found"}, 404)
        self._ok({"ref": f"refs/{name}", "object": {"sha": sha, "type": "commit"}})

    def tree(self, spec, query):
        ref, _, folder = spec.partition(":")
        args = ["ls-tree", "-l", *(["-r"] if query.get("recursive") else []),
                f"{self._sha(f'refs/heads/{ref}') or ref}:{folder}"]
        try:
            listing = self.fake.git(*args)
        except subprocess.CalledProcessError:
            return self._ok({"message": "Not Found"}, 404)
        tree = []
        for line in filter(None, listing.splitlines()):
            meta, path = line.split("\t", 1)
            mode, kind, sha, size = meta.split()
            tree.append({"path": path, "mode": mode, "type": kind, "sha": sha,
                         **({"size": int(size)} if size != "-" else {})})
        self._ok({"sha": "", "tree": tree, "truncated": False})

    def blob(self, sha, query):
        data = subprocess.run(["git", "--git-dir", str(self.fake.repo), "cat-file", "blob", sha],
                              capture_output=True, check=True).stdout
        self._ok({"sha": sha, "size": len(data), "encoding": "base64",
                  "content": base64.b64encode(data).decode()})

    def new_blob(self, _, query):
        body = self.h._json()
        data = (base64.b64decode(body["content"]) if body.get("encoding") == "base64"
                else body["content"].encode())
        self._ok({"sha": self.fake.git("hash-object", "-w", "--stdin", stdin=data)}, 201)

    def new_tree(self, _, query):
        body = self.h._json()
        index = self.fake.repo / f"index-{secrets.token_hex(4)}"
        env = {"GIT_INDEX_FILE": str(index)}
        try:
            if body.get("base_tree"):
                self.fake.git("read-tree", body["base_tree"], env=env)
            for item in body["tree"]:
                if item.get("sha") is None:
                    self.fake.git("update-index", "--force-remove", item["path"], env=env)
                else:
                    self.fake.git("update-index", "--add", "--cacheinfo",
                                  f"{item['mode']},{item['sha']},{item['path']}", env=env)
            sha = self.fake.git("write-tree", env=env)
        finally:
            index.unlink(missing_ok=True)
        self._ok({"sha": sha, "tree": []}, 201)

    def new_commit(self, _, query):
        body = self.h._json()
        parents = [arg for p in body.get("parents", []) for arg in ("-p", p)]
        env = {"GIT_AUTHOR_NAME": USER["name"], "GIT_AUTHOR_EMAIL": USER["email"],
               "GIT_COMMITTER_NAME": USER["name"], "GIT_COMMITTER_EMAIL": USER["email"]}
        sha = self.fake.git("commit-tree", body["tree"], *parents, "-m", body["message"],
                            env=env)
        self._ok({"sha": sha, "tree": {"sha": body["tree"]}, "message": body["message"],
                  "parents": [{"sha": p} for p in body.get("parents", [])]}, 201)

    def new_ref(self, _, query):
        body = self.h._json()
        if self._sha(body["ref"]) is not None:
            return self._ok({"message": "Reference already exists"}, 422)
        self.fake.git("update-ref", body["ref"], body["sha"])
        self._ok({"ref": body["ref"], "object": {"sha": body["sha"], "type": "commit"}}, 201)

    def move_ref(self, name, query):
        body = self.h._json()
        self.fake.git("update-ref", f"refs/{name}", body["sha"])
        self._ok({"ref": f"refs/{name}", "object": {"sha": body["sha"], "type": "commit"}})

    def list_pulls(self, _, query):
        head = query.get("head", [""])[0].split(":")[-1]
        found = [p for p in self.fake.pulls if p["state"] == query.get("state", ["open"])[0]
                 and (not head or p["head"]["ref"] == head)]
        for pull in found:  # the head moves with the branch
            pull["head"]["sha"] = self._sha(f"refs/heads/{pull['head']['ref']}")
        self._ok(found)

    def new_pull(self, _, query):
        body = self.h._json()
        head = body["head"].split(":")[-1]
        number = len(self.fake.pulls) + 1
        pull = {"number": number, "id": number, "state": "open", "title": body["title"],
                "body": body.get("body", ""), "labels": [], "user": {"login": USER["login"]},
                "head": {"ref": head, "sha": self._sha(f"refs/heads/{head}"),
                         "label": body["head"]},
                "base": {"ref": body["base"]}, "html_url": f"{self.fake.base}/pull/{number}",
                "created_at": datetime.now(UTC).isoformat(),
                "updated_at": datetime.now(UTC).isoformat()}
        self.fake.pulls.append(pull)
        self._ok(pull, 201)

    def labels(self, rest, query):
        number = int(rest.split("/")[0])
        labels = [{"name": name} for name in self.h._json().get("labels", [])]
        self.fake.pulls[number - 1]["labels"] = labels
        self._ok(labels)

    def compare(self, spec, query):
        base, _, head = spec.partition("...")
        base_sha, head_sha = self._commit(base), self._commit(head)
        if base_sha is None or head_sha is None:
            return self._ok({"message": "Not Found"}, 404)
        status = {"A": "added", "M": "modified", "D": "removed"}
        files = []
        for line in filter(None, self.fake.git("diff", "--name-status", base_sha,
                                               head_sha).splitlines()):
            kind, path = line.split("\t", 1)
            files.append({"filename": path, "status": status.get(kind[0], "modified"),
                          "sha": self.fake.git("rev-parse", f"{head_sha}:{path}")
                          if kind[0] != "D" else None})
        commits = self.fake.git("rev-list", "--reverse", f"{base_sha}..{head_sha}").split()
        self._ok({"status": "ahead", "ahead_by": len(commits), "behind_by": 0,
                  "commits": [{"sha": c, "commit": {"message": self.fake.git(
                      "log", "-1", "--format=%s", c)}} for c in commits],
                  "files": files, "merge_base_commit": {"sha": base_sha}})

    def commits(self, _, query):
        sha = self._sha(query.get("sha", ["main"])[0]) or self._sha("refs/heads/main")
        self._ok([{"sha": sha, "commit": {"author": {"name": USER["name"],
                                                     "date": datetime.now(UTC).isoformat()}},
                   "author": {"login": USER["login"]}}])
