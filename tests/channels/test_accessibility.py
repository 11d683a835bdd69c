"""Accessibility of what the public and the administrators read (Italian public bodies'
sites must meet WCAG 2.1 AA, AgID's guidelines): the archive's index, an announcement,
a category page and both reports, checked by axe-core in Debian's Chromium, with no
serious or critical violation; and every one readable at 390 px and at 200 % zoom
with nothing to scroll sideways and nothing cut.

The data arrive as a town's do: the sample's webhook logs, then ``run`` (validate,
sync, send through the outbox), ``report`` (the notebooks, executed and exported by
nbconvert) and ``publish``, all through the command line.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from runner.cli import main
from tests.support.browser import AXE, CHROMIUM, NARROW, axe_violations, launch, overflow

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not (Path(CHROMIUM).exists() and AXE.exists()),
                                reason="make test installs chromium and the npm packages")
SAMPLE_ENV = {"BANDITORE_WEBHOOK_LOGS": "samples/logs",
              "BANDITORE_NOW": "2024-04-03T10:00:00+02:00",
              "BANDITORE_PSEUDONYM_KEY": "banditore-sample-data-only",
              "BANDITORE_SITE_URL": "https://comune-esempio.github.io/avvisi/",
              "BANDITORE_PUBLIC_NUMBER": "+39 0165 123456", "BANDITORE_ISTAT_CODE": "007007"}


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """(name, file URL) of each page to check, from the sample town."""
    town = tmp_path_factory.mktemp("a11y") / "town"
    for name in ("announcements", "samples", "notebooks"):
        shutil.copytree(ROOT / name, town / name)
    for name in ("pyproject.toml", "templates.toml"):
        shutil.copy(ROOT / name, town / name)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(town)
        for key, value in SAMPLE_ENV.items():
            mp.setenv(key, value)
        assert main(["run"]) == 0
        assert main(["report", "--out", "reports"]) == 0
        assert main(["publish", "--out", "site"]) == 0
    site = town / "site"
    emergency = next(p for p in sorted((site / "avvisi").glob("*.html")) if "vento" in p.name)
    return {"index": site / "index.html", "announcement": emergency,
            "category": site / "categorie" / "viabilita.html",
            "deliveries report": town / "reports" / "deliveries.html",
            "subscribers report": town / "reports" / "subscribers.html"}


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = launch(pw)
        yield chromium
        chromium.close()


@pytest.mark.parametrize("name", ["index", "announcement", "category", "deliveries report",
                                  "subscribers report"])
def test_axe_finds_no_serious_or_critical_violation(pages, browser, name):
    page = browser.new_page(locale="it-IT")
    page.goto(pages[name].as_uri())
    assert axe_violations(page) == []
    page.close()


def test_axe_does_find_a_serious_violation(browser, tmp_path):
    """The check can fail: an image without alt text and unreadable contrast."""
    bad = tmp_path / "bad.html"
    bad.write_text('<!doctype html><html lang="it"><title>x</title><main><img src="x.png">'
                   '<p style="color:#ddd;background:#fff">testo</p></main></html>')
    page = browser.new_page()
    page.goto(bad.as_uri())
    assert {v.split(":")[0] for v in axe_violations(page)} >= {"image-alt", "color-contrast"}
    page.close()


@pytest.mark.parametrize(("viewport", "scale"), NARROW, ids=["390px", "zoom-200"])
@pytest.mark.parametrize("name", ["index", "announcement", "category", "deliveries report",
                                  "subscribers report"])
def test_nothing_to_scroll_sideways_nothing_cut(pages, browser, name, viewport, scale):
    page = browser.new_page(viewport=viewport, device_scale_factor=scale)
    page.goto(pages[name].as_uri())
    found = overflow(page)
    assert found["scroll"] <= found["width"] and found["cut"] == [], found
    page.close()


def test_the_reflow_check_can_fail(browser, tmp_path):
    wide = tmp_path / "wide.html"
    wide.write_text('<!doctype html><html lang="it"><title>x</title>'
                    '<p style="width:900px">largo</p></html>')
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(wide.as_uri())
    found = overflow(page)
    assert found["scroll"] > found["width"] and found["cut"] == ["p"]
    page.close()
