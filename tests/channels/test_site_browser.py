"""The archive in a real browser: Debian's headless Chromium, driven by Playwright,
with JavaScript off (the pages need none) and a phone's screen."""

from __future__ import annotations

import functools
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from runner.channels.site_build import publish
from tests.support.browser import CHROMIUM, launch
from tests.support.sent_town import PUBLISHED, sent_town

PHONE = {"width": 390, "height": 844}


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The published site on a real HTTP server on 127.0.0.1, as Pages serves it."""
    root = tmp_path_factory.mktemp("town")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        publish(sent_town(root), root / "site")
    handler = functools.partial(_Quiet, directory=str(root / "site"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", root / "site"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: `make test` installs it"
    with sync_playwright() as pw:
        chromium = launch(pw)
        yield chromium
        chromium.close()


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport=PHONE, java_script_enabled=False,
                                  device_scale_factor=1, is_mobile=True, has_touch=True)
    yield context
    context.close()


def every_page(site: Path) -> list[str]:
    return sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html"))


def open_page(context, url: str):
    """The page at ``url`` and what went wrong loading it (console errors, failed
    requests, HTTP errors)."""
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(f"console {msg.type}: {msg.text}")
            if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("requestfailed", lambda req: problems.append(f"failed: {req.url}"))
    page.on("response", lambda res: problems.append(f"HTTP {res.status}: {res.url}")
            if res.status >= 400 else None)
    page.goto(url, wait_until="load")
    return page, problems


def test_every_page_loads_cleanly_with_lang_alt_text_and_fits_a_phone(served, phone):
    base, site = served
    pages = every_page(site)
    assert {f"avvisi/{slug}.html" for slug in PUBLISHED} <= set(pages)
    for path in pages:
        page, problems = open_page(phone, base + path)
        assert problems == [], path
        assert page.locator("html").get_attribute("lang") == "it", path
        assert page.locator("h1").count() == 1, path
        assert page.locator("main h1").is_visible(), path  # readable with JavaScript off
        for img in page.locator("img").all():
            assert (img.get_attribute("alt") or "").strip(), path
        # Nothing wider than the phone: no sideways scrolling.
        box = page.locator("body").bounding_box()
        assert box["width"] <= PHONE["width"], path
        page.close()


def test_images_load_and_a_screenshot_is_saved(served, browser, tmp_path):
    base, _ = served
    # JavaScript on here only to measure the image as the browser decoded it.
    context = browser.new_context(viewport=PHONE, device_scale_factor=1)
    page, problems = open_page(context, base + "avvisi/2024-04-03-vento.html")
    assert problems == []
    img = page.locator("figure.media img")
    assert img.evaluate("el => el.complete && el.naturalWidth > 0")
    assert img.get_attribute("alt") == "Immagine dell'avviso: Avviso vento"
    shot = tmp_path / "avviso-vento.png"
    page.screenshot(path=str(shot), full_page=True)
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 5_000
    width = int.from_bytes(data[16:20], "big")
    assert width == PHONE["width"]
    context.close()
    keep = Path(__file__).resolve().parents[2] / ".screenshots"
    if keep.is_dir():  # `mkdir .screenshots` to look at them after the run
        shutil.copy(shot, keep)


def test_a_broken_link_would_be_caught(served, phone):
    base, _ = served
    page, problems = open_page(phone, base + "avvisi/non-esiste.html")
    assert any("HTTP 404" in p for p in problems)
    page.close()
