"""What citizens received, for the channels: the bubble's text as page HTML, as
Telegram's HTML and as CAP's plain text."""

from __future__ import annotations

import pytest

from runner.announcements.reading import load_all
from runner.channels.bubble_text import BubbleText, BubbleTexts, page_html, telegram_html
from runner.channels.selection import Entry
from tests.support.sent_town import CATALOGUE

BODY = "Via **Roma** chiusa <subito>.\n\n- deviazione: via Manzoni\n\n> Ci scusiamo."


@pytest.fixture
def repo(repo):
    repo.write("templates.toml", CATALOGUE)  # the channels' town's catalogue
    return repo


def received(repo, **overrides) -> BubbleText:
    repo.add("2024-04-05-avviso", title="Strada chiusa", body=BODY)
    settings = repo.settings(**overrides)
    ann = load_all(settings)[0]
    return BubbleTexts(settings).of(Entry(ann=ann, published=ann.effective_publish_at,
                                          expires=None))


def test_a_template_shows_its_text_with_the_parameters_as_whatsapp_made_them(repo):
    got = received(repo)  # default_template: avviso
    assert got.body == ("Avviso del Comune di Prova: *Strada chiusa*\n\n"
                        "Via *Roma* chiusa <subito>. Deviazione: via Manzoni. «Ci scusiamo.»")
    assert got.footer == "Per cancellarti scrivi MI CANCELLO"
    assert page_html(got) == (
        "<p>Avviso del Comune di Prova: <strong>Strada chiusa</strong></p>\n"
        "<p>Via <strong>Roma</strong> chiusa &lt;subito&gt;. Deviazione: via Manzoni. "
        "«Ci scusiamo.»</p>\n"
        '<p class="footer">Per cancellarti scrivi MI CANCELLO</p>')
    assert got.plain().endswith("\n\nPer cancellarti scrivi MI CANCELLO")
    # On Telegram as in WhatsApp: the template's text carries the title.
    assert telegram_html(got).split("\n\n") == [
        "Avviso del Comune di Prova: <strong>Strada chiusa</strong>",
        "Via <strong>Roma</strong> chiusa &lt;subito&gt;. Deviazione: via Manzoni. «Ci scusiamo.»",
        "Per cancellarti scrivi MI CANCELLO"]


def test_a_text_message_keeps_its_paragraphs_lists_and_quotes(repo):
    got = received(repo, default_template=None)
    assert got == BubbleText("Via *Roma* chiusa <subito>.\n\n- deviazione: via Manzoni\n\n"
                             "> Ci scusiamo.", title="Strada chiusa")
    assert page_html(got).split("\n") == [
        "<p>Via <strong>Roma</strong> chiusa &lt;subito&gt;.</p>",
        "<p>- deviazione: via Manzoni</p>",
        '<p><span class="wa-quote">Ci scusiamo.</span></p>']
    assert telegram_html(got) == (
        "<b>Strada chiusa</b>\n\nVia <strong>Roma</strong> chiusa &lt;subito&gt;.\n\n"
        "- deviazione: via Manzoni\n\n<blockquote>Ci scusiamo.</blockquote>")


def test_a_template_the_catalogue_lacks_shows_the_paragraphs(repo):
    (repo.root / "templates.toml").write_text("", encoding="utf-8")
    assert received(repo).body.split("\n\n")[1] == "- deviazione: via Manzoni"
