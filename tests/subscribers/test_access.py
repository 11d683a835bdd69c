"""The right of access: `subscribers show` and `export` find a citizen however staff
type them, and hand over everything held (show masks it for staff)."""

from __future__ import annotations

import json

import pytest

from runner.cli import main
from runner.config import load_settings
from runner.subscribers.lifecycle.decisions import DecisionError
from runner.subscribers.privacy import citizen_id
from runner.subscribers.rights.access import export, show
from runner.subscribers.staff.decide import decide
from runner.subscribers.sync import sync
from tests.support.towns import CERVENO_MODERATED, make_town
from tests.support.webhooks import T0, message, status, write

PAOLO = citizen_id("393330000001")
# Cerveno: names captured, subscriptions moderated.
pytestmark = pytest.mark.town(**CERVENO_MODERATED, now="2024-03-22T10:00:00+01:00",
                              privacy_notice_date="2024-01-15")


@pytest.fixture
def town(town):
    """Paolo (approved; his welcome failed), Anna and Carla (waiting) asked to subscribe."""
    write(town / "logs" / "a.jsonl", [
        message("393330000001", "wamid.1", T0, "Servizio Info ON Paolo Rossi"),
        message("393330000001", "wamid.1b", T0 + 60,
                "Buongiorno, vorrei iscrivermi, sono Paolo, via Roma 3"),
        message("393330000002", "wamid.2", T0, "Servizio Info ON Anna Rossi"),
        message("393330000003", "wamid.3", T0, "Servizio Info ON Carla Bianchi"),
    ])
    sync(load_settings())
    decide(load_settings(), "approve", PAOLO)
    write(town / "logs" / "a.jsonl", [
        status("wamid.out1", "failed", T0 + 3600, number="393330000001",
               callback="banditore:w:wamid.1", code=131026)], mode="a")
    sync(load_settings())
    return town


@pytest.mark.parametrize("who", [
    PAOLO, "393330000001", "+39 333 000 0001", "+393330000001", "0039 333 0000001",
    "333 000 0001", "333-000-0001", "(333) 0000001", "paolo rossi", "Rossi Paolo", "PAOLO",
])
def test_every_kind_of_who_finds_the_citizen(town, who):
    assert show(load_settings(), who).splitlines()[0].startswith(f"Cittadino {PAOLO}")


def test_no_match_echoes_what_was_typed_masked(town):
    with pytest.raises(DecisionError) as err:
        show(load_settings(), "+39 333 999 9999")
    assert "+39 333 *****99" in str(err.value) and "3339999999" not in str(err.value)
    with pytest.raises(DecisionError, match="«Mario Verdi»"):
        show(load_settings(), "Mario Verdi")
    with pytest.raises(DecisionError, match="«!!!»"):
        show(load_settings(), "!!!")


def test_several_matches_are_listed_by_id_with_masked_numbers(town):
    with pytest.raises(DecisionError) as err:
        show(load_settings(), "rossi")
    text = str(err.value)
    assert "2" in text and PAOLO in text and citizen_id("393330000002") in text
    assert "+39 333 *****01" in text and "393330000001" not in text


def test_export_holds_everything_with_the_number_and_texts(town):
    data = json.loads(export(load_settings(), "Paolo Rossi"))
    assert data["number"] == "393330000001"
    assert data["subscription"]["state"] == "active" and data["subscription"]["name"] == \
        "Paolo Rossi"
    assert [(h["from_state"], h["to_state"]) for h in data["history"]] == [
        (None, "pending"), ("pending", "active")]
    [consent] = data["consents"]
    assert consent["text"] == "Servizio Info ON Paolo Rossi"
    assert consent["notice_version"] == "2024-01-15"
    assert consent["notice_in_force_from"].startswith("2024-01-15T00:00:00+01:00")
    assert [m["kind"] for m in data["messages"]] == ["subscribe", "near_miss"]
    assert data["messages"][1]["text"] == "Buongiorno, vorrei iscrivermi, sono Paolo, via Roma 3"
    # the acknowledgement of the request, then the welcome after the approval
    assert [d["kind"] for d in data["deliveries"]] == ["ack_subscribe", "welcome"]
    welcome = data["deliveries"][1]
    assert (welcome["kind"], welcome["state"], welcome["error_code"]) == (
        "welcome", "failed", 131026)
    assert welcome["error_meaning"]
    assert [d["action"] for d in data["decisions"]] == ["approve"]
    text = export(load_settings(), PAOLO, "text")
    assert "393330000001" in text and "Buongiorno, vorrei iscrivermi, sono Paolo" in text


def test_show_masks_the_number_and_free_text(town):
    text = show(load_settings(), PAOLO)
    assert "+39 333 *****01" in text and "393330000001" not in text
    assert "Paolo, via Roma" not in text and "buongiorno vorrei iscrivermi sono … ‹#›" in text
    assert "131026" in text and "2024-01-15" in text


def test_cli_show_and_export(town, capsys):
    assert main(["subscribers", "show", "333 0000001"]) == 0
    assert PAOLO in capsys.readouterr().out
    assert main(["subscribers", "export", "paolo rossi", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["citizen_id"] == PAOLO
    assert main(["subscribers", "show", "rossi"]) == 1
    assert "id" in capsys.readouterr().err
    assert main(["subscribers", "approve", "Anna Rossi"]) == 0  # names work for decisions too
    assert citizen_id("393330000002") in capsys.readouterr().out


def test_a_number_without_prefix_and_a_pre_emptive_block(tmp_path, monkeypatch):
    make_town(tmp_path, monkeypatch)  # a town that moderates nothing
    write(tmp_path / "logs" / "a.jsonl", [message("393330000001", "wamid.1", T0, "MI ISCRIVO")])
    sync(load_settings())
    assert decide(load_settings(), "block", "333 000 0001").citizen_id == PAOLO
    # Someone who never wrote can be blocked in advance by number, not found by name.
    assert decide(load_settings(), "block", "+44 7700 900123").citizen_id == \
        citizen_id("447700900123")


def test_export_and_show_name_the_topics_chosen(tmp_path, monkeypatch):
    make_town(tmp_path, monkeypatch)  # a town that moderates nothing
    write(tmp_path / "logs" / "a.jsonl", [
        message("393330000001", "wamid.1", T0, "MI ISCRIVO EVENTI"),
        message("393330000002", "wamid.2", T0, "MI ISCRIVO")])
    sync(load_settings())
    data = json.loads(export(load_settings(), "393330000001"))
    assert data["subscription"]["topics"] == ["eventi"]
    assert data["consents"][0]["topics"] == ["eventi"]
    assert "Argomenti scelti: eventi" in show(load_settings(), "393330000001")
    assert "Argomenti scelti: tutti" in show(load_settings(), "393330000002")
