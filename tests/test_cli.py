"""The command line's own manners: help that says what a command does, a pipe closed
early (``run | head``) that neither shows a traceback nor cuts a send short, and
outputs git never picks up (issue 25, item 9)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from runner.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]


def commands() -> dict:
    return build_parser()._subparsers._group_actions[0].choices


@pytest.mark.parametrize("name", sorted(commands()))
def test_every_command_help_says_what_it_does(name, capsys):
    with pytest.raises(SystemExit):
        main([name, "--help"])
    out = capsys.readouterr().out
    usage, description = out.split("\n\n")[:2]
    assert usage.startswith(f"usage: banditore {name}")
    assert not description.startswith(("options:", "positional arguments:")), out


def sample_town(where: Path) -> dict:
    """The shipped sample (announcements, logs, settings) in ``where``, and its env."""
    where.mkdir()
    for name in ("pyproject.toml", "templates.toml"):
        shutil.copy(ROOT / name, where / name)
    shutil.copytree(ROOT / "announcements", where / "announcements")
    shutil.copytree(ROOT / "samples" / "logs", where / "logs")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BANDITORE_")}
    return {**clean, "PYTHONPATH": str(ROOT), "BANDITORE_NOW": "2024-04-03T12:00:00+02:00",
            "BANDITORE_WEBHOOK_LOGS": "logs", "BANDITORE_LANGUAGE": "it"}


def test_run_into_a_pipe_closed_early_sends_everything_without_a_traceback(tmp_path):
    whole, cut = tmp_path / "tutto", tmp_path / "head"
    env = sample_town(whole)
    done = subprocess.run([sys.executable, "-m", "runner", "run"], cwd=whole, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    sample_town(cut)
    # `run | head -1`: the reader takes one line and leaves.
    process = subprocess.Popen([sys.executable, "-m", "runner", "run"], cwd=cut, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout.readline().startswith("== ")
    process.stdout.close()
    with process.stderr:
        err = process.stderr.read()
    assert process.wait(timeout=300) == 0
    assert "Traceback" not in err and "BrokenPipeError" not in err
    sent = (whole / "outbox" / "outbox.jsonl").read_text().count("\n")
    assert sent > 100 and (cut / "outbox" / "outbox.jsonl").read_text().count("\n") == sent


@pytest.mark.parametrize("path", ["site/index.html", "site/atom.xml",
                                  "subscribers.duckdb.damaged-20240403T120000"])
def test_what_commands_write_next_to_the_repository_is_ignored_by_git(tmp_path, path):
    shutil.copy(ROOT / ".gitignore", tmp_path / ".gitignore")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    done = subprocess.run(["git", "check-ignore", "-q", path], cwd=tmp_path)
    assert done.returncode == 0, f"git would show {path} as untracked"
