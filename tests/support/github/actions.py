"""The repository and its workflows, as the receiver's dispatcher calls them
(runner/webhook/github.py): the default branch, a workflow's state, enabling it, and
``workflow_dispatch``.

- ``GET /repos/{o}/{r}``: the repository, with its default branch;
- ``GET .../actions/workflows/{file}``: ``{"state": ...}`` (``github.workflows``);
- ``PUT .../enable``: 204, and the workflow's state becomes ``active``;
- ``POST .../dispatches``: 204 for ``{"ref": <the default branch>}``; 422 with
  GitHub's message for another ref, and while the workflow is not active.
"""

from __future__ import annotations

from .routes import Answer, Routes, not_found

ROUTES = Routes()
WORKFLOW = r"{repo}/actions/workflows/(?P<file>[^/]+)"


@ROUTES("GET", r"{repo}", "repo")
def repository(github, m, r) -> Answer:
    owner, name = github.repository.split("/")
    return Answer(200, {"name": name, "full_name": github.repository,
                        "owner": {"login": owner}, "default_branch": github.default_branch,
                        "permissions": {"admin": False, "push": True, "pull": True}})


@ROUTES("GET", WORKFLOW, "state", ("actions", "read"))
def workflow(github, m, r) -> Answer:
    if m["file"] not in github.workflows:
        return not_found()
    return Answer(200, {"id": 1, "path": f".github/workflows/{m['file']}",
                        "state": github.workflows[m["file"]]})


@ROUTES("PUT", WORKFLOW + "/enable", "enable", ("actions", "write"))
def enable(github, m, r) -> Answer:
    if m["file"] not in github.workflows:
        return not_found()
    github.workflows[m["file"]] = "active"
    return Answer(204)


@ROUTES("POST", WORKFLOW + "/dispatches", "dispatch", ("actions", "write"))
def dispatch(github, m, r) -> Answer:
    if m["file"] not in github.workflows:
        return not_found()
    if github.workflows[m["file"]] != "active":
        return Answer(422, {"message": "Workflow is disabled"})
    if r.body.get("ref") != github.default_branch:
        return Answer(422, {"message": f"No ref found for: {r.body.get('ref')}"})
    return Answer(204)
