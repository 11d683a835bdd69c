"""``publish --form``: the staff's form goes out with the site (``pages.yml`` runs it)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from runner.cli import main
from runner.cms.deploy import DECAP_DIST, PAGE_FILES
from tests.support.towns import sample_repository

ROOT = Path(__file__).resolve().parents[2]


pytestmark = pytest.mark.town(logs=False, now="2024-04-03T10:00:00+02:00")


@pytest.fixture
def town(town):
    """The shipped sample's announcements, form and settings in the town's folder."""
    return sample_repository(town, ("announcements", "admin", "pyproject.toml",
                                    "templates.toml"))


@pytest.mark.skipif(not (ROOT / DECAP_DIST).exists(), reason="make test runs npm ci")
def test_the_form_is_written_beside_the_site(town, monkeypatch, capsys):
    (town / "node_modules").symlink_to(ROOT / "node_modules")
    monkeypatch.setenv("BANDITORE_CMS_REPO", "comune-di-esempio/avvisi")
    monkeypatch.setenv("BANDITORE_CMS_AUTH_URL", "https://whatsapp.comune.esempio.it/")
    assert main(["publish", "--out", "site", "--form"]) == 0
    assert "site/admin" in capsys.readouterr().out
    admin = town / "site" / "admin"
    assert {p.name for p in admin.iterdir()} >= {*PAGE_FILES, "config.yml", "decap-cms"}
    assert (admin / "decap-cms" / "decap-cms.js").stat().st_size > 1_000_000
    config = yaml.safe_load((admin / "config.yml").read_text())
    assert "local_backend" not in config  # make cms's, never the site's
    assert config["backend"] == {"name": "github", "repo": "comune-di-esempio/avvisi",
                                 "branch": "main",
                                 "base_url": "https://whatsapp.comune.esempio.it"}
    assert (town / "site" / "index.html").exists()  # and the site itself
    # Published again, the form is replaced, not left stale.
    (admin / "stale.txt").write_text("x")
    assert main(["publish", "--out", "site", "--form"]) == 0
    assert not (admin / "stale.txt").exists() and (admin / "index.html").exists()


def test_without_the_npm_packages_it_says_what_to_run(town, capsys):
    assert main(["publish", "--out", "site", "--form"]) == 2
    assert "npm" in capsys.readouterr().err
    assert not (town / "site").exists()  # nothing half built


def test_an_auth_url_with_a_path_is_refused(town, monkeypatch, capsys):
    monkeypatch.setenv("BANDITORE_CMS_AUTH_URL", "https://whatsapp.comune.esempio.it/oauth")
    assert main(["cms", "config"]) == 2
    assert "cms_auth_url" in capsys.readouterr().err
