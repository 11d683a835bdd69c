"""Settings come from real environment variables, .env and pyproject.toml, in that order."""

import pytest

from runner.config import load_settings
from runner.errors import ConfigError

# A town whose only settings are those its pyproject.toml commits.
pytestmark = pytest.mark.town(logs=False, pyproject=(
    '[tool.banditore]\ntown = "Comune di Jesi"\nweekly_cap = 5\n'
    'subscribe_keywords = ["JESI ON"]\n'
    '[tool.banditore.templates.avviso]\nlanguage = "it"\nbody = ["title", "body"]\n'))


def test_defaults_without_any_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    s = load_settings()
    assert s.database.name == "subscribers.duckdb"
    assert s.rate_per_second == 80
    assert s.language == "it"
    assert s.whatsapp_token is None
    assert "emergenze" in s.categories


def test_pyproject_is_read(town):
    s = load_settings()
    assert s.town == "Comune di Jesi"
    assert s.weekly_cap == 5
    assert s.subscribe_keywords == ["JESI ON"]
    assert s.templates["avviso"].body == ["title", "body"]


def test_dotenv_beats_pyproject_and_env_beats_dotenv(town, monkeypatch):
    (town / ".env").write_text("BANDITORE_WEEKLY_CAP=7\nBANDITORE_TOWN=Da env file\n")
    assert load_settings().weekly_cap == 7
    monkeypatch.setenv("BANDITORE_WEEKLY_CAP", "9")
    s = load_settings()
    assert s.weekly_cap == 9
    assert s.town == "Da env file"
    assert load_settings(weekly_cap=1).weekly_cap == 1


def test_lists_from_env_are_json(town, monkeypatch):
    monkeypatch.setenv("BANDITORE_UNSUBSCRIBE_KEYWORDS", '["JESI OFF", "STOP"]')
    assert load_settings().unsubscribe_keywords == ["JESI OFF", "STOP"]


def test_empty_env_var_means_unset(town, monkeypatch):
    monkeypatch.setenv("BANDITORE_WHATSAPP_TOKEN", "")
    assert load_settings().whatsapp_token is None


def test_secret_from_env_is_hidden(town, monkeypatch):
    monkeypatch.setenv("BANDITORE_WHATSAPP_TOKEN", "EAAG-very-secret")
    s = load_settings()
    assert s.whatsapp_token.get_secret_value() == "EAAG-very-secret"
    assert "very-secret" not in repr(s) and "very-secret" not in str(s.model_dump())


@pytest.mark.parametrize("where", ["pyproject.toml", ".env"])
def test_secret_in_a_file_is_refused(town, where):
    if where == ".env":
        (town / ".env").write_text("BANDITORE_WHATSAPP_TOKEN=oops\n")
    else:
        text = (town / "pyproject.toml").read_text()
        (town / "pyproject.toml").write_text(
            text.replace("[tool.banditore]\n", '[tool.banditore]\nwhatsapp_token = "oops"\n')
        )
    with pytest.raises(ConfigError, match="BANDITORE_WHATSAPP_TOKEN"):
        load_settings()


def test_invalid_value_names_the_key(town, monkeypatch):
    monkeypatch.setenv("BANDITORE_RATE_PER_SECOND", "-3")
    with pytest.raises(ConfigError, match="rate_per_second"):
        load_settings()


def test_clock_override_is_timezone_aware(town, monkeypatch):
    monkeypatch.setenv("BANDITORE_NOW", "2024-03-28T09:00:00")
    now = load_settings().current_time()
    assert now.utcoffset().total_seconds() == 3600  # Europe/Rome in March, before DST


@pytest.mark.parametrize("name, value", [
    ("whatsapp_api_base", "https://graph.facebook.com.evil.example"),
    ("telegram_api_base", "https://api.telegram.org"),  # even the default: set nowhere but env
    ("github_api_base", "http://127.0.0.1:9"),
    ("github_dispatch_token", "github_pat_oops"),
])
@pytest.mark.parametrize("where", ["pyproject.toml", ".env"])
def test_where_the_tokens_go_is_refused_from_a_file(town, where, name, value):
    """A merged settings change must not be able to send a token to another host."""
    if where == ".env":
        (town / ".env").write_text(f"BANDITORE_{name.upper()}={value}\n")
    else:
        text = (town / "pyproject.toml").read_text()
        (town / "pyproject.toml").write_text(
            text.replace("[tool.banditore]\n", f'[tool.banditore]\n{name} = "{value}"\n'))
    with pytest.raises(ConfigError, match=f"BANDITORE_{name.upper()}"):
        load_settings()


def test_where_the_tokens_go_comes_from_the_environment(town, monkeypatch):
    monkeypatch.setenv("BANDITORE_WHATSAPP_API_BASE", "http://127.0.0.1:8081")
    monkeypatch.setenv("BANDITORE_GITHUB_API_BASE", "https://github.comune.example/api/v3")
    monkeypatch.setenv("BANDITORE_GITHUB_REPOSITORY", "comune-esempio/banditore")
    s = load_settings()
    assert s.whatsapp_api_base == "http://127.0.0.1:8081"
    assert s.github_api_base == "https://github.comune.example/api/v3"
    assert s.github_repository == "comune-esempio/banditore"
    assert load_settings(telegram_api_base="http://127.0.0.1:9").telegram_api_base.endswith(":9")


def test_a_repository_is_owner_slash_name(town, monkeypatch):
    monkeypatch.setenv("BANDITORE_GITHUB_REPOSITORY", "https://github.com/comune/banditore")
    with pytest.raises(ConfigError, match="github_repository"):
        load_settings()
