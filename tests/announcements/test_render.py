"""Markdown to WhatsApp markup and template parameters, against WhatsApp's rules."""

import re
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runner.announcements.bubble import as_text, bubble_of, make_bubble
from runner.announcements.reading import parse
from runner.announcements.render import (
    CAPTION_LIMIT,
    PARAM_LIMIT,
    TEMPLATE_BODY_LIMIT,
    TEXT_LIMIT,
    RenderError,
    flatten,
    markdown_blocks,
    render,
)
from runner.config import LifecycleLabels
from runner.whatsapp.templates import Template


def whatsapp(markdown: str) -> str:
    return "\n\n".join(markdown_blocks(markdown))


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        ("**grassetto** e __anche__", "*grassetto* e *anche*"),
        ("*corsivo* e _anche_", "_corsivo_ e _anche_"),
        ("~~barrato~~", "~barrato~"),
        ("il codice `A12`", "il codice ```A12```"),
        ("```\nriga 1\nriga 2\n```", "```riga 1\nriga 2```"),
        ("    rientrato", "```rientrato```"),
        ("# Titolo\n\ntesto", "*Titolo*\n\ntesto"),
        ("Titolo\n---\n", "*Titolo*"),
        ("## **Già grassetto**", "*Già grassetto*"),
        ("### Orari *nuovi*", "*Orari _nuovi_*"),
        ("- uno\n- due", "- uno\n- due"),
        ("* uno\n* due", "- uno\n- due"),
        ("3. tre\n4. quattro", "3. tre\n4. quattro"),
        ("- uno\n  - sotto\n- due", "- uno\n   - sotto\n- due"),
        ("> citazione\n> continua", "> citazione continua"),
        ("> uno\n>\n> due", "> uno\n> due"),
        ("[il sito](https://comune.prova.it/x)", "il sito (https://comune.prova.it/x)"),
        ("<https://comune.prova.it>", "https://comune.prova.it"),
        ("[comune.prova.it](https://www.comune.prova.it/)", "https://www.comune.prova.it/"),
        ("<protocollo@comune.prova.it>", "protocollo@comune.prova.it"),
        ("[Ufficio](tel:+390721123456)", "Ufficio (+390721123456)"),
        ("![mappa](https://comune.prova.it/m.png)", "mappa (https://comune.prova.it/m.png)"),
        ("riga uno\nriga due", "riga uno riga due"),
        ("riga uno  \nriga due", "riga uno\nriga due"),
        ("riga uno\\\nriga due", "riga uno\nriga due"),
        ("uno\n\n---\n\ndue", "uno\n\n———\n\ndue"),
        ("<b>html</b>", "<b>html</b>"),
        ("primo\n\n\n\nsecondo", "primo\n\nsecondo"),
        ("**[link](https://x.gov.it)**", "*link (https://x.gov.it)*"),
    ],
)
def test_markdown_becomes_whatsapp_markup(markdown, expected):
    assert whatsapp(markdown) == expected


def test_each_top_level_block_is_a_paragraph():
    blocks = markdown_blocks("# Orari\n\nPrimo.\n\n- a\n- b\n\n> nota")
    assert blocks == ["*Orari*", "Primo.", "- a\n- b", "> nota"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("una\nriga", "una · riga"),
        ("Fine.\nInizio", "Fine. Inizio"),
        ("*Titolo*\ntesto", "*Titolo* · testo"),
        ("*Davvero?*\nSì", "*Davvero?* Sì"),
        ("a\tb", "a b"),
        ("a          b", "a b"),
        ("  \n\n  ", ""),
        ("a\u00a0\u00a0\u00a0\u00a0\u00a0b", "a b"),
    ],
)
def test_flatten(text, expected):
    assert flatten(text) == expected


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab *_~`#>-1.\n\t\r []()\u00a0"), max_size=80))
def test_parameters_never_hold_what_meta_rejects(text):
    value = flatten("\n\n".join(markdown_blocks(text)))
    assert "\n" not in value and "\t" not in value and "\r" not in value
    assert not re.search(r"\s{5}", value)
    assert value == value.strip()


# --- whole announcements ------------------------------------------------------------
def rendered(repo, name="2024-04-03-prova", overrides=None, **fields):
    path = repo.add(name, **fields)
    settings = repo.settings(**(overrides or {}))
    ann, problems = parse(path, settings)
    assert problems == []
    return render(ann, settings)


NO_TEMPLATE = {"default_template": None}


def test_default_template_title_and_flattened_body(repo):
    out = rendered(repo, title="Strada  chiusa", body="Via **Roma**.\n\n- dalle 8\n- alle 18")
    assert out.template == "avviso" and out.language == "it"
    assert out.parameters == ["Strada chiusa", "Via *Roma*. Dalle 8; alle 18."]
    assert out.text == "*Strada chiusa*\n\nVia *Roma*.\n\n- dalle 8\n- alle 18"
    assert out.header is None
    assert len(out.notes) == 1 and "3 righe" in out.notes[0]


def test_single_line_body_has_no_flattening_note(repo):
    assert rendered(repo, body="Una riga sola.").notes == []


def test_paragraph_sources_and_the_last_takes_the_rest(repo):
    out = rendered(repo, template="parti", body="Uno.\n\nDue.\n\nTre.")
    assert out.sources == ["title", "paragraph:1", "paragraph:2"]
    assert out.parameters == ["Avviso di prova", "Uno.", "Due. Tre."]
    assert any("paragraph:2" in note for note in out.notes)


def test_a_missing_paragraph_renders_empty_for_the_policy_to_refuse(repo):
    out = rendered(repo, template="parti", body="Solo uno.")
    assert out.parameters[2] == ""


def test_category_date_town_and_named_parameters(repo):
    repo.write("pyproject.toml", repo.root.joinpath("pyproject.toml").read_text() + (
        '[tool.banditore.templates.nomi]\nbody = ["category", "date", "town"]\n'
        'parameter_names = ["categoria", "data", "comune"]\n'))
    out = rendered(repo, template="nomi", category="protezione-civile",
                   publish_at="2024-04-03T23:30:00+00:00")
    assert out.parameters == ["Protezione civile", "04/04/2024", "Comune di Prova"]
    assert out.parameter_names == ["categoria", "data", "comune"]
    tpl = Template("nomi", "it", body="Categoria: {{categoria}}, il {{data}}, {{comune}}.")
    assert make_bubble(out, tpl).body == "Categoria: Protezione civile, il 04/04/2024, " \
                                         "Comune di Prova."


def test_unknown_template_is_a_render_error(repo):
    with pytest.raises(RenderError) as err:
        rendered(repo, template="inesistente")
    assert "inesistente" in err.value.message() and "avviso" in err.value.message()


def test_a_text_header_is_filled_from_the_title_and_counted_against_60(repo):
    out = rendered(repo, template="titolo", title="Chiusura di   via Roma")
    assert out.header_text == "Chiusura di via Roma" and out.header is None
    assert out.parameters == [out.blocks[0]]
    first = out.limits()[0]
    assert (first.length, first.limit, first.source) == (20, 60, "title")
    assert "│ *Chiusura di via Roma*\n" in as_text(bubble_of(out, repo.settings()))


def test_header_media_from_the_repo_or_a_url(repo):
    out = rendered(repo, template="foto", media="announcements/media/a.jpg")
    assert (out.header.kind, out.header.mime) == ("image", "image/jpeg")
    assert out.header.path == repo.root / "announcements/media/a.jpg"
    out = rendered(repo, name="2024-04-03-due", media="https://comune.prova.it/b.pdf?v=2")
    assert (out.header.kind, out.header.url, out.header.path) == (
        "document", "https://comune.prova.it/b.pdf?v=2", None)


def test_text_message_limits(repo):
    out = rendered(repo, overrides=NO_TEMPLATE, body="x" * 10)
    assert out.template is None and out.parameters == []
    assert [(lim.length, lim.limit) for lim in out.limits()] == [(len(out.text), TEXT_LIMIT)]
    out = rendered(repo, "2024-04-03-media", NO_TEMPLATE, media="announcements/media/a.png")
    assert [lim.limit for lim in out.limits()] == [CAPTION_LIMIT]


def test_template_limits_per_parameter_and_total(repo):
    out = rendered(repo, body="y" * 1030)
    limits = out.limits()
    assert [(lim.length, lim.limit, lim.ok) for lim in limits] == [
        (15, PARAM_LIMIT, True), (1030, PARAM_LIMIT, False), (1045, TEMPLATE_BODY_LIMIT, False)]
    assert "parametro 2 (body) 1030/1024 ✗ 6 oltre il limite" in as_text(
        bubble_of(out, repo.settings()))


def test_render_takes_any_object_with_the_announcement_fields():
    # The send engine may pass a parsed Announcement; only these attributes are read.
    ann = SimpleNamespace(title="T", body="b", category="eventi", media=None, template=None,
                          effective_publish_at=None, status="actual", msg_type="alert")
    settings = SimpleNamespace(default_template=None, language="en", templates={},
                               lifecycle_labels=LifecycleLabels())
    out = render(ann, settings)
    assert out.text == "*T*\n\nb" and out.language == "en"


@pytest.mark.parametrize(("status", "msg_type", "title"), [
    ("actual", "update", "*RETTIFICA: T*"),
    ("actual", "cancel", "*REVOCATO: T*"),
    ("exercise", "alert", "*ESERCITAZIONE: T*"),
    ("test", "update", "*PROVA · RETTIFICA: T*"),
])
def test_lifecycle_label_before_the_title(status, msg_type, title):
    ann = SimpleNamespace(title="T", body="b", category="eventi", media=None, template=None,
                          effective_publish_at=None, status=status, msg_type=msg_type)
    settings = SimpleNamespace(default_template=None, language="it", templates={},
                               lifecycle_labels=LifecycleLabels())
    assert render(ann, settings).text.split("\n")[0] == title

