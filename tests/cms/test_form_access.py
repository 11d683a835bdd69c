"""The staff's form, accessible: axe-core finds no serious or critical violation on its
login page, its list and its editor; it works from the keyboard alone (a test that
never clicks tabs through, fills an announcement in and saves it); and it reads at
390 px and at 200 % zoom with nothing to scroll sideways.

Decap CMS's own markup is not ours to change: what it gets wrong, the page mends as
Decap renders it (admin/a11y.js: names, states, a nested button; admin/a11y.css:
contrast, and the layout at narrow widths).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from runner.cms.server import DECAP_DIST, DECAP_SERVER
from tests.support.browser import AXE, CHROMIUM, NARROW, axe_violations, overflow
from tests.support.towns import git

ROOT = Path(__file__).resolve().parents[2]
missing = [str(p) for p in (Path(CHROMIUM), ROOT / DECAP_DIST, ROOT / DECAP_SERVER, AXE)
           if not p.exists()]
pytestmark = pytest.mark.skipif(bool(missing), reason=f"make test installs {missing}")
TITLE = "Mercato spostato in piazza Roma"


def tab_to(page, test: str, limit: int = 120) -> int:
    """Press Tab until ``test`` (JavaScript, on ``el``: the focused element) holds."""
    for presses in range(1, limit + 1):
        page.keyboard.press("Tab")
        if page.evaluate(f"() => {{ const el = document.activeElement; return !!({test}); }}"):
            return presses
    raise AssertionError(f"{test} never got the focus in {limit} presses of Tab")


def test_axe_finds_no_serious_or_critical_violation_on_the_form(page):
    assert axe_violations(page) == [], "login page"
    page.get_by_role("button", name="Accedi").click()
    page.get_by_text("Avvisi").first.wait_for()
    assert axe_violations(page) == [], "the list"
    page.goto(page.url.split("#")[0] + "#/collections/announcements/new")
    page.locator("[id^='title-field-']").wait_for()
    assert axe_violations(page) == [], "the editor"


def test_the_form_works_from_the_keyboard_alone(page, repository):
    repo, settings = repository
    tab_to(page, "el.tagName === 'BUTTON' && el.textContent.includes('Accedi')")
    page.keyboard.press("Enter")
    page.get_by_text("Avvisi").first.wait_for()
    page.goto(page.url.split("#")[0] + "#/collections/announcements/new")
    page.locator("[id^='title-field-']").wait_for()

    tab_to(page, "el.id && el.id.startsWith('title-field-')")
    page.keyboard.type(TITLE)
    tab_to(page, "el.closest && el.closest(\"[id^='category-field-']\")")
    page.keyboard.type("Eventi")
    page.keyboard.press("Enter")
    tab_to(page, "el.closest && el.closest(\"[data-slate-editor='true']\")")
    page.keyboard.type("Il mercato del sabato si tiene in piazza Roma.")
    # Back up to the toolbar, the way a keyboard user goes: Shift+Tab to "Salva".
    for _ in range(200):
        page.keyboard.press("Shift+Tab")
        if page.evaluate("() => document.activeElement.textContent.trim() === 'Salva'"):
            break
    else:
        raise AssertionError("Salva never got the focus")
    page.keyboard.press("Enter")
    page.get_by_text("Modifiche salvate").first.wait_for()

    today = datetime.now(settings.tz).date()
    branch = f"cms/announcements/{today.year}/{today}-mercato-spostato-in-piazza-roma"
    assert git(repo, "branch", "--list", "cms/*").split() == [branch]
    saved = git(repo, "show", f"{branch}:announcements/{today.year}/{branch.rsplit('/')[-1]}.md")
    assert f"title: {TITLE}" in saved and "category: eventi" in saved


@pytest.mark.parametrize(("viewport", "scale"), NARROW, ids=["390px", "zoom-200"])
def test_the_list_and_the_editor_reflow(page, viewport, scale):
    """admin/a11y.css stacks the form and its preview on a narrow screen (Decap's editor
    is 800 px wide at least)."""
    page.set_viewport_size(viewport)
    page.get_by_role("button", name="Accedi").click()
    page.get_by_text("Avvisi").first.wait_for()
    found = overflow(page)
    assert found["scroll"] <= found["width"] and found["cut"] == [], found
    page.goto(page.url.split("#")[0] + "#/collections/announcements/new")
    page.locator("[id^='title-field-']").wait_for()
    page.locator("#preview-pane").wait_for()
    found = overflow(page)
    assert found["scroll"] <= found["width"] and found["cut"] == [], found
