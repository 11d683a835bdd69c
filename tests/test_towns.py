"""The five reference services, each reproducible by copying its configuration."""

import json
import shutil
from pathlib import Path

import pytest

from runner.config import load_settings
from runner.subscribers.lifecycle.keywords import classifier

TOWNS = Path(__file__).parent.parent / "runner" / "towns"

# town -> (real-world subscribe variants, unsubscribe variants, texts that are not keywords)
CASES = {
    "aymavilles": (
        ["MI ISCRIVO", "mi iscrivo 🙂", "“Mi iscrivo”"],
        ["MI CANCELLO", "Mi cancello."],
        ["Vorrei iscrivermi", "MI ISCRIVO anche io?"],
    ),
    "sovere": (
        ["ISCRIVIMI", "iscrivimi!", "Iscrivimi 👍"],
        ["CANCELLAMI", "cancellami"],
        ["Iscrivimi per favore al servizio", "cancellatemi"],
    ),
    "cerveno": (
        ["Servizio Info ON Mario Bianchi", "servizio info on Lucia Ferrari"],
        ["Servizio Info OFF", "servizio info off Mario Bianchi"],
        ["Servizio Info", "Servizio Info ON 333 1234567"],
    ),
    "jesi": (
        ["JESI ON", "jesi on", "Jesi On!"],
        ["JESI OFF", "jesi off", "Jesi Off 👋"],
        ["Jesi", "JESI ON OFF", "Info su Jesi"],
    ),
    "vimercate": (
        ["Vimercate Info", "VIMERCATE INFO", "vimercate info."],
        ["Vimercate stop", "VIMERCATE STOP!"],
        ["Info Vimercate", "stop"],
    ),
}


pytestmark = pytest.mark.town(logs=False)  # the configuration alone, nothing from outside


@pytest.fixture(params=sorted(CASES))
def town(town, request):
    """A town's repository whose pyproject.toml is the reference configuration, copied."""
    shutil.copy(TOWNS / f"{request.param}.toml", town / "pyproject.toml")
    return request.param, load_settings()


def test_every_shipped_town_is_tested():
    assert sorted(p.stem for p in TOWNS.glob("*.toml")) == sorted(CASES)


def test_keywords(town):
    name, settings = town
    subscribe, unsubscribe, others = CASES[name]
    c = classifier(settings)
    assert [c.classify(t).kind for t in subscribe] == ["subscribe"] * len(subscribe)
    assert [c.classify(t).kind for t in unsubscribe] == ["unsubscribe"] * len(unsubscribe)
    assert all(c.classify(t).kind in {"near_miss", "ignored"} for t in others)


def test_texts_render_with_privacy_and_how_to_leave(town):
    from runner.subscribers.lifecycle.notices import reply_text

    _, settings = town
    welcome = reply_text(settings, "welcome")
    assert settings.privacy_url in welcome
    assert settings.unsubscribe_keywords[0] in welcome
    assert "{" not in welcome
    assert settings.subscribe_keywords[0] in reply_text(settings, "goodbye")


def test_pause_resume_and_returner_texts(town):
    """Every town pauses and resumes (Aymavilles offers it by name; the others keep the
    defaults), and its short texts render with the town's name and keywords."""
    from runner.subscribers.lifecycle.notices import reply_text

    _, settings = town
    c = classifier(settings)
    assert c.classify(settings.pause_keywords[0].lower()).kind == "pause"
    assert c.classify(settings.resume_keywords[0] + "!").kind == "resume"
    for kind in ("pause", "resume", "rejoined"):
        text = reply_text(settings, kind)
        assert "{" not in text and settings.town in text, kind
    assert settings.resume_keywords[0] in reply_text(settings, "pause")
    assert settings.pause_keywords[0] in reply_text(settings, "resume")
    assert settings.unsubscribe_keywords[0] in reply_text(settings, "rejoined")


def test_policy_settings(town):
    name, s = town
    assert set(s.emergency_categories) <= set(s.categories)
    assert s.weekly_cap == 10
    assert s.capture_name == s.moderate_subscribe == s.moderate_unsubscribe == (name == "cerveno")
    if name == "aymavilles":
        assert s.categories == ["emergenze", "info-comune", "eventi"]
    if name == "jesi":
        assert {"protezione-civile", "disservizi", "scadenze", "eventi"} <= set(s.categories)
    if name == "vimercate":
        assert "allerta-meteo" in s.emergency_categories


def test_a_town_runs_on_its_configuration_alone(town, tmp_path):
    """Sync real webhook lines with nothing but the copied configuration."""
    from runner.subscribers.sync import sync
    from tests.support.webhooks import T0, message, write

    name, settings = town
    subscribe, unsubscribe, others = CASES[name]
    logs = tmp_path / "webhook-logs"  # the default folder name
    logs.mkdir()
    write(logs / "a.jsonl", [
        message(f"3933300000{i:02d}", f"wamid.s{i}", T0 + i, text)
        for i, text in enumerate(subscribe + others)
    ] + [message("393330000000", "wamid.u", T0 + 60, unsubscribe[0])])
    s = sync(settings)
    if name == "cerveno":  # staff approve subscriptions; leaving while waiting needs none
        assert s.states == {"pending": len(subscribe) - 1, "unsubscribed": 1}
        assert s.welcome == 0
    else:
        assert s.states == {"active": len(subscribe) - 1, "unsubscribed": 1}
        assert (s.welcome, s.goodbye) == (len(subscribe), 1)


SAMPLES = Path(__file__).parent.parent / "announcements"


def test_each_town_ships_the_text_of_every_template_it_configures(town):
    from runner.whatsapp.templates import read_catalogue

    name, settings = town
    catalogue = read_catalogue(TOWNS / "templates" / f"{name}.toml")
    assert sorted(t.name for t in catalogue.templates) == sorted(settings.templates)
    for tpl in catalogue.templates:
        assert tpl.language == "it" and tpl.body and "{{" in tpl.body
        assert len(tpl.footer) <= 60 and len(tpl.body) <= 1024
    for key in ("default_template", "welcome_template"):
        assert getattr(settings, key) in settings.templates
    welcome = catalogue.get(settings.welcome_template).body
    assert settings.privacy_url in welcome  # the privacy notice, whenever it is sent
    for announcement_template in {settings.default_template} | {
            n for n, c in settings.templates.items() if c.header != "none"}:
        footer = catalogue.get(announcement_template).footer
        assert settings.unsubscribe_keywords[0] in footer  # how to leave, in every bubble


def test_each_town_validates_the_sample_announcements_of_its_categories(town, tmp_path):
    """Copy the town's two files, as a town would, and the samples of its categories
    (links pointing at the town's own site): every one passes, through its template."""
    from datetime import datetime

    from runner.announcements.validate import check

    name, settings = town
    shutil.copy(TOWNS / "templates" / f"{name}.toml", tmp_path / "templates.toml")
    shutil.copytree(SAMPLES / "media", tmp_path / "announcements" / "media")
    copied = 0
    for sample in sorted((SAMPLES / "2024").glob("*.md")):
        text = sample.read_text(encoding="utf-8")
        category = text.split("category: ", 1)[1].split("\n", 1)[0]
        if category not in settings.categories:
            continue
        text = text.replace("comune.esempio.it", settings.town_site)
        text = text.replace("Comune di Esempio", settings.town)
        (tmp_path / "announcements" / "2024").mkdir(parents=True, exist_ok=True)
        (tmp_path / "announcements" / "2024" / sample.name).write_text(text, encoding="utf-8")
        copied += 1
    settings = settings.model_copy(update={"now": datetime.fromisoformat(
        "2024-03-20T09:00:00+01:00")})
    result = check(settings)
    assert copied >= 4 and len(result.checked) == copied
    assert result.problems == [], "\n".join(p.message for p in result.problems)
    assert len(result.rendered) == copied
    assert all(r.template for r in result.rendered.values())


def test_a_moderating_town_without_a_welcome_template_is_a_configuration_error(
        tmp_path, monkeypatch):
    from runner.errors import ConfigError

    text = (TOWNS / "cerveno.toml").read_text(encoding="utf-8")
    text = text.replace('welcome_template = "benvenuto"\n', "")
    (tmp_path / "pyproject.toml").write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="welcome_template"):
        load_settings()


# town -> (text, topic id it subscribes to) and texts naming no topic of the town
TOPIC_CASES = {
    "aymavilles": ([("MI ISCRIVO EVENTI", "eventi"), ("mi iscrivo eventi 🎉", "eventi"),
                    ("Mi iscrivo: Info Comune!", "info-comune")],
                   ["MI ISCRIVO SPORT", "MI ISCRIVO EMERGENZE"]),
    "sovere": ([("ISCRIVIMI VIABILITÀ", "Viabilità"), ("iscrivimi viabilita 🚧", "Viabilità"),
                ("Iscrivimi info dal comune", "Info dal Comune"),
                ("ISCRIVIMI INFO-COMUNE", "Info dal Comune")],
               ["ISCRIVIMI CALCIO", "ISCRIVIMI ALLERTA METEO"]),
    "cerveno": ([], ["Servizio Info ON Eventi Sportivi 3"]),  # topics only from the menu
    "jesi": ([("JESI ON EVENTI", "eventi"), ("Jesi On Scadenze ✅", "scadenze"),
              ("“jesi on disservizi”", "disservizi")],
             ["JESI ON PROTEZIONE CIVILE", "JESI ON CALCIO"]),
    "vimercate": ([("Vimercate Info Viabilità e lavori", "Viabilità e lavori"),
                   ("VIMERCATE INFO VIABILITA", "Viabilità e lavori"),
                   ("vimercate info disservizi 👍🏻", "Viabilità e lavori"),
                   ("Vimercate Info Èventi", "eventi")],
                  ["Vimercate Info Sagra", "VIMERCATE INFO METEO"]),
}


def test_topic_keywords(town):
    name, settings = town
    named, unknown = TOPIC_CASES[name]
    c = classifier(settings)
    assert [(c.classify(text).kind, c.classify(text).topic) for text, _ in named] == [
        ("subscribe", topic) for _, topic in named]
    for _, topic in named[:1]:  # the unsubscribe keyword with the topic leaves just that
        leave = c.classify(f"{settings.unsubscribe_keywords[0].lower()} {topic}!")
        assert (leave.kind, leave.topic) == ("unsubscribe", topic)
    assert [c.classify(text).kind for text in unknown] == ["near_miss"] * len(unknown)
    assert c.classify("ARGOMENTI").kind == "topics"


def test_the_welcome_carries_the_topic_menu_and_says_how(town):
    from runner.send.payloads import reply_bodies
    from runner.subscribers.lifecycle.notices import reply_text

    _, settings = town
    welcome = reply_text(settings, "welcome")
    assert "ARGOMENTI" in welcome and settings.topic_texts.button in welcome
    body = json.loads(reply_bodies(settings)["welcome"].body("393330000001", "w:x"))
    assert body["interactive"]["body"]["text"] == welcome
    rows = body["interactive"]["action"]["sections"][0]["rows"]
    assert 2 <= len(rows) <= 10 and all(len(r["title"]) <= 24 for r in rows)
