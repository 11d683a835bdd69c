"""Keyword classification: how people really type, and what must never match."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runner.subscribers.lifecycle.keywords import Classifier, KeywordError, fold

AYMAVILLES = Classifier(["MI ISCRIVO"], ["MI CANCELLO"])
JESI = Classifier(["JESI ON"], ["JESI OFF"])
CERVENO = Classifier(["Servizio Info ON"], ["Servizio Info OFF"], capture_name=True)


@pytest.mark.parametrize(
    "text",
    [
        "MI ISCRIVO",
        "mi iscrivo",
        "Mi Iscrivo",
        "  MI   ISCRIVO  ",
        "MI\u00a0ISCRIVO",  # non-breaking space from a web page
        "“MI ISCRIVO”",  # curly quotes copied from the town's site
        "«Mi iscrivo»",
        '"mi iscrivo"',
        "'MI ISCRIVO'",
        "MI ISCRIVO.",
        "mi iscrivo!!!",
        "Mi iscrivo 🙏",
        "MI ISCRIVO 👍🏻😊",
        "Mì ìscrivo",
        "МI ISCRIVO",  # Cyrillic capital EM
        "MI ΙSCRIVO",  # Greek capital IOTA
        "ＭＩ　ＩＳＣＲＩＶＯ",  # fullwidth letters and ideographic space
        "MI\u200bISCRIVO",  # zero-width space
        "MI ISC\u00adRIVO",  # soft hyphen
        "\ufeffMI ISCRIVO",  # BOM
        "MIISCRIVO",
        "mi iscrivo\n",
    ],
)
def test_subscribe_variants(text):
    m = AYMAVILLES.classify(text)
    assert (m.kind, m.keyword) == ("subscribe", "MI ISCRIVO")


@pytest.mark.parametrize(
    "text", ["MI CANCELLO", "mi cancello.", "“Mi cancello”", "MI CANCELLO ❌", "mi  cancellò"]
)
def test_unsubscribe_variants(text):
    assert AYMAVILLES.classify(text).kind == "unsubscribe"


@pytest.mark.parametrize(
    "text",
    [
        "Buongiorno, vorrei iscrivermi",
        "Come faccio a iscrivermi?",
        "MI ISCRIVO anche mia moglie",
        "non mi iscrivo",
        "MI ISCRIVOO",
        "mi iscirvo",
        "MI ISCRIVO 3331234567",
        "cancellatemi per favore",
        "STOP",
        "Basta messaggi!",
    ],
)
def test_near_misses_are_not_keywords(text):
    assert AYMAVILLES.classify(text).kind == "near_miss"


@pytest.mark.parametrize(
    "text", ["", None, "Ciao", "Grazie!", "👍", "A che ora apre il municipio?", "مرحبا"]
)
def test_chatter_is_ignored(text):
    assert AYMAVILLES.classify(text).kind == "ignored"


@pytest.mark.parametrize("text", ["JESI OFF", "jesi off", "Jesi Off!", "“JESI OFF”", "JESI  OFF"])
def test_jesi_off_is_never_on(text):
    assert JESI.classify(text).kind == "unsubscribe"


@pytest.mark.parametrize("text", ["JESI ON", "jesi on", "Jesi On 👋", "JESI ON."])
def test_jesi_on(text):
    assert JESI.classify(text).kind == "subscribe"


@pytest.mark.parametrize("text", ["JESI OF", "JESI ONN", "JESI ON OFF", "JESI OFF ON"])
def test_jesi_ambiguous_is_near_miss(text):
    assert JESI.classify(text).kind == "near_miss"


def test_jesi_of_names_no_keyword_when_equally_close():
    assert JESI.classify("JESI OF").keyword is None


@pytest.mark.parametrize(
    ("text", "kind", "name"),
    [
        ("Servizio Info ON Paolo Rossi", "subscribe", "Paolo Rossi"),
        ("servizio info on paolo rossi", "subscribe", "paolo rossi"),
        ("Servizio Info ON, Maria Grazia Bianchi.", "subscribe", "Maria Grazia Bianchi"),
        ("“Servizio Info ON” Niccolò D'Amico", "subscribe", "Niccolò D'Amico"),
        ("SERVIZIO\u00a0INFO ON  Anna-Lisa Verdi 😊", "subscribe", "Anna-Lisa Verdi"),
        ("Servizio Info ON", "subscribe", None),
        ("Servizio Info OFF", "unsubscribe", None),
        ("Servizio Info OFF Paolo Rossi", "unsubscribe", "Paolo Rossi"),
    ],
)
def test_cerveno_captures_the_name(text, kind, name):
    m = CERVENO.classify(text)
    assert (m.kind, m.name) == (kind, name)


@pytest.mark.parametrize(
    "text",
    [
        "Servizio Info ON 3331234567",
        "Servizio Info ON https://example.org",
        "Servizio Info ON sono Paolo Rossi e abito in via Roma 3",
        "Vorrei il Servizio Info ON",
    ],
)
def test_cerveno_rejects_what_is_not_a_name(text):
    assert CERVENO.classify(text).kind == "near_miss"


def test_name_is_not_captured_where_the_town_does_not_ask():
    assert JESI.classify("JESI ON Paolo Rossi").kind == "near_miss"


def test_ambiguous_configuration_is_refused():
    with pytest.raises(KeywordError):
        Classifier(["Jesi On"], ["JESI  ON"])


def test_fold():
    assert fold("“Mì  Iscrivo!!” 🙏") == "mi iscrivo"


@given(st.text(max_size=40))
def test_classify_never_crashes_and_off_never_subscribes(text):
    m = JESI.classify(text)
    assert m.kind in {"subscribe", "unsubscribe", "near_miss", "ignored"}
    if "off" in fold(text).split():
        assert m.kind != "subscribe"
