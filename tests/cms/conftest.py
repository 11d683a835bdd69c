"""The staff's form in a real browser: a town's repository and the local form's page
(``make cms``: the admin server and decap-server on it), shared by the form's tests."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from runner.cms.server import start
from runner.config import load_settings
from tests.browser import launch

ROOT = Path(__file__).resolve().parents[2]


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True,
                          capture_output=True, text=True).stdout


@pytest.fixture
def town(tmp_path):
    """The sample's announcements in a fresh git repository on the configured branch."""
    repo = tmp_path / "town"
    shutil.copytree(ROOT / "announcements", repo / "announcements")
    for name in ("pyproject.toml", "templates.toml"):  # the town's settings and templates
        shutil.copy(ROOT / name, repo / name)
    settings = load_settings()
    git(repo.parent, "init", "--quiet", "-b", settings.cms_branch, str(repo))
    git(repo, "config", "user.name", "Prova")
    git(repo, "config", "user.email", "prova@localhost")
    git(repo, "add", ".")
    git(repo, "commit", "--quiet", "-m", "sample")
    return repo, settings


@pytest.fixture
def page(town):
    from playwright.sync_api import sync_playwright

    repo, settings = town
    app = start(settings, repo, ROOT)
    try:
        with sync_playwright() as pw:
            browser = launch(pw)
            context = browser.new_context(viewport={"width": 1280, "height": 900},
                                          timezone_id="Europe/Rome", locale="it-IT")
            page = context.new_page()
            page.set_default_timeout(20_000)
            page.goto(app.url)
            yield page
            browser.close()
    finally:
        app.stop()
