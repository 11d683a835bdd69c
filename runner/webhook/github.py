"""The four calls the receiver makes to GitHub's REST API, and what their answers mean.

- ``GET /repos/{repo}``: the default branch, the ``ref`` a dispatch runs on. Asked
  once and kept for the life of the process rather than made a setting: one
  setting fewer to keep equal to GitHub's, and every fine-grained token may read
  a repository's metadata. A dispatch refused with 422 (the branch was renamed)
  forgets it, so the next attempt asks again.
- ``GET /repos/{repo}/actions/workflows/{workflow}``: the workflow's ``state``;
  GitHub sets ``disabled_inactivity`` on a public repository's scheduled workflows
  after 60 days without activity.
- ``PUT .../enable`` turns such a workflow on again; ``POST .../dispatches`` starts it.

The token needs *Actions: read and write* on that one repository, nothing else.
An answer that may be different a little later (a connection error, a timeout,
5xx, 429, a 403 for an exhausted rate limit) is :attr:`GitHubError.transient`;
any other refusal says what to fix and is not retried at once. Errors carry the
call and the status, never the token.
"""

from __future__ import annotations

import requests

from .. import __version__

WORKFLOW = "send.yml"
TIMEOUT = (5, 10)  # seconds to connect, to wait for an answer
ACTIVE, DISABLED_INACTIVITY = "active", "disabled_inactivity"


class GitHubError(Exception):
    """A call GitHub refused or did not answer. ``status`` is None without an answer."""

    def __init__(self, call: str, status: int | None, detail: str = ""):
        super().__init__(f"{call}: {status or 'no answer'} {detail}".strip())
        self.status = status
        self.transient = status is None or status >= 500 or status == 429 or (
            status == 403 and "rate limit" in detail.lower())


class _Bearer(requests.auth.AuthBase):
    # An explicit auth object: requests would otherwise let a ~/.netrc entry for
    # the host replace the Authorization header.
    def __init__(self, token: str):
        self._token = token

    def __call__(self, request):
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request


class GitHubActions:
    """One repository's send workflow, as the dispatch token sees it."""

    def __init__(self, api_base: str, repository: str, token: str,
                 workflow: str = WORKFLOW, timeout: tuple[float, float] = TIMEOUT):
        self.repository = repository
        self.workflow = workflow
        self._repo_url = f"{api_base.rstrip('/')}/repos/{repository}"
        self._workflow_url = f"{self._repo_url}/actions/workflows/{workflow}"
        self._timeout = timeout
        self._session = requests.Session()
        self._session.auth = _Bearer(token)
        self._session.headers.update({
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": f"banditore/{__version__}",
        })
        self._branch: str | None = None

    def default_branch(self) -> str:
        if self._branch is None:
            branch = self._call("GET", self._repo_url, "repository").json().get("default_branch")
            if not isinstance(branch, str) or not branch:
                raise GitHubError("repository", 200, "without a default branch")
            self._branch = branch
        return self._branch

    def state(self) -> str:
        """``active``, ``disabled_inactivity``, ``disabled_manually``, ``disabled_fork``..."""
        return str(self._call("GET", self._workflow_url, "workflow").json().get("state", ""))

    def enable(self) -> None:
        self._call("PUT", f"{self._workflow_url}/enable", "enable")

    def dispatch(self) -> str:
        """Start the workflow on the default branch; returns that branch."""
        ref = self.default_branch()
        try:
            self._call("POST", f"{self._workflow_url}/dispatches", "dispatch", json={"ref": ref})
        except GitHubError as exc:
            if exc.status == 422:
                self._branch = None
            raise
        return ref

    def _call(self, method: str, url: str, call: str, **kw) -> requests.Response:
        try:
            answer = self._session.request(method, url, timeout=self._timeout,
                                           allow_redirects=False, **kw)
        except requests.RequestException as exc:
            raise GitHubError(call, None, type(exc).__name__) from None
        if not 200 <= answer.status_code < 300:
            raise GitHubError(call, answer.status_code, _message(answer))
        return answer


def _message(answer: requests.Response) -> str:
    try:
        message = answer.json().get("message", "")
    except ValueError:
        message = ""
    return str(message)[:200]


__all__ = ["ACTIVE", "DISABLED_INACTIVITY", "WORKFLOW", "GitHubActions", "GitHubError"]
