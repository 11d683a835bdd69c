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

The standard library's client, as for the rest of the receiver: ``requests``
would add megabytes to every worker for four calls
(docs/whatsapp-webhook-measurements.md). Redirects are not followed (the token
would go along).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from .. import __version__

WORKFLOW = "send.yml"
TIMEOUT = 10.0  # seconds to connect, and for each read of an answer
ACTIVE, DISABLED_INACTIVITY = "active", "disabled_inactivity"


class GitHubError(Exception):
    """A call GitHub refused or did not answer. ``status`` is None without an answer."""

    def __init__(self, call: str, status: int | None, detail: str = ""):
        super().__init__(f"{call}: {status or 'no answer'} {detail}".strip())
        self.status = status
        self.transient = status is None or status >= 500 or status == 429 or (
            status == 403 and "rate limit" in detail.lower())


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a 3xx is then an answer like any other refusal


class GitHubActions:
    """One repository's send workflow, as the dispatch token sees it."""

    def __init__(self, api_base: str, repository: str, token: str,
                 workflow: str = WORKFLOW, timeout: float = TIMEOUT):
        self.repository = repository
        self.workflow = workflow
        self._repo_url = f"{api_base.rstrip('/')}/repos/{repository}"
        self._workflow_url = f"{self._repo_url}/actions/workflows/{workflow}"
        self._timeout = timeout
        self._opener = urllib.request.build_opener(_NoRedirects)
        self._headers = {
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {token}",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": f"banditore/{__version__}",
        }
        self._branch: str | None = None

    def default_branch(self) -> str:
        if self._branch is None:
            branch = self._call("GET", self._repo_url, "repository").get("default_branch")
            if not isinstance(branch, str) or not branch:
                raise GitHubError("repository", 200, "without a default branch")
            self._branch = branch
        return self._branch

    def state(self) -> str:
        """``active``, ``disabled_inactivity``, ``disabled_manually``, ``disabled_fork``..."""
        return str(self._call("GET", self._workflow_url, "workflow").get("state", ""))

    def enable(self) -> None:
        self._call("PUT", f"{self._workflow_url}/enable", "enable")

    def dispatch(self) -> str:
        """Start the workflow on the default branch; returns that branch."""
        ref = self.default_branch()
        try:
            self._call("POST", f"{self._workflow_url}/dispatches", "dispatch", {"ref": ref})
        except GitHubError as exc:
            if exc.status == 422:
                self._branch = None
            raise
        return ref

    def _call(self, method: str, url: str, call: str, body: dict | None = None) -> dict:
        """The answer's JSON object ({} for none); a GitHubError for anything but 2xx."""
        data = json.dumps(body).encode() if body is not None else None
        headers = {**self._headers, **({"Content-Type": "application/json"} if data else {})}
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with self._opener.open(request, timeout=self._timeout) as answer:
                return _json(answer.read())
        except urllib.error.HTTPError as exc:
            with exc:
                detail = str(_json(exc.read()).get("message", ""))[:200]
            raise GitHubError(call, exc.code, detail) from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            # No answer: refused, reset, timed out (the reason, never the URL).
            raise GitHubError(call, None, type(exc).__name__) from None


def _json(raw: bytes) -> dict:
    try:
        value = json.loads(raw) if raw.strip() else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


__all__ = ["ACTIVE", "DISABLED_INACTIVITY", "WORKFLOW", "GitHubActions", "GitHubError"]
