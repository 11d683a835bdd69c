"""The form in production, in a real browser: the site built with ``publish --form`` and
served from loopback, the login through the receiver's OAuth endpoints (beside the
webhook) against a fake GitHub on loopback (OAuth app and REST API over a real bare
git repository), through to a saved draft: a branch and a pull request.

Also the endpoints alone: the state cookie, a wrong code, the token posted to the
site's origin only, the settings refused half set up.
"""

from __future__ import annotations

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from pydantic import SecretStr

from runner.announcements.validate import check
from runner.cms.deploy import DECAP_DIST, publish_site
from runner.config import load_settings
from runner.errors import ConfigError
from runner.webhook import create_app
from runner.webhook.server import make_server
from tests.support.browser import CHROMIUM, launch
from tests.support.github import CLIENT_ID, CLIENT_SECRET, FakeGitHub
from tests.support.towns import git, sample_repository

ROOT = Path(__file__).resolve().parents[2]
REPO = "comune-di-esempio/avvisi"
TITLE = "Chiusura di via Manzoni"
pytestmark = pytest.mark.skipif(not (Path(CHROMIUM).exists() and (ROOT / DECAP_DIST).exists()),
                                reason="make test installs chromium and the npm packages")


class Static:
    """The built site on 127.0.0.1, as GitHub Pages would serve it."""

    def __init__(self, folder: Path):
        handler = functools.partial(_Quiet, directory=str(folder))
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class Receiver:
    """``webhook serve`` in a thread: the receiver with its OAuth endpoints."""

    def __init__(self, settings):
        self.server = make_server(create_app(settings), "127.0.0.1", 0)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def deployed(tmp_path, monkeypatch):
    """The sample town's repository (working copy for the build, bare one on "GitHub")."""
    work = sample_repository(tmp_path / "town", ("announcements", "admin", "pyproject.toml",
                                                 "templates.toml"), branch="main",
                             node_modules=True)
    bare = tmp_path / "github.git"
    git(tmp_path, "clone", "--quiet", "--bare", str(work), str(bare))
    monkeypatch.chdir(work)
    (tmp_path / "logs").mkdir()
    site_folder = tmp_path / "site"
    site_folder.mkdir()
    static = Static(site_folder)
    with FakeGitHub(REPO, repo=bare, tokens={}) as github:  # tokens: the logins' only
        settings = load_settings(
            whatsapp_app_secret=SecretStr("app-secret"),
            whatsapp_verify_token=SecretStr("verify"), webhook_logs=str(tmp_path / "logs"),
            cms_oauth_client_id=CLIENT_ID, cms_oauth_client_secret=SecretStr(CLIENT_SECRET),
            site_url=static.base + "/", github_url=github.base, cms_repo=REPO)
        receiver = Receiver(settings)
        github.callback = receiver.base + "/callback"
        try:
            yield settings.model_copy(update={"cms_auth_url": receiver.base}), site_folder, \
                static, github, bare, receiver
        finally:
            receiver.stop()
            static.stop()


def test_the_form_logs_in_through_the_receiver_and_saves_a_draft(deployed):
    from playwright.sync_api import expect, sync_playwright

    settings, site_folder, static, github, bare, receiver = deployed
    publish_site(settings, site_folder, form=True)
    deployed = (site_folder / "admin" / "config.yml").read_text()
    assert f"base_url: {receiver.base}" in deployed and "local_backend" not in deployed
    with sync_playwright() as pw:
        browser = launch(pw)
        page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="it-IT",
                                timezone_id="Europe/Rome")
        page.set_default_timeout(30_000)
        page.goto(static.base + "/admin/")
        with page.expect_popup() as popup:
            page.get_by_role("button", name="GitHub").click()
        popup.value.wait_for_event("close")  # the token handed over, the window closes
        page.get_by_text("Avvisi").first.wait_for()  # logged in: the collection

        page.goto(static.base + "/admin/#/collections/announcements/new")
        page.locator("[id^='title-field-']").fill(TITLE)
        page.locator("[id^='category-field-']").click()
        page.get_by_role("option", name="Viabilità").click()
        body = page.locator("[data-slate-editor='true']")
        body.click()
        body.type("Via Manzoni chiusa per lavori da lunedì a venerdì.")
        page.get_by_role("button", name="Salva").first.click()
        page.get_by_text("Modifiche salvate").first.wait_for()
        expect(page.get_by_role("button", name="Stato: Bozza")).to_be_visible()
        browser.close()

    assert github.unknown == [], github.unknown  # every call was one GitHub answers
    # The draft: a branch on "GitHub" and a pull request into main, labelled a draft.
    branches = git(bare, "branch", "--list", "cms/*").split()
    assert len(branches) == 1 and branches[0].startswith("cms/announcements/")
    [pull] = [p.json(github) for p in github.pulls]
    assert pull["base"]["ref"] == "main" and pull["head"]["ref"] == branches[0]
    assert [label["name"] for label in pull["labels"]] == ["decap-cms/draft"]
    changed = git(bare, "diff", "--name-only", "main", branches[0]).split()
    assert len(changed) == 1 and changed[0].startswith("announcements/")
    text = git(bare, "show", f"{branches[0]}:{changed[0]}")
    assert f"title: {TITLE}" in text and "category: viabilita" in text
    # ...which validate accepts, as the pull request's check will.
    review = bare.parent / "review"
    git(bare.parent, "clone", "--quiet", "--branch", branches[0], str(bare), str(review))
    assert check(settings, [str(review / changed[0])]).problems == []


def test_the_endpoints_alone(deployed):
    settings, _, static, github, _, receiver = deployed
    browser = requests.Session()
    start = browser.get(receiver.base + "/auth?provider=github&scope=repo",
                        allow_redirects=False, timeout=10)
    assert start.status_code == 302
    assert start.headers["Location"].startswith(github.base + "/login/oauth/authorize?")
    assert "HttpOnly" in start.headers["Set-Cookie"]
    done = browser.get(start.headers["Location"], timeout=10)  # GitHub, then /callback
    assert done.status_code == 200
    assert "authorization:github:success:" in done.text and "gho_" in done.text
    assert f'var origin = "{static.base}";' in done.text  # posted to the site only
    # Another browser (no state cookie) cannot finish someone's login...
    other = requests.get(start.headers["Location"], timeout=10)
    assert other.status_code == 403 and "gho_" not in other.text
    # ...nor can a code GitHub did not give (or already took back).
    again = requests.Session()
    begun = again.get(receiver.base + "/auth", allow_redirects=False, timeout=10)
    state = begun.headers["Location"].split("state=")[1]
    wrong = again.get(f"{receiver.base}/callback?code=forged&state={state}", timeout=10)
    assert wrong.status_code == 403 and "bad_verification_code" in wrong.text
    # The receiver is still the receiver.
    assert requests.get(receiver.base + "/?hub.mode=subscribe&hub.verify_token=verify"
                        "&hub.challenge=42", timeout=10).text == "42"


def test_a_half_set_up_login_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings(whatsapp_app_secret=SecretStr("s"),
                             whatsapp_verify_token=SecretStr("v"),
                             webhook_logs=str(tmp_path / "logs"),
                             cms_oauth_client_id=CLIENT_ID, site_url="https://x.github.io/")
    with pytest.raises(ConfigError, match="BANDITORE_CMS_OAUTH_CLIENT_SECRET"):
        create_app(settings)
    monkeypatch.setenv("BANDITORE_CMS_OAUTH_CLIENT_SECRET", "s")
    (tmp_path / "pyproject.toml").write_text(
        '[tool.banditore]\ncms_oauth_client_secret = "in git"\n')
    with pytest.raises(ConfigError, match="BANDITORE_CMS_OAUTH_CLIENT_SECRET"):
        load_settings()  # a secret in a committed file is refused
