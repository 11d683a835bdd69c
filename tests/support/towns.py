"""A town as the tests set one up: the working directory its commands run in, the
receiver's logs folder, and its settings given as CI gives them (``BANDITORE_*``
variables). Data then arrives the way a town's does: log lines -> ``sync``.

:func:`make_town` builds one anywhere; the ``town`` fixture (tests/support/fixtures.py)
builds one in ``tmp_path``, with the settings a ``pytest.mark.town(...)`` names.
The presets below are the ways the tests' towns differ.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Two words for each way, as sync's own tests use them.
SYNONYMS = {"subscribe_keywords": ["MI ISCRIVO", "ISCRIVIMI"],
            "unsubscribe_keywords": ["MI CANCELLO", "CANCELLAMI"]}
# Cerveno's way in (runner/towns/cerveno.toml): "Servizio Info ON", then name and surname.
SERVIZIO_INFO = {"subscribe_keywords": ["Servizio Info ON"],
                 "unsubscribe_keywords": ["Servizio Info OFF"], "capture_name": True}
# ... and staff approve every subscription and unsubscription; the welcome is a template.
CERVENO_MODERATED = {**SERVIZIO_INFO, "moderate_subscribe": True,
                     "moderate_unsubscribe": True, "welcome_template": "benvenuto"}


def env_value(value) -> str:
    """A setting as its environment variable holds it (lists and tables as JSON)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def make_town(root: Path, monkeypatch, *, logs: bool = True, pyproject: str | None = None,
              **settings) -> Path:
    """A town's working directory at ``root``: the current directory, with a ``logs``
    folder the receiver writes into (BANDITORE_WEBHOOK_LOGS) and each of ``settings``
    as its BANDITORE_* variable. ``monkeypatch`` undoes all of it after the test.

    ``logs=False``: no folder and no variable, as before CI fetched any (the settings
    then look in the default ``webhook-logs``); ``pyproject``: the text of the town's
    pyproject.toml, where a town keeps the settings it commits."""
    monkeypatch.chdir(root)
    if pyproject is not None:
        (root / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    if logs:
        (root / "logs").mkdir()
        monkeypatch.setenv("BANDITORE_WEBHOOK_LOGS", str(root / "logs"))
    for name, value in settings.items():
        monkeypatch.setenv(f"BANDITORE_{name.upper()}", env_value(value))
    return root


# --- the shipped sample's repository, for the staff's form --------------------------------


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True,
                          capture_output=True, text=True).stdout


def sample_repository(repo: Path, parts: tuple[str, ...], *, branch: str | None = None,
                      commit: tuple[str, ...] | None = None,
                      node_modules: bool = False) -> Path:
    """The shipped sample's ``parts`` (folders and files of this repository) copied to
    ``repo``; with ``branch``, a git repository on it whose first commit holds
    ``commit`` (all the parts unless told)."""
    for name in parts:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, repo / name)
        else:
            repo.mkdir(parents=True, exist_ok=True)
            shutil.copy(ROOT / name, repo / name)
    if node_modules:  # the form's npm packages, installed once for the repository
        (repo / "node_modules").symlink_to(ROOT / "node_modules")
    if branch:
        git(repo.parent, "init", "--quiet", "-b", branch, str(repo))
        user = ("-c", "user.name=t", "-c", "user.email=t@localhost")
        git(repo, *user, "add", *(commit or parts))
        git(repo, *user, "commit", "-qm", "town")
    return repo
