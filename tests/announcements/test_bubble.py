"""The bubble: the whole message as the citizen sees it, as text and as HTML, and the
HTML looked at in a real headless Chromium (Debian's package, driven by Playwright)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from runner.announcements.bubble import (
    as_html,
    as_text,
    bubble_for,
    html_page,
    make_bubble,
    whatsapp_html,
)
from runner.announcements.reading import load_all
from runner.announcements.render import render
from runner.config import load_settings
from runner.whatsapp.templates import Template
from tests.support.announcement_repo import PNG_RGB
from tests.support.browser import CHROMIUM, launch

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("markup", "html"), [
    ("*grassetto* e _corsivo_ e ~barrato~", "<strong>grassetto</strong> e <em>corsivo</em> "
                                            "e <s>barrato</s>"),
    ("codice ```A*1*2```", "codice <code>A*1*2</code>"),
    ("<b>non passa</b> & basta", "&lt;b&gt;non passa&lt;/b&gt; &amp; basta"),
    ("vedi https://www.comune.prova.it/x?a=1&b=2.", 'vedi <a href="https://www.comune.prova.it'
     '/x?a=1&amp;b=2">https://www.comune.prova.it/x?a=1&amp;b=2</a>.'),
    ("uno\n> citato", 'uno<br><span class="wa-quote">citato</span>'),
    ("3 * 4 = 12 e file_nome_lungo", "3 * 4 = 12 e file_nome_lungo"),
])
def test_whatsapp_markup_becomes_html_as_the_app_draws_it(markup, html):
    assert whatsapp_html(markup) == html


def test_the_bubble_fills_the_template_text(repo):
    repo.add("2024-04-05-avviso", title="Strada chiusa", template="titolo",
             body="Via **Roma** chiusa.")
    ann = load_all(repo.settings())[0]
    b = bubble_for(ann, repo.settings())
    assert (b.header_kind, b.header) == ("text", "Strada chiusa")
    assert b.body == "Avviso del Comune di Prova: Via *Roma* chiusa."
    assert b.footer == "Per cancellarti scrivi MI CANCELLO"
    assert (b.category, b.status, b.text_known) == ("UTILITY", "APPROVED", True)
    assert [(lim.length, lim.limit) for lim in b.limits] == [(13, 60), (18, 1024), (46, 1024),
                                                             (34, 60)]
    text = as_text(b)
    assert "│ *Strada chiusa*\n│ Avviso del Comune di Prova: Via *Roma* chiusa.\n" in text


def test_a_template_the_catalogue_does_not_know_shows_its_parameters_and_says_so(repo):
    (repo.root / "templates.toml").write_text("", encoding="utf-8")
    repo.add("2024-04-05-avviso", body="Testo.")
    b = bubble_for(load_all(repo.settings())[0], repo.settings())
    assert not b.text_known and b.body == "Avviso di prova\n\nTesto."
    assert "templates sync" in as_text(b)


def test_as_html_escapes_everything_the_staff_wrote():
    tpl = Template("t", "it", body="{{1}}", footer="<i>piè</i>", buttons=("<x>",))
    rendered = type("R", (), {"template": "t", "language": "it", "notes": ["<n>"],
                              "header": None, "header_text": None, "header_source": None,
                              "parameters": ["<script>alert(1)</script>"],
                              "parameter_names": [], "limits": lambda self: []})()
    out = as_html(make_bubble(rendered, tpl, "<titolo>"))
    assert "<script>" not in out and "<i>" not in out and "<x>" not in out
    assert "&lt;script&gt;" in out and "&lt;titolo&gt;" in out


@pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK), reason="needs Debian's chromium "
                    "(make test installs it)")
def test_the_bubbles_of_the_samples_look_like_whatsapp_in_chromium(tmp_path, monkeypatch):
    """The shipped samples in a real browser: one bubble each, bold drawn bold, the
    image shown, the footer and counts there, nothing of the Markdown left raw."""
    from playwright.sync_api import sync_playwright

    shutil.copytree(ROOT / "announcements", tmp_path / "announcements")
    shutil.copy(ROOT / "templates.toml", tmp_path / "templates.toml")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    anns = load_all(settings)
    bubbles = [bubble_for(a, settings) for a in anns]
    page_path = tmp_path / "bubbles.html"
    page_path.write_text(html_page(bubbles, "Anteprima"), encoding="utf-8")
    shot = tmp_path / "bubbles.png"
    with sync_playwright() as pw:
        browser = launch(pw)
        try:
            page = browser.new_page(viewport={"width": 600, "height": 900})
            page.goto(page_path.as_uri())
            assert page.locator(".wa-bubble").count() == len(anns) == 9
            weight = page.eval_on_selector(".wa-body strong",
                                           "e => getComputedStyle(e).fontWeight")
            assert int(weight) >= 600
            image = page.locator("img.wa-media")
            assert image.count() == 1
            assert image.evaluate("e => e.complete && e.naturalWidth > 0")
            footers = page.locator(".wa-footer").all_inner_texts()
            assert footers and all("MI CANCELLO" in f for f in footers)
            bodies = "\n".join(page.locator(".wa-body").all_inner_texts())
            assert "**" not in bodies and "<strong>" not in bodies
            assert "1) con pagoPA" in bodies
            box = page.locator(".wa-bubble").first.bounding_box()
            assert 200 < box["width"] <= 420 and box["height"] > 80
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert shot.stat().st_size > 10_000 and shot.read_bytes().startswith(b"\x89PNG")


def test_render_and_bubble_agree_on_the_parameters(repo):
    repo.write("announcements/media/foto.png", PNG_RGB)
    repo.add("2024-04-05-foto", template="foto", media="announcements/media/foto.png")
    ann = load_all(repo.settings())[0]
    rendered = render(ann, repo.settings())
    b = bubble_for(ann, repo.settings())
    assert rendered.parameters[1] in b.body and b.header_kind == "image"
    assert 'class="wa-media"' in as_html(b)
