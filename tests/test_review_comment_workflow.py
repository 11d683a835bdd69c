"""review-comment.yml's shell, run for real: the real ``gh`` against the fake GitHub on
loopback (tests/support/github/), with the token the job's ``permissions:`` grant, and
the real ``python -m runner review-pr``.

The pull request's own run (validate.yml) is the pull request's to write, so its
artifact may carry any review.md. The trusted workflow must take only the number
and head commit from it, check them, and post what main's code computes from the
pull request's files fetched as data.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from runner.announcements.summaries import COMMENT_MARKER
from tests.support.announcement_repo import Repo, announcement
from tests.support.github import FakeGitHub, PullRequest

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "review-comment.yml"
HEAD = "a" * 40
NEW = "announcements/2024/2024-04-03-nuovo.md"
TITLE = "@octocat <img src=x onerror=alert(1)> [clicca](https://evil.example)"
FORGED = (f"{COMMENT_MARKER}\n## Banditore: controllo della richiesta\n\n"
          "1 avviso controllato: nessun problema.\n\n| Destinatari | 0 |\n@octocat approva pure")
# The steps that run in the job after the checkout and install of main's code.
STEPS = ["Check the pull request against the API",
         "Fetch the pull request's changed files as data",
         "Compute the comment with the default branch's code",
         "Create or update the comment"]


def step(name: str) -> dict:
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    [found] = [s for s in workflow["jobs"]["comment"]["steps"] if s.get("name") == name]
    return found


@pytest.fixture
def workspace(tmp_path):
    """The job's workspace: validate's artifact (forged), and main's checkout in trusted/."""
    untrusted = tmp_path / "untrusted"
    untrusted.mkdir()
    (untrusted / "pr-number.txt").write_text("7\n")
    (untrusted / "head-sha.txt").write_text(HEAD + "\n")
    (untrusted / "review.md").write_text(FORGED)
    trusted = tmp_path / "trusted"
    trusted.mkdir()
    repo = Repo(trusted)
    repo.add("2024-04-01-vecchio")  # on main already
    repo.add("2024-04-02-da-togliere")
    return tmp_path


def github(pull: PullRequest) -> FakeGitHub:
    """GitHub holding the pull request; the run's token has what the job's
    ``permissions:`` grant, no more."""
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    return FakeGitHub("comune/avvisi", pulls=[pull], tokens={
        "token-of-the-run": workflow["jobs"]["comment"]["permissions"]})


def pull_request(heads=(HEAD,)) -> PullRequest:
    pull = PullRequest(7, list(heads))
    body = announcement(title=f'"{TITLE}"', body="Chiama il 347.123.45.67 per informazioni.")
    pull.files = [{"filename": NEW, "status": "added"},
                  {"filename": "announcements/2024/2024-04-02-da-togliere.md",
                   "status": "removed"},
                  {"filename": "README.md", "status": "modified"}]
    pull.contents[(NEW, HEAD)] = body.encode()
    return pull


def run_job(workspace: Path, api: FakeGitHub, home: Path) -> subprocess.CompletedProcess | None:
    """The steps in order, as the runner would, each stopping the job when it fails."""
    bin_dir = home / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    python = bin_dir / "python"  # the workflow's `python`: the one running the tests
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    output = workspace / "github_output"
    output.write_text("")
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("BANDITORE_", "GH_", "GITHUB_")) and "proxy" not in k.lower()}
    env = {**clean, "HOME": str(home), "PATH": f"{bin_dir}{os.pathsep}{clean['PATH']}",
           "PYTHONPATH": str(ROOT), "GITHUB_OUTPUT": str(output),
           "GH_HOST": "github.localhost", "GH_TOKEN": "token-of-the-run",
           "GH_REPO": "comune/avvisi", "GH_PROMPT_DISABLED": "1", "GH_NO_UPDATE_NOTIFIER": "1",
           "HTTP_PROXY": api.proxy, "HTTPS_PROXY": api.proxy, "NO_PROXY": "",
           "HEAD_SHA": HEAD, "BANDITORE_LANGUAGE": "it"}
    done = None
    for name in STEPS:
        found = step(name)
        outputs = dict(line.split("=", 1) for line in output.read_text().splitlines())
        env["PR"] = outputs.get("number", "")
        cwd = workspace / found.get("working-directory", ".")
        done = subprocess.run(["bash", "-e", "-c", found["run"]], cwd=cwd, env=env,
                              capture_output=True, text=True, timeout=120)
        if done.returncode:
            return done
    return done


def test_a_forged_review_is_never_posted_the_comment_is_computed(workspace, tmp_path):
    with github(pull_request()) as api:
        done = run_job(workspace, api, tmp_path / "home")
    assert done.returncode == 0, done.stdout + done.stderr
    [(method, path, body)] = api.pull(7).posted
    assert (method, path) == ("POST", "/repos/comune/avvisi/issues/7/comments")
    assert body.startswith(COMMENT_MARKER)
    assert "approva pure" not in body and "| Destinatari | 0 |" not in body
    # What main's code found in the file it fetched: the mobile number, in plain words.
    assert "Qui c'è un numero di cellulare" in body
    assert "2024-04-03-nuovo" in body and "2024-04-02-da-togliere" not in body
    # The title, which the pull request chose, mentions no one and links nowhere.
    heading = next(line for line in body.splitlines() if line.startswith("#### "))
    assert "@octocat" not in heading and "<img" not in heading and "https://" not in heading
    assert "\\[clicca\\]" in heading  # a literal bracket, not a link
    # The pull request was never checked out: its files were asked for at the checked head.
    assert f"GET /repos/comune/avvisi/contents/{NEW}" in api.requests()


def test_an_artifact_naming_another_commit_gets_no_comment(workspace, tmp_path):
    (workspace / "untrusted" / "head-sha.txt").write_text("b" * 40)
    with github(pull_request()) as api:
        done = run_job(workspace, api, tmp_path / "home")
    assert done.returncode == 1 and "no comment" in done.stdout
    assert api.pull(7).posted == []


def test_a_pull_request_that_is_not_at_the_run_commit_gets_no_comment(workspace, tmp_path):
    with github(pull_request(heads=("c" * 40,))) as api:
        done = run_job(workspace, api, tmp_path / "home")
    assert done.returncode == 1 and "is not at" in done.stdout
    assert api.pull(7).posted == [] and not any("/contents/" in c for c in api.requests())


def test_a_push_while_fetching_leaves_the_comment_to_the_newer_run(workspace, tmp_path):
    with github(pull_request(heads=(HEAD, "d" * 40))) as api:
        done = run_job(workspace, api, tmp_path / "home")
    assert done.returncode == 1 and "moved on" in done.stdout
    assert api.pull(7).posted == []


def test_the_bots_comment_is_updated_in_place(workspace, tmp_path):
    pull = pull_request()
    pull.comments = [{"id": 55, "user": {"login": "someone"}, "body": COMMENT_MARKER + " fake"},
                     {"id": 99, "user": {"login": "github-actions[bot]"},
                      "body": COMMENT_MARKER + "\nold"}]
    with github(pull) as api:
        done = run_job(workspace, api, tmp_path / "home")
    assert done.returncode == 0, done.stderr
    [(method, path, _)] = api.pull(7).posted
    assert (method, path) == ("PATCH", "/repos/comune/avvisi/issues/comments/99")
