"""The preview pane's answers: the same lines as ``preview`` and the same problems as
``validate``, for the form's values as posted, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path

import pytest
import requests

from runner.announcements.bubble import as_text, bubble_of
from runner.announcements.render import render
from runner.announcements.validate import check
from runner.cms.preview import draft_text, preview_draft
from runner.cms.server import DECAP_SERVER, start
from runner.config import load_settings

ROOT = Path(__file__).resolve().parents[2]
IMAGE = ROOT / "announcements" / "media" / "allerta-vento.png"
FIELDS = {"title": "Allerta: vento forte", "category": "allerta-meteo", "urgency": "emergency",
          "publish_at": "2024-04-03T10:00:00+02:00", "expires_at": "", "media": "",
          "template": "avviso_comune", "cancelled": False}
BODY = "Raffiche fino a **90 km/h**.\n\n- fissate gli oggetti sui balconi"


@pytest.fixture
def settings():
    return load_settings(now="2024-04-01T00:00:00+02:00")


def test_the_pane_shows_what_preview_prints_for_the_same_file(settings, tmp_path, monkeypatch):
    answer = preview_draft(settings, {"fields": FIELDS, "body": BODY})
    assert answer["ok"], answer["problems"]
    assert answer["file"] == "announcements/2024/2024-04-03-anteprima.md"

    # The same announcement as a file in a repository, through validate and describe.
    file = tmp_path / "announcements" / "2024" / "2024-04-03-vento.md"
    file.parent.mkdir(parents=True)
    file.write_text(draft_text(FIELDS, BODY), encoding="utf-8")
    for name in ("pyproject.toml", "templates.toml"):
        shutil.copy(ROOT / name, tmp_path)
    monkeypatch.chdir(tmp_path)
    result = check(settings, [str(file)])
    assert result.problems == []
    bubble = bubble_of(render(result.checked[0], settings), settings, answer["file"])
    assert answer["text"] == as_text(bubble)
    # The template's fixed text from the catalogue, around the filled parameters.
    assert "Avviso del Comune di Esempio: <strong>Allerta: vento forte</strong>" in answer["html"]
    assert 'class="wa-bubble"' in answer["html"] and ".wa-bubble{" in answer["css"]
    assert answer["when"] == "Invio da 03/04/2024 10:00 a 10/04/2024 10:00 (ora di Europe/Rome)"


def test_problems_are_validate_s_own_messages(settings):
    wrong = {**FIELDS, "category": "eventi", "title": "Chiama il 347 1234567"}
    answer = preview_draft(settings, {"fields": wrong, "body": BODY})
    assert not answer["ok"]
    text = " ".join(answer["problems"])
    assert "emergenz" in text.lower()  # emergency only for emergency categories
    assert "cellulare" in text.lower() or "telefono" in text.lower()


def test_an_attachment_held_by_the_browser_is_checked_as_the_file_it_will_be(settings):
    fields = {**FIELDS, "template": "avviso_immagine", "media": "announcements/media/nuova.png"}
    missing = preview_draft(settings, {"fields": fields, "body": BODY})
    assert not missing["ok"]
    sent = {"announcements/media/nuova.png": base64.b64encode(IMAGE.read_bytes()).decode()}
    answer = preview_draft(settings, {"fields": fields, "body": BODY, "media": sent})
    assert answer["ok"], answer["problems"]
    assert '<img class="wa-media"' in answer["html"]  # the bubble shows the image itself
    # A path outside the repository is never written.
    escape = {"../../escape.png": sent["announcements/media/nuova.png"]}
    assert not preview_draft(settings, {"fields": fields, "body": BODY, "media": escape})["ok"]


@pytest.mark.skipif(not (ROOT / DECAP_SERVER).exists(), reason="make test runs npm ci")
def test_the_endpoint_and_the_admin_page_over_http(settings, tmp_path):
    repo = tmp_path / "town"
    shutil.copytree(ROOT / "announcements", repo / "announcements")
    subprocess.run(["git", "init", "--quiet", "-b", settings.cms_branch, str(repo)], check=True)
    app = start(settings, repo, ROOT)
    try:
        base, browser = app.base, requests.Session()
        page = browser.get(app.url, timeout=10)  # the printed address: token -> cookie
        assert 'src="decap-cms/decap-cms.js"' in page.text
        answer = browser.post(f"{base}/api/preview", json={"fields": FIELDS, "body": BODY},
                              timeout=30).json()
        assert answer["ok"] and "wa-bubble" in answer["html"]
        script = browser.get(f"{base}/admin/decap-cms/decap-cms.js", timeout=10)
        assert script.status_code == 200 and len(script.content) > 1_000_000
        config = browser.get(f"{base}/admin/config.yml", timeout=10).text
        assert f"url: {base}/api/v1" in config  # this server's own proxy endpoint
        assert browser.get(f"{base}/admin/../pyproject.toml", timeout=10).status_code == 404
        assert browser.post(f"{base}/api/preview", data=b"{", timeout=10).status_code == 400
    finally:
        app.stop()
