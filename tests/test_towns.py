"""The five reference services, each reproducible by copying its configuration."""

import shutil
from pathlib import Path

import pytest

from runner.settings import load_settings
from runner.subscribers.keywords import classifier

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


@pytest.fixture(params=sorted(CASES))
def town(request, tmp_path, monkeypatch):
    """A town's repository whose pyproject.toml is the reference configuration, copied."""
    shutil.copy(TOWNS / f"{request.param}.toml", tmp_path / "pyproject.toml")
    monkeypatch.chdir(tmp_path)
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
    from runner.subscribers.notices import reply_text

    _, settings = town
    welcome = reply_text(settings, "welcome")
    assert settings.privacy_url in welcome
    assert settings.unsubscribe_keywords[0] in welcome
    assert "{" not in welcome
    assert settings.subscribe_keywords[0] in reply_text(settings, "goodbye")


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
    from tests.subscribers.test_sync import T0, message, write

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
