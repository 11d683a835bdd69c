"""No silent success: in CI a sync that finds no webhook log fails, naming the step
that should have fetched them; elsewhere it warns and goes on. Through the CLI,
as the workflow calls it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner.cli import main

FETCH_STEP = "Fetch the webhook logs"
KEYWORD = json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [
    {"field": "messages", "value": {"messaging_product": "whatsapp", "messages": [
        {"from": "393330000001", "id": "wamid.ci1", "timestamp": "1711000000",
         "type": "text", "text": {"body": "MI ISCRIVO"}}]}}]}]})


pytestmark = pytest.mark.town(pseudonym_key="a-key-for-tests")


@pytest.fixture
def town(town, monkeypatch):
    """No logs fetched: the folder the workflow's fetch step fills is not there."""
    monkeypatch.setenv("BANDITORE_WEBHOOK_LOGS", str(town / "webhook-logs"))
    return town


@pytest.mark.parametrize("folder", ["missing", "empty"])
@pytest.mark.parametrize("command", [["sync"], ["run"]])
def test_in_ci_no_logs_fails_and_names_the_fetch_step(town, monkeypatch, capsys, folder,
                                                      command):
    if folder == "empty":
        (town / "webhook-logs").mkdir()
    monkeypatch.setenv("CI", "true")
    assert main(command) == 2
    err = capsys.readouterr().err
    assert FETCH_STEP in err and str(town / "webhook-logs") in err
    assert not (town / "outbox").exists()  # `run` stopped before sending


def test_outside_ci_no_logs_is_a_warning(town, capsys):
    assert main(["sync"]) == 0
    assert "Nessun log dei webhook" in capsys.readouterr().out


def test_in_ci_with_logs_sync_runs(town, monkeypatch, capsys):
    (town / "webhook-logs").mkdir()
    (town / "webhook-logs" / "2024-03-21.jsonl").write_text(KEYWORD + "\n")
    monkeypatch.setenv("CI", "true")
    assert main(["sync"]) == 0
    assert "active 1" in capsys.readouterr().out  # the state's word, in any language


def test_the_message_names_the_step_the_workflows_have():
    root = Path(__file__).resolve().parents[2]
    for workflow in ("send.yml", "reports.yml"):
        text = (root / ".github" / "workflows" / workflow).read_text(encoding="utf-8")
        assert f"name: {FETCH_STEP}" in text, workflow
