"""Every configuration error says, in the town's language, which setting, what value,
where it came from, what is expected and the likely intended name; exit 2, never a
traceback. `init --town` writes a reference town into pyproject.toml safely."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from runner.cli import main
from runner.config import load_settings
from runner.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
TOWNS = ROOT / "runner" / "towns"


# A town whose only settings are those its pyproject.toml commits.
pytestmark = pytest.mark.town(logs=False, pyproject='[tool.banditore]\nlanguage = "it"\n')


def error_of(capsys, *argv: str) -> str:
    assert main(list(argv) or ["sync"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


def settings_file(town, text: str) -> None:
    (town / "pyproject.toml").write_text("[tool.banditore]\n" + text)


@pytest.mark.parametrize(("set_up", "expected"), [
    (lambda town, mp: mp.setenv("BANDITORE_CATEGORIES", "eventi,scadenze"),
     ["«categories»", "BANDITORE_CATEGORIES", "«eventi,scadenze»",
      """BANDITORE_CATEGORIES='["eventi", "scadenze"]'"""]),
    (lambda town, mp: settings_file(town, "weekly_cup = 10\n"),
     ["«weekly_cup»", "[tool.banditore] in pyproject.toml", "non esiste",
      "Forse intendevi «weekly_cap»?"]),
    (lambda town, mp: settings_file(town, 'weekly_cap = "dieci"\n'),
     ["«weekly_cap»", "«dieci»", "un numero intero"]),
    (lambda town, mp: settings_file(town, "weekly_cap = -1\n"),
     ["«weekly_cap»", "«-1»", "un numero ≥ 0"]),
    (lambda town, mp: settings_file(town, 'timezone = "Europe/Rom"\n'),
     ["«timezone»", "«Europe/Rom»", "fuso orario", "Forse intendevi «Europe/Rome»?"]),
    (lambda town, mp: settings_file(town, 'capture_name = "si"\n'),
     ["«capture_name»", "«si»", "true o false"]),
    (lambda town, mp: settings_file(town, 'quiet_hours_start = "25:00"\n'),
     ["«quiet_hours_start»", "«25:00»", "HH:MM"]),
    (lambda town, mp: mp.setenv("BANDITORE_LANGUAGE", "italiano"),
     ["«language»", "BANDITORE_LANGUAGE", "«italiano»", "'it' or 'en'"]),
    (lambda town, mp: settings_file(town, 'whatsapp_token = "EAAG"\n'),
     ["pyproject.toml contiene whatsapp_token", "BANDITORE_WHATSAPP_TOKEN"]),
    (lambda town, mp: (town / "pyproject.toml").write_text(
        (town / "pyproject.toml").read_text() + (TOWNS / "jesi.toml").read_text()),
     ["non è un file TOML valido", "due volte", "python -m runner init --town"]),
    (lambda town, mp: settings_file(town, 'town = "Comune\n'),
     ["non è un file TOML valido", "line 2", "Correggi la riga"]),
])
def test_each_configuration_error_is_explained(town, monkeypatch, capsys, set_up, expected):
    set_up(town, monkeypatch)
    err = error_of(capsys)
    assert err.startswith("Errore di configurazione: ")
    for part in expected:
        assert part in err


@pytest.mark.parametrize(("value", "expected"), [
    ('["98765"]', "prefisso del paese"),  # not "a list": the country code is missing
    ("393331112222,393339998888", "non è una lista JSON"),
    ('["3933311"]', "prefisso del paese"),
])
def test_test_recipients_are_never_repeated_not_even_rewritten(town, monkeypatch, capsys,
                                                               value, expected):
    monkeypatch.setenv("BANDITORE_TEST_RECIPIENTS", value)
    err = error_of(capsys)
    assert expected in err and "BANDITORE_TEST_RECIPIENTS" in err
    digits = [part for part in value.replace('"', " ").replace(",", " ").split() if part]
    assert not any(d.strip("[]") in err for d in digits if len(d.strip("[]")) >= 5)
    assert "lista" not in err or expected == "non è una lista JSON"


def test_a_pattern_is_explained_in_words(town, capsys):
    settings_file(town, 'istat_code = "16205"\n')
    err = error_of(capsys)
    assert "il codice ISTAT del Comune, sei cifre" in err
    assert "String should match pattern" not in err


def test_errors_speak_the_town_language_even_when_its_settings_fail(town, capsys):
    settings_file(town, 'language = "en"\nweekly_cup = 10\nmoderate_subscribe = "yes please"\n')
    err = error_of(capsys)
    assert err.startswith("Configuration error: ")
    assert "Did you mean “weekly_cap”?" in err and "true or false" in err
    with pytest.raises(ConfigError, match="weekly_cup"):
        load_settings()


def test_a_missing_pseudonym_key_is_an_error_in_ci_and_a_warning_locally(town, monkeypatch,
                                                                       capsys):
    (town / "webhook-logs").mkdir()
    # In CI sync also needs a log to read (tests/subscribers/test_sync_in_ci.py).
    (town / "webhook-logs" / "2024-03-21.jsonl").write_text('{"entry": []}\n')
    assert main(["sync"]) == 0
    assert "BANDITORE_PSEUDONYM_KEY" in capsys.readouterr().err
    monkeypatch.setenv("CI", "true")
    err = error_of(capsys, "sync")
    assert "secret BANDITORE_PSEUDONYM_KEY all'ambiente production" in err
    monkeypatch.setenv("BANDITORE_PSEUDONYM_KEY", "k" * 32)
    assert main(["sync"]) == 0
    assert "PSEUDONYM" not in capsys.readouterr().err


# --- init --town ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["aymavilles", "cerveno", "jesi", "sovere", "vimercate"])
def test_init_writes_the_town_and_keeps_the_rest_of_the_file(tmp_path, monkeypatch, capsys,
                                                              name):
    monkeypatch.chdir(tmp_path)
    # the repository's own file, with a setting no town file sets
    original = (ROOT / "pyproject.toml").read_text() + "retention_days = 14\n"
    (tmp_path / "pyproject.toml").write_text(original)
    assert main(["init", "--town", name]) == 0
    assert "git diff pyproject.toml" in capsys.readouterr().out
    new = (tmp_path / "pyproject.toml").read_text()
    written = tomllib.loads(new)
    reference = tomllib.loads((TOWNS / f"{name}.toml").read_text())["tool"]["banditore"]
    for key, value in reference.items():
        assert written["tool"]["banditore"][key] == value
    # packaging, tools and the settings the town file does not set: untouched
    before = tomllib.loads(original)
    assert {k: v for k, v in written.items() if k != "tool"} == {
        k: v for k, v in before.items() if k != "tool"}
    assert written["tool"]["ruff"] == before["tool"]["ruff"]
    kept = {k: v for k, v in before["tool"]["banditore"].items() if k not in reference}
    assert kept and all(written["tool"]["banditore"][k] == v for k, v in kept.items())
    head = original.split("[tool.banditore]")[0]
    assert new.startswith(head)  # every line before the table, byte for byte
    assert load_settings().town == reference["town"]
    assert (tmp_path / "templates.toml").read_bytes() == (
        TOWNS / "templates" / f"{name}.toml").read_bytes()  # there was none: the town's
    assert main(["init", "--town", name]) == 0  # again: the same file
    assert (tmp_path / "pyproject.toml").read_text() == new


def test_init_mends_a_file_that_does_not_load_and_refuses_an_unknown_town(town, capsys):
    settings_file(town, 'weekly_cap = "dieci"\n')  # settings broken: init still runs
    assert main(["init", "--town", "jesi"]) == 0
    assert load_settings().weekly_cap == 10
    # A key the town file does not set, and the settings refuse: nothing is written.
    settings_file(town, "weekly_cup = 10\n")
    assert "Forse intendevi «weekly_cap»?" in error_of(capsys, "init", "--town", "jesi")
    assert (town / "pyproject.toml").read_text() == "[tool.banditore]\nweekly_cup = 10\n"
    err = error_of(capsys, "init", "--town", "jessi")
    assert "Forse intendevi «jesi»?" in err
    (town / "pyproject.toml").write_text("[tool.banditore\n")
    before = (town / "pyproject.toml").read_text()
    assert "TOML" in error_of(capsys, "init", "--town", "jesi")
    assert (town / "pyproject.toml").read_text() == before


def test_init_into_a_repository_without_pyproject(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["init", "--town", "cerveno"]) == 0
    assert load_settings().capture_name is True
    assert "templates.toml" in capsys.readouterr().out


def test_init_replaces_a_catalogue_without_the_new_towns_templates(tmp_path, monkeypatch,
                                                                   capsys):
    """Another town's catalogue (or none of these templates) would fail every announcement
    of the new town: it is replaced, and kept beside."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "templates.toml").write_text((TOWNS / "templates" / "jesi.toml").read_text())
    assert main(["init", "--town", "cerveno"]) == 0
    out = capsys.readouterr().out
    assert "non aveva i modelli di cerveno" in out and "templates.toml.bak" in out
    assert (tmp_path / "templates.toml").read_bytes() == (
        TOWNS / "templates" / "cerveno.toml").read_bytes()
    assert (tmp_path / "templates.toml.bak").read_bytes() == (
        TOWNS / "templates" / "jesi.toml").read_bytes()
    # The town's own catalogue, which knows its templates (and more): kept as it is.
    own = (TOWNS / "templates" / "cerveno.toml").read_text() + "\n# synced by the town\n"
    (tmp_path / "templates.toml").write_text(own)
    assert main(["init", "--town", "cerveno"]) == 0
    assert "è rimasto com'era" in capsys.readouterr().out
    assert (tmp_path / "templates.toml").read_text() == own
