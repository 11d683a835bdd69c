"""The README is tested: its two commands work in a fresh clone, and every command is documented."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from runner.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def readme_commands() -> list[str]:
    """The commands of the README's first code block, without their comments."""
    block = re.search(r"```sh\n(.*?)```", README, re.S).group(1)
    return [line.split("#")[0].strip() for line in block.splitlines() if line.strip()]


def test_readme_opens_with_exactly_the_two_commands():
    assert README.startswith("# Banditore\n\n```sh\n")
    assert readme_commands() == ["make run", "make test"]


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "\nmake test\n" in ci


def test_every_command_is_documented_with_help():
    subparsers = build_parser()._subparsers._group_actions[0]
    for name in subparsers.choices:
        assert f"`{name}" in README, f"the README does not document `{name}`"
    for action in subparsers._choices_actions:
        assert action.help, f"`{action.dest}` has no help text"


@pytest.mark.skipif(shutil.which("make") is None or shutil.which("git") is None,
                    reason="needs make and git")
def test_make_run_in_a_fresh_clone(tmp_path):
    """What a new user does: clone, `make run` (it sets everything up), and again."""
    if subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"],
                      capture_output=True).returncode:
        pytest.skip("not a git checkout")
    clone = tmp_path / "town"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("BANDITORE_", "VIRTUAL_ENV", "GITHUB_"))}

    first = subprocess.run(["make", "run"], cwd=clone, env=env, capture_output=True, text=True)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    outbox = (clone / "outbox" / "outbox.jsonl").read_text().splitlines()
    assert len(outbox) > 0
    assert (clone / "subscribers.duckdb").exists()
    # Nothing personal in what the job prints.
    assert not re.search(r"3933300\d{5}", first.stdout + first.stderr)

    second = subprocess.run(["make", "run"], cwd=clone, env=env, capture_output=True, text=True)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert (clone / "outbox" / "outbox.jsonl").read_text().splitlines() == outbox, \
        "a second run must not send anything again"
    # The clone's git status stays clean: nothing personal is left to commit.
    status = subprocess.run(["git", "status", "--porcelain"], cwd=clone,
                            capture_output=True, text=True).stdout
    assert status == ""
