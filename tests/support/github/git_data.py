"""The git data API over a real bare repository (``FakeGitHub(repo=...)``): blobs,
trees, commits and refs are git's own, so a test reads what the staff form saved
with ``git show``. The calls Decap CMS's GitHub backend makes: branches, refs,
trees, blobs, commits, a branch's commits and a comparison of two.
"""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
from datetime import UTC, datetime

from .oauth import USER
from .routes import Answer, Routes, not_found

ROUTES = Routes()
READ, WRITE = ("contents", "read"), ("contents", "write")


def git(github, *args: str, stdin: bytes | None = None, env: dict | None = None) -> str:
    done = subprocess.run(["git", "--git-dir", str(github.repo), *args], input=stdin,
                          capture_output=True, check=True, env={**os.environ, **(env or {})})
    return done.stdout.decode().strip()


def commit_of(github, ref: str) -> str | None:
    if github.repo is None:
        return None
    try:
        return git(github, "rev-parse", "--verify", "--quiet", ref + "^{commit}")
    except subprocess.CalledProcessError:
        return None


def _named(github, name: str) -> str | None:
    """A branch (``owner:branch`` too) or a commit's sha."""
    name = name.split(":")[-1]
    return commit_of(github, f"refs/heads/{name}") or commit_of(github, name)


@ROUTES("GET", r"{repo}/branches/(?P<name>.+)", "branch", READ)
def branch(github, m, r) -> Answer:
    sha = commit_of(github, f"refs/heads/{m['name']}")
    if sha is None:
        return Answer(404, {"message": "Branch not found"})
    tree = git(github, "rev-parse", sha + "^{tree}")
    return Answer(200, {"name": m["name"], "commit": {"sha": sha, "commit": {"tree": {
        "sha": tree}}}})


@ROUTES("GET", r"{repo}/git/refs/(?P<name>.+)", "ref", READ)
def ref(github, m, r) -> Answer:
    sha = commit_of(github, f"refs/{m['name']}")
    if sha is None:
        return not_found()
    return Answer(200, {"ref": f"refs/{m['name']}", "object": {"sha": sha, "type": "commit"}})


@ROUTES("GET", r"{repo}/git/trees/(?P<spec>.+)", "tree", READ)
def tree(github, m, r) -> Answer:
    ref, _, folder = m["spec"].partition(":")
    args = ["ls-tree", "-l", *(["-r"] if r.query.get("recursive") else []),
            f"{commit_of(github, f'refs/heads/{ref}') or ref}:{folder}"]
    try:
        listing = git(github, *args)
    except subprocess.CalledProcessError:
        return not_found()
    entries = []
    for line in filter(None, listing.splitlines()):
        meta, path = line.split("\t", 1)
        mode, kind, sha, size = meta.split()
        entries.append({"path": path, "mode": mode, "type": kind, "sha": sha,
                        **({"size": int(size)} if size != "-" else {})})
    return Answer(200, {"sha": "", "tree": entries, "truncated": False})


@ROUTES("GET", r"{repo}/git/blobs/(?P<sha>\w+)", "blob", READ)
def blob(github, m, r) -> Answer:
    data = subprocess.run(["git", "--git-dir", str(github.repo), "cat-file", "blob", m["sha"]],
                          capture_output=True, check=True).stdout
    return Answer(200, {"sha": m["sha"], "size": len(data), "encoding": "base64",
                        "content": base64.b64encode(data).decode()})


@ROUTES("POST", r"{repo}/git/blobs", "new blob", WRITE)
def new_blob(github, m, r) -> Answer:
    data = (base64.b64decode(r.body["content"]) if r.body.get("encoding") == "base64"
            else r.body["content"].encode())
    return Answer(201, {"sha": git(github, "hash-object", "-w", "--stdin", stdin=data)})


@ROUTES("POST", r"{repo}/git/trees", "new tree", WRITE)
def new_tree(github, m, r) -> Answer:
    index = github.repo / f"index-{secrets.token_hex(4)}"
    env = {"GIT_INDEX_FILE": str(index)}
    try:
        if r.body.get("base_tree"):
            git(github, "read-tree", r.body["base_tree"], env=env)
        for item in r.body["tree"]:
            if item.get("sha") is None:
                git(github, "update-index", "--force-remove", item["path"], env=env)
            else:
                git(github, "update-index", "--add", "--cacheinfo",
                    f"{item['mode']},{item['sha']},{item['path']}", env=env)
        sha = git(github, "write-tree", env=env)
    finally:
        index.unlink(missing_ok=True)
    return Answer(201, {"sha": sha, "tree": []})


@ROUTES("POST", r"{repo}/git/commits", "new commit", WRITE)
def new_commit(github, m, r) -> Answer:
    parents = [arg for p in r.body.get("parents", []) for arg in ("-p", p)]
    env = {"GIT_AUTHOR_NAME": USER["name"], "GIT_AUTHOR_EMAIL": USER["email"],
           "GIT_COMMITTER_NAME": USER["name"], "GIT_COMMITTER_EMAIL": USER["email"]}
    sha = git(github, "commit-tree", r.body["tree"], *parents, "-m", r.body["message"], env=env)
    return Answer(201, {"sha": sha, "tree": {"sha": r.body["tree"]},
                        "message": r.body["message"],
                        "parents": [{"sha": p} for p in r.body.get("parents", [])]})


@ROUTES("POST", r"{repo}/git/refs", "new ref", WRITE)
def new_ref(github, m, r) -> Answer:
    if commit_of(github, r.body["ref"]) is not None:
        return Answer(422, {"message": "Reference already exists"})
    git(github, "update-ref", r.body["ref"], r.body["sha"])
    return Answer(201, {"ref": r.body["ref"], "object": {"sha": r.body["sha"],
                                                         "type": "commit"}})


@ROUTES("PATCH", r"{repo}/git/refs/(?P<name>.+)", "move ref", WRITE)
def move_ref(github, m, r) -> Answer:
    git(github, "update-ref", f"refs/{m['name']}", r.body["sha"])
    return Answer(200, {"ref": f"refs/{m['name']}", "object": {"sha": r.body["sha"],
                                                               "type": "commit"}})


@ROUTES("GET", r"{repo}/commits", "commits", READ)
def commits(github, m, r) -> Answer:
    sha = _named(github, r.query.get("sha", "main")) or commit_of(github, "refs/heads/main")
    return Answer(200, [{"sha": sha, "commit": {"author": {
        "name": USER["name"], "date": datetime.now(UTC).isoformat()}},
        "author": {"login": USER["login"]}}])


@ROUTES("GET", r"{repo}/compare/(?P<spec>.+)", "compare", READ)
def compare(github, m, r) -> Answer:
    base, _, head = m["spec"].partition("...")
    base_sha, head_sha = _named(github, base), _named(github, head)
    if base_sha is None or head_sha is None:
        return not_found()
    status = {"A": "added", "M": "modified", "D": "removed"}
    files = []
    for line in filter(None, git(github, "diff", "--name-status", base_sha,
                                 head_sha).splitlines()):
        kind, path = line.split("\t", 1)
        files.append({"filename": path, "status": status.get(kind[0], "modified"),
                      "sha": git(github, "rev-parse", f"{head_sha}:{path}")
                      if kind[0] != "D" else None})
    shas = git(github, "rev-list", "--reverse", f"{base_sha}..{head_sha}").split()
    return Answer(200, {"status": "ahead", "ahead_by": len(shas), "behind_by": 0,
                        "commits": [{"sha": c, "commit": {"message": git(
                            github, "log", "-1", "--format=%s", c)}} for c in shas],
                        "files": files, "merge_base_commit": {"sha": base_sha}})
