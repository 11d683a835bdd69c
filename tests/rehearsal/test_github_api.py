"""The rehearsal's fake GitHub API, reached as the workflows reach GitHub's: with gh."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from rehearsal.github_api import GitHub, GitHubServer, RunRecord
from rehearsal.gitside import Remote
from rehearsal.storage import ArtifactStore

REPO = "comune/banditore"


@pytest.fixture
def github(tmp_path):
    source = tmp_path / "source"
    (source / "announcements").mkdir(parents=True)
    (source / "README.md").write_text("town\n")
    subprocess.run(["git", "init", "-q"], cwd=source, check=True)
    remote = Remote(tmp_path / "remote")
    remote.folder.mkdir()
    remote.create(source)
    github = GitHub(REPO, remote, ArtifactStore(tmp_path / "artifacts"))
    github.add_workflow("send.yml", "send")
    with GitHubServer(github) as server:
        yield github, server, tmp_path


def gh(server, tmp_path, token, *args):
    found = Path(sys.executable).with_name("gh")
    assert found.exists(), "gh is missing: pip install -e '.[rehearsal]' (make test does it)"
    env = {**os.environ, "GH_HOST": "github.localhost", "GH_TOKEN": token,
           "HTTP_PROXY": server.base, "NO_PROXY": "127.0.0.1", "GH_NO_UPDATE_NOTIFIER": "1",
           "GH_CONFIG_DIR": str(tmp_path / "gh"), "GH_REPO": REPO}
    return subprocess.run([found, *args], env=env, capture_output=True, text=True, timeout=60,
                          cwd=tmp_path)


def test_gh_reads_a_pull_request_and_comments_with_the_permission_it_has(github):
    gh_state, server, tmp_path = github
    pr = gh_state.remote.open_pull_request("annuncio", {"announcements/a.md": "x\n"}, "A")
    reader, writer = "read-token", "write-token"
    gh_state.tokens[reader] = {"contents": "read", "pull-requests": "read"}
    gh_state.tokens[writer] = {"pull-requests": "write"}
    done = gh(server, tmp_path, reader, "api", f"repos/{REPO}/pulls/{pr.number}", "--jq",
              ".head.sha")
    assert done.stdout.strip() == pr.head, done.stderr
    files = gh(server, tmp_path, reader, "api", f"repos/{REPO}/pulls/{pr.number}/files")
    assert [f["filename"] for f in json.loads(files.stdout)] == ["announcements/a.md"]
    refused = gh(server, tmp_path, reader, "api", "--method", "POST",
                 f"repos/{REPO}/issues/{pr.number}/comments", "-f", "body=hi")
    assert refused.returncode != 0 and "403" in refused.stderr
    posted = gh(server, tmp_path, writer, "api", "--method", "POST",
                f"repos/{REPO}/issues/{pr.number}/comments", "-f", "body=hi")
    assert posted.returncode == 0, posted.stderr
    assert [c["body"] for c in gh_state.comments[pr.number]] == ["hi"]
    raw = gh(server, tmp_path, reader, "api", "-H", "Accept: application/vnd.github.raw+json",
             f"repos/{REPO}/contents/announcements/a.md?ref={pr.head}")
    assert raw.stdout == "x\n", raw.stderr
    missing = gh(server, tmp_path, reader, "api", f"repos/{REPO}/teams")
    assert "the rehearsal's GitHub API has no GET" in missing.stdout + missing.stderr


def test_gh_finds_the_latest_send_run_and_downloads_its_counts(github):
    gh_state, server, tmp_path = github
    run = RunRecord(gh_state.new_id(), "send.yml", "send", "push", "main", "0" * 40,
                    status="completed", conclusion="success")
    gh_state.runs[run.id] = run
    folder = tmp_path / "made"
    folder.mkdir()
    (folder / "banditore-counts.json").write_text('{"active": 3}')
    gh_state.artifacts.upload(run.id, "banditore-counts", folder,
                              [folder / "banditore-counts.json"])
    gh_state.tokens["t"] = {"actions": "read", "contents": "read"}
    listed = gh(server, tmp_path, "t", "run", "list", "--workflow", "send.yml", "--branch",
                "main", "--status", "completed", "--limit", "1", "--json", "databaseId",
                "--jq", ".[0].databaseId")
    assert listed.stdout.strip() == str(run.id), listed.stderr
    (tmp_path / "into").mkdir()
    done = gh(server, tmp_path, "t", "run", "download", str(run.id), "--name",
              "banditore-counts", "--dir", "into")
    assert done.returncode == 0, done.stderr
    assert json.loads(Path(tmp_path / "into" / "banditore-counts.json").read_text()) == {
        "active": 3}


def call(server, method, path, token, body=None):
    request = urllib.request.Request(server.base + path, method=method,
                                     data=json.dumps(body).encode() if body else None,
                                     headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_a_workflow_disabled_for_inactivity_must_be_enabled_before_a_dispatch(github):
    gh_state, server, _ = github
    gh_state.tokens["dispatch"] = {"actions": "write"}
    gh_state.tokens["reader"] = {"actions": "read"}
    gh_state.workflows["send.yml"].state = "disabled_inactivity"
    path = f"/repos/{REPO}/actions/workflows/send.yml"
    assert call(server, "POST", path + "/dispatches", "dispatch", {"ref": "main"}) == 422
    assert call(server, "PUT", path + "/enable", "reader") == 403
    assert call(server, "PUT", path + "/enable", "dispatch") == 204
    assert call(server, "POST", path + "/dispatches", "dispatch", {"ref": "main"}) == 204
    assert call(server, "POST", path + "/dispatches", "nobody", {"ref": "main"}) == 401
    assert gh_state.dispatches == [("send.yml", "main", {})]


def test_a_dispatch_starts_a_run_or_is_refused_as_github_refuses_it(github):
    """GitHub's Actions take the dispatch (the rehearsal queues send.yml's run) or say
    why not with a 422; only a dispatch taken is counted."""
    gh_state, server, _ = github
    gh_state.tokens["dispatch"] = {"actions": "write"}
    queued = []
    gh_state.on_dispatch = lambda file, ref, inputs: (
        "No ref found for: gone" if ref == "gone" else queued.append((file, ref)))
    path = f"/repos/{REPO}/actions/workflows/send.yml/dispatches"
    assert call(server, "POST", path, "dispatch", {"ref": "gone"}) == 422
    assert call(server, "POST", path, "dispatch", {"ref": "main"}) == 204
    assert queued == [("send.yml", "main")]
    assert gh_state.dispatches == [("send.yml", "main", {})]
