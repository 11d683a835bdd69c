"""The staff's form in a real browser: Debian's Chromium driven by Playwright, against
the real admin page and decap-server (git mode) on a scratch copy of the sample.

A person's first try: a title with a colon, a category picked from the select, an
emergency, an image attached; save. The file must land on the draft's branch (the
pull request, in git) as ``announcements/YYYY/YYYY-MM-DD-slug.md`` and validate
must accept it. The screenshots the guide (docs/redazione.md) shows are taken
here; ``make cms-screenshots`` copies them into docs/img/.
"""

from __future__ import annotations

import os
import shutil
from datetime import datetime
from pathlib import Path

import pytest

from runner.announcements.validate import check
from runner.cms.server import DECAP_DIST, DECAP_SERVER
from runner.config import load_settings
from tests.support.browser import CHROMIUM
from tests.support.towns import git

ROOT = Path(__file__).resolve().parents[2]
TITLE = "Allerta: vento forte domani"
SAMPLE_IMAGE = ROOT / "announcements" / "media" / "allerta-vento.png"

missing = [str(p) for p in (Path(CHROMIUM), ROOT / DECAP_DIST, ROOT / DECAP_SERVER)
           if not p.exists()]
pytestmark = pytest.mark.skipif(bool(missing), reason=f"make test installs {missing}")


def shoot(page, tmp_path, name: str) -> None:
    """A screenshot for the guide: kept in tmp_path, copied to $CMS_SCREENSHOTS if set."""
    page.locator(".Toastify__toast").first.wait_for(state="detached")  # "saved" notices
    target = tmp_path / f"{name}.png"
    page.screenshot(path=target)
    assert target.stat().st_size > 10_000  # a page, not a blank
    if os.environ.get("CMS_SCREENSHOTS"):
        shutil.copy(target, Path(os.environ["CMS_SCREENSHOTS"]) / target.name)


def select(page, field: str, label: str) -> list[str]:
    """Pick ``label`` in a Decap select; return every option the select offered."""
    page.locator(f"[id^='{field}-field-']").click()
    options = page.get_by_role("option")
    options.first.wait_for()
    offered = options.all_inner_texts()
    options.filter(has_text=label).first.click()
    return offered


def test_a_first_announcement_through_the_form(page, repository, tmp_path, monkeypatch):
    from playwright.sync_api import expect

    repo, settings = repository
    image = tmp_path / "vento.png"  # a new file: the one in the sample is already there
    shutil.copy(SAMPLE_IMAGE, image)
    page.get_by_role("button", name="Accedi").wait_for()  # Italian interface
    shoot(page, tmp_path, "01-accesso")
    page.get_by_role("button", name="Accedi").click()
    page.get_by_text("Avvisi").first.wait_for()
    shoot(page, tmp_path, "02-elenco")

    page.goto(page.url.split("#")[0] + "#/collections/announcements/new")
    page.locator("[id^='title-field-']").fill(TITLE)
    offered = select(page, "category", settings.category_labels.of("protezione-civile"))
    assert offered == [settings.category_labels.of(c) for c in settings.categories]
    select(page, "urgency", "Emergenza")
    select(page, "template", "avviso_immagine")
    body = page.locator("[data-slate-editor='true']")
    body.click()
    body.type("Domani raffiche fino a 90 km/h. Restate in casa e fissate gli oggetti "
              "sui balconi.")

    page.get_by_text("Scegli un file").click()
    page.locator("input[type='file']").set_input_files(image)
    page.get_by_text(image.name).first.wait_for()
    page.wait_for_timeout(500)  # the dialog fades in: a still picture for the guide
    shoot(page, tmp_path, "04-allegato")
    page.get_by_role("button", name="Prendi selezionato").click()

    preview = page.frame_locator("iframe").get_by_test_id("wa-preview")  # Decap's pane
    expect(preview).to_contain_text("Pronto")  # by the same rules as validate
    # The bubble: the template's fixed text around the title, and the image itself.
    assert "Avviso del Comune di Esempio: Allerta: vento forte domani" in preview.inner_text()
    expect(preview.locator("img.wa-media")).to_be_visible()
    shoot(page, tmp_path, "03-modulo")

    page.get_by_role("button", name="Salva").first.click()
    page.get_by_text("Modifiche salvate").first.wait_for()

    # Sending it for review: the status the reviewer sees on the workflow board.
    page.get_by_role("button", name="Stato: Bozza").click()
    page.get_by_role("menuitem", name="In revisione").click()
    page.get_by_role("button", name="Stato: In revisione").wait_for()
    expect(preview).to_contain_text("Pronto")
    shoot(page, tmp_path, "05-in-revisione")
    page.goto(page.url.split("#")[0] + "#/workflow")
    page.get_by_text(TITLE).first.wait_for()
    shoot(page, tmp_path, "06-flusso")

    # The draft is a branch, as a pull request is on GitHub; main is untouched.
    today = datetime.now(settings.tz).date()
    name = f"{today.year}/{today}-allerta-vento-forte-domani"
    branch = f"cms/announcements/{name}"
    assert git(repo, "branch", "--list", "cms/*").split() == [branch]
    assert git(repo, "config", f"branch.{branch}.description").strip() == "decap-cms/pending_review"
    assert not (repo / "announcements" / f"{name}.md").exists()

    checkout = tmp_path / "review"
    git(repo, "worktree", "add", "--quiet", str(checkout), branch)
    file = checkout / "announcements" / f"{name}.md"
    text = file.read_text(encoding="utf-8")
    assert "title: 'Allerta: vento forte domani'" in text or 'title: "Allerta:' in text
    assert "urgency: emergency" in text and "category: protezione-civile" in text
    assert "media: announcements/media/vento.png" in text
    assert (checkout / "announcements" / "media" / "vento.png").read_bytes() == image.read_bytes()

    monkeypatch.chdir(checkout)  # validate reads the repository it is run in
    result = check(load_settings(), [f"announcements/{name}.md"])
    assert result.problems == []
    assert [a.id for a in result.valid] == [name.split("/")[1]]
