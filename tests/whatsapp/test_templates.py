"""The template catalogue: `templates sync` against the loopback Cloud API (paging
included), and the committed file read back, written by hand or by the sync."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from runner.cli import main
from runner.config import Settings
from runner.errors import BanditoreError, ConfigError
from runner.whatsapp.templates import Template, read_catalogue, sync_catalogue, updated


def meta_template(name: str, status: str = "APPROVED", category: str = "UTILITY",
                  header: dict | None = None) -> dict:
    """One element of message_templates' data, in Meta's shape."""
    components = [header] if header else []
    components += [
        {"type": "BODY", "text": "📢 *{{1}}*\n\n{{2}}\n\nComune di Prova.",
         "example": {"body_text": [["Titolo", "Testo"]]}},
        {"type": "FOOTER", "text": "Per cancellarti scrivi MI CANCELLO"},
        {"type": "BUTTONS", "buttons": [{"type": "URL", "text": "Sito del Comune",
                                         "url": "https://www.comune.prova.it/"}]},
    ]
    return {"name": name, "language": "it", "status": status, "category": category,
            "id": f"{abs(hash(name)) % 10**15}", "components": components}


def settings_for(api, tmp_path, **more) -> Settings:
    return Settings(whatsapp_token=SecretStr("test-token"), whatsapp_api_base=api.base,
                    whatsapp_waba_id="555", templates_file=tmp_path / "templates.toml", **more)


def test_sync_follows_every_page_and_writes_the_catalogue(api, tmp_path):
    api.state.templates = [meta_template(f"avviso_{i:03d}") for i in range(250)]
    api.state.templates[7] = meta_template("avviso_007", status="PAUSED", category="MARKETING",
                                           header={"type": "HEADER", "format": "IMAGE"})
    result = sync_catalogue(settings_for(api, tmp_path))
    assert result.pages == 3  # 100 + 100 + 50
    assert len(api.state.template_gets) == 3
    assert all("/v25.0/555/message_templates?" in p for p in api.state.template_gets)
    assert "fields=name%2Clanguage%2Cstatus%2Ccategory%2Ccomponents" in api.state.template_gets[0]
    catalogue = read_catalogue(tmp_path / "templates.toml")
    assert len(catalogue.templates) == 250
    first = catalogue.get("avviso_000", "it")
    assert first == Template("avviso_000", "it", "APPROVED", "UTILITY", "NONE", "",
                             "📢 *{{1}}*\n\nComune di Prova.".replace("\n\nC", "\n\n{{2}}\n\nC"),
                             "Per cancellarti scrivi MI CANCELLO", ("Sito del Comune",))
    assert first.body_placeholders() == ["1", "2"]
    paused = catalogue.get("avviso_007")
    assert (paused.status, paused.category, paused.header) == ("PAUSED", "MARKETING", "IMAGE")
    assert "250 modelli scritti" in result.text() and "APPROVED 249, PAUSED 1" in result.text()


def test_a_resync_writes_the_same_bytes(api, tmp_path):
    api.state.templates = [meta_template("b"), meta_template("a")]
    settings = settings_for(api, tmp_path)
    sync_catalogue(settings)
    first = (tmp_path / "templates.toml").read_bytes()
    sync_catalogue(settings)
    assert (tmp_path / "templates.toml").read_bytes() == first
    assert first.index(b'name = "a"') < first.index(b'name = "b"')  # sorted: small diffs
    assert b'body = """' in first  # multi-line text stays readable for hand edits


def test_a_refused_token_is_an_error_with_meta_code(api, tmp_path):
    settings = settings_for(api, tmp_path).model_copy(
        update={"whatsapp_token": SecretStr("wrong")})
    with pytest.raises(BanditoreError, match="190"):
        sync_catalogue(settings)
    assert not (tmp_path / "templates.toml").exists()


def test_without_token_or_account_it_says_how_to_write_the_file_by_hand(tmp_path):
    with pytest.raises(ConfigError, match="a mano"):
        sync_catalogue(Settings(templates_file=tmp_path / "t.toml"))


def test_the_cli_command(api, tmp_path, monkeypatch, capsys):
    api.state.templates = [meta_template("avviso")]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BANDITORE_WHATSAPP_TOKEN", "test-token")
    monkeypatch.setenv("BANDITORE_WHATSAPP_API_BASE", api.base)
    monkeypatch.setenv("BANDITORE_WHATSAPP_WABA_ID", "555")
    assert main(["templates", "sync"]) == 0
    assert "1 modelli scritti in templates.toml" in capsys.readouterr().out
    assert read_catalogue(tmp_path / "templates.toml").get("avviso").approved
    monkeypatch.delenv("BANDITORE_WHATSAPP_WABA_ID")
    assert main(["templates", "sync"]) == 2


def test_a_hand_written_file_with_a_typo_says_which_entry(tmp_path):
    path = tmp_path / "templates.toml"
    path.write_text('[[template]]\nname = "a"\nlanguage = "it"\nbodi = "x"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="n. 1.*bodi"):
        read_catalogue(path)
    path.write_text('[[template]]\nname = "a"\nlanguage = "it"\nheader = "GIF"\n')
    with pytest.raises(ConfigError, match="GIF"):
        read_catalogue(path)


def test_changes_announced_by_webhook_apply_on_top():
    from runner.whatsapp.templates import Catalogue

    cat = Catalogue([Template("a", "it"), Template("b", "it")])
    new = updated(cat, {"a": {"category": "MARKETING"}, "b:it": {"status": "PAUSED"}})
    assert [(x.status, x.category) for x in new.templates] == [
        ("APPROVED", "MARKETING"), ("PAUSED", "UTILITY")]
