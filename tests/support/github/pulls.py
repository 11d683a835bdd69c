"""Pull requests, their files, the contents of files at a commit, and their comments:
what the review-comment workflow's ``gh`` calls, and what the staff form (Decap
CMS's GitHub backend) opens for a draft.

A pull request given by the test (``FakeGitHub(pulls=[...])``) answers with the heads
it was given, one per call (a push while the workflow runs), its files and the
contents at a commit; one the form opens gets its head from the git repository
behind the fake (tests/support/github/git_data.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from .git_data import commit_of
from .oauth import USER
from .routes import Answer, Routes, not_found

ROUTES = Routes()
PULL = r"{repo}/pulls/(?P<n>\d+)"


@dataclass
class PullRequest:
    number: int
    heads: list[str] = field(default_factory=list)  # what .head.sha answers, one per call
    files: list[dict] = field(default_factory=list)  # as /pulls/N/files lists them
    contents: dict[tuple[str, str], bytes] = field(default_factory=dict)  # (path, ref)
    comments: list[dict] = field(default_factory=list)
    posted: list[tuple[str, str, str]] = field(default_factory=list)  # (method, path, body)
    branch: str = ""  # the head branch, in the git repository (the form's drafts)
    base: str = "main"
    title: str = ""
    body: str = ""
    state: str = "open"
    label: str = ""  # the head as the form named it ("owner:branch")
    labels: list[str] = field(default_factory=list)
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    def head(self, github) -> str | None:
        """The head commit: the next scripted one (the last stays), or the branch's."""
        if self.heads:
            return self.heads.pop(0) if len(self.heads) > 1 else self.heads[0]
        return commit_of(github, f"refs/heads/{self.branch}")

    def json(self, github) -> dict:
        return {"number": self.number, "id": self.number, "state": self.state,
                "title": self.title, "body": self.body, "user": {"login": USER["login"]},
                "labels": [{"name": name} for name in self.labels],
                "head": {"sha": self.head(github), "ref": self.branch,
                         "label": self.label or self.branch},
                "base": {"ref": self.base}, "html_url": f"{github.base}/pull/{self.number}",
                "created_at": self.created_at, "updated_at": self.created_at}


@ROUTES("GET", PULL, "pull", ("pull-requests", "read"))
def get_pull(github, m, r) -> Answer:
    pull = github.pull(int(m["n"]))
    return Answer(200, pull.json(github)) if pull else not_found()


@ROUTES("GET", PULL + "/files", "files", ("pull-requests", "read"))
def list_files(github, m, r) -> Answer:
    pull = github.pull(int(m["n"]))
    return Answer(200, pull.files) if pull else not_found()


@ROUTES("GET", r"{repo}/pulls", "pulls", ("pull-requests", "read"))
def list_pulls(github, m, r) -> Answer:
    head = r.query.get("head", "").split(":")[-1]
    return Answer(200, [p.json(github) for p in github.pulls
                        if p.state == r.query.get("state", "open")
                        and (not head or p.branch == head)])


@ROUTES("POST", r"{repo}/pulls", "open", ("pull-requests", "write"))
def open_pull(github, m, r) -> Answer:
    pull = PullRequest(len(github.pulls) + 1, branch=r.body["head"].split(":")[-1],
                       label=r.body["head"], base=r.body["base"], title=r.body["title"],
                       body=r.body.get("body", ""))
    github.pulls.append(pull)
    return Answer(201, pull.json(github))


@ROUTES("PUT", r"{repo}/issues/(?P<n>\d+)/labels", "labels", ("issues|pull-requests", "write"))
def set_labels(github, m, r) -> Answer:
    pull = github.pull(int(m["n"]))
    if not pull:
        return not_found()
    pull.labels = list(r.body.get("labels", []))
    return Answer(200, [{"name": name} for name in pull.labels])


@ROUTES("GET", r"{repo}/contents/(?P<path>.+)", "contents", ("contents", "read"))
def contents(github, m, r) -> Answer:
    """A file at a commit, as GitHub's raw media type gives it."""
    key = (m["path"], r.query.get("ref", ""))
    for pull in github.pulls:
        if key in pull.contents:
            return Answer(200, pull.contents[key], "application/octet-stream")
    return not_found()


@ROUTES("GET", r"{repo}/issues/(?P<n>\d+)/comments", "comments", ("issues|pull-requests", "read"))
def list_comments(github, m, r) -> Answer:
    pull = github.pull(int(m["n"]))
    return Answer(200, pull.comments) if pull else not_found()


@ROUTES("POST", r"{repo}/issues/(?P<n>\d+)/comments", "comment", ("issues|pull-requests", "write"))
def create_comment(github, m, r) -> Answer:
    pull = github.pull(int(m["n"]))
    if not pull:
        return not_found()
    pull.posted.append(("POST", r.path, r.body["body"]))
    return Answer(201, {"id": 1})


@ROUTES("PATCH", r"{repo}/issues/comments/(?P<id>\d+)", "comment",
        ("issues|pull-requests", "write"))
def update_comment(github, m, r) -> Answer:
    for pull in github.pulls:
        if any(c["id"] == int(m["id"]) for c in pull.comments):
            pull.posted.append(("PATCH", r.path, r.body["body"]))
            return Answer(200, {"id": int(m["id"])})
    return not_found()
