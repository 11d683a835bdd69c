"""The staff's form in a real browser: a town's repository and the local form's page
(``make cms``: the admin server and decap-server on it), shared by the form's tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.cms.server import start
from runner.config import load_settings
from tests.support.browser import launch
from tests.support.towns import git, sample_repository

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def repository(tmp_path):
    """The sample's announcements in a fresh git repository on the configured branch."""
    settings = load_settings()
    # the town's settings and templates with its announcements
    repo = sample_repository(tmp_path / "town", ("announcements", "pyproject.toml",
                                                 "templates.toml"), branch=settings.cms_branch)
    git(repo, "config", "user.name", "Prova")  # the form commits the drafts it saves
    git(repo, "config", "user.email", "prova@localhost")
    return repo, settings


@pytest.fixture
def page(repository):
    from playwright.sync_api import sync_playwright

    repo, settings = repository
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
