"""admin/config.yml is generated: the committed file is what the command writes, and every
choice in it comes from the model and the settings, never a second list."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from runner.announcements.model import FRONT_MATTER_KEYS
from runner.cms.config import body_pattern, build_config, render_config, title_limit
from runner.config import Settings, TemplateConfig, load_settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def elsewhere(tmp_path, monkeypatch):
    """Settings from the constructor only: no pyproject.toml in the working directory."""
    monkeypatch.chdir(tmp_path)


def fields(config: dict) -> dict:
    return {f["name"]: f for f in config["collections"][0]["fields"]}


def test_the_committed_config_is_what_the_command_generates():
    committed = (ROOT / "admin" / "config.yml").read_text(encoding="utf-8")
    assert committed == render_config(load_settings()), "run: make cms-config"
    check = subprocess.run([sys.executable, "-m", "runner", "cms", "config", "--check"],
                           cwd=ROOT, capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


def test_check_fails_and_says_how_to_fix_when_the_file_drifted(tmp_path):
    (tmp_path / "admin").mkdir()
    (tmp_path / "admin" / "config.yml").write_text("locale: it\n")
    check = subprocess.run([sys.executable, "-m", "runner", "cms", "config", "--check"],
                           cwd=tmp_path, capture_output=True, text=True)
    assert check.returncode == 1
    assert "make cms-config" in check.stderr


def test_one_form_field_per_front_matter_key_and_the_body(elsewhere):
    config = build_config(Settings())
    assert list(fields(config)) == [*FRONT_MATTER_KEYS, "body"]
    collection = config["collections"][0]
    assert config["publish_mode"] == "editorial_workflow"
    assert config["locale"] == "it"
    assert collection["folder"] == "announcements"
    assert collection["path"] == "{{year}}/{{slug}}"
    assert collection["media_folder"] == "/announcements/media"
    assert collection["public_folder"] == "announcements/media"


def test_choices_come_from_the_town_settings(elsewhere):
    settings = Settings(categories=["eventi", "protezione-civile"],
                        emergency_categories=["protezione-civile"],
                        templates={"avviso": TemplateConfig(),
                                   "foto": TemplateConfig(header="image")},
                        default_template="avviso", default_validity_days=3)
    form = fields(build_config(settings))
    assert [o["value"] for o in form["category"]["options"]] == ["eventi", "protezione-civile"]
    assert [o["label"] for o in form["category"]["options"]] == ["Eventi", "Protezione civile"]
    assert [o["value"] for o in form["urgency"]["options"]] == ["normal", "high", "emergency"]
    assert "Protezione civile" in form["urgency"]["hint"]
    assert [o["value"] for o in form["template"]["options"]] == ["avviso", "foto"]
    assert form["template"]["default"] == "avviso"
    assert "3 giorni" in form["expires_at"]["hint"]
    assert form["publish_at"]["widget"] == form["expires_at"]["widget"] == "datetime"
    assert form["cancelled"]["widget"] == "boolean"
    assert [o["value"] for o in form["status"]["options"]] == ["actual", "exercise", "test"]
    reference = re.compile(form["updates"]["pattern"][0])  # an announcement's id
    assert reference.match("2024-04-02-rata-tari") and not reference.match("rata tari.md")
    assert "default" not in form["updates"]  # untouched, it is not written at all


def test_the_title_limit_follows_the_default_template(elsewhere):
    text_header = TemplateConfig(header="text", header_text="title")
    assert title_limit(Settings(templates={"t": text_header}, default_template="t")) == 60
    assert title_limit(Settings(templates={"t": TemplateConfig()}, default_template="t")) == 1024
    assert title_limit(Settings()) == 4096
    form = fields(build_config(Settings(templates={"t": text_header}, default_template="t")))
    assert form["title"]["pattern"][0] == "^.{1,60}$"


def test_the_body_pattern_refuses_what_whatsapp_would_show_as_typed():
    # Python's re reads this JavaScript pattern the same way (no flags, lookarounds).
    pattern = re.compile(body_pattern())
    for good in ["Testo con **grassetto**", "- uno\n- due", "Scrivi a <https://comune.it>",
                 "Prezzo 3 < 5 euro", "Digitato \\<b> nel testo formattato"]:
        assert pattern.match(good), good
    for bad in ["Ciao <b>tutti</b>", "| a | b |\n|---|---|\n| 1 | 2 |", "a\n--- | ---\n1 | 2"]:
        assert not pattern.match(bad), bad


def test_the_yaml_keeps_the_pattern_exactly():
    text = render_config(Settings())
    body = fields(yaml.safe_load(text))["body"]
    assert body["pattern"][0] == body_pattern()
