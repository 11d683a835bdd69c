"""One truth for templates: a status Meta announced by webhook decides the run that
finds it in the logs. From the CLI, against the loopback Cloud API: a PAUSED line
already logged when `run` starts stops that run from using the template (the
announcement waits, the reason printed); the re-approval line lets the next `run`
send; and `sync` then `validate` say the same thing."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from runner.announcements.reading import load_all
from runner.cli import main
from runner.db import connect
from runner.send import report, send
from runner.subscribers.sync import sync
from tests.support.announcement_repo import Repo
from tests.support.clock import NOW
from tests.support.cloud_api_server import CloudApiServer
from tests.support.webhooks import message, template_change, write

SUBSCRIBED = int((NOW - timedelta(hours=2)).timestamp())
NUMBERS = [f"39333000{i:04d}" for i in range(3)]
ANN = "2024-04-03-chiusura-scuole"


def template_status(name: str, event: str, at: datetime) -> str:
    """A message_template_status_update webhook, as Meta posts it."""
    return template_change("message_template_status_update", name, int(at.timestamp()),
                           event=event,
                           reason="NONE" if event != "PAUSED" else "Quality rating dropped")


pytestmark = pytest.mark.town(now=NOW.isoformat(), whatsapp_token="test-token",
                              whatsapp_phone_number_id="1234", rate_per_second=200)


@pytest.fixture
def town(town, api, monkeypatch):
    """Three citizens who subscribed two hours ago; an announcement due now, as the
    template ``avviso``, which Meta paused an hour ago: all of it already logged."""
    repo = Repo(town)
    repo.add(ANN, title="Scuole chiuse domani", publish_at=NOW.isoformat())
    write(town / "logs" / "a.jsonl", [
        *(message(n, f"wamid.s{i}", SUBSCRIBED, "MI ISCRIVO") for i, n in enumerate(NUMBERS)),
        template_status("avviso", "PAUSED", NOW - timedelta(hours=1))])
    monkeypatch.setenv("BANDITORE_WHATSAPP_API_BASE", api.base)
    return repo, api


def templated(api) -> list[str]:
    """The numbers that received the announcement's template."""
    return sorted(a.to for a in api.accepted if a.body.get("type") == "template"
                  and a.body["template"]["name"] == "avviso")


def test_a_pause_in_the_logs_stops_the_run_and_the_reapproval_lets_the_next_one_send(
        town, monkeypatch, capsys):
    repo, api = town
    assert main(["run"]) == 1
    out = capsys.readouterr().out
    assert templated(api) == []  # nothing went out with the paused template
    assert "«avviso» è PAUSED presso Meta dal 03/04/2024 09:00" in out
    assert "L'avviso attende e parte alla prima esecuzione dopo che Meta lo riapprova" in out
    assert "0 problemi" not in out
    # The welcomes are not templates of the announcement: they went (the window is open).
    assert len(api.accepted) == len(NUMBERS)

    # validate right after says the same as the run did.
    assert main(["validate"]) == 1
    assert "«avviso» è PAUSED presso Meta" in capsys.readouterr().out

    # Meta re-approves it; the next run (its sync) reads that and sends.
    later = NOW + timedelta(hours=1)
    write(repo.root / "logs" / "a.jsonl",
          [template_status("avviso", "REINSTATED", later - timedelta(minutes=30))], mode="a")
    monkeypatch.setenv("BANDITORE_NOW", later.isoformat())
    assert main(["run"]) == 0
    out = capsys.readouterr().out
    assert templated(api) == sorted("+" + n for n in NUMBERS)
    assert "PAUSED" not in out
    assert main(["validate"]) == 0


def test_sync_then_validate_warn_alike(town, capsys):
    assert main(["sync"]) == 0
    synced = capsys.readouterr().out
    assert "modelli annunciati da Meta: 1" in synced and "validate avvisa" in synced
    assert main(["validate"]) == 1
    assert "«avviso» è PAUSED presso Meta" in capsys.readouterr().out


def test_send_itself_holds_an_announcement_whose_template_is_paused(town, monkeypatch):
    """The send stage does not trust its caller: given the announcement unvalidated, it
    plans it and holds it, queued, with the reason; it goes once Meta re-approves it."""
    repo, api = town
    settings = repo.settings()
    sync(settings)
    summary = send(settings, load_all(settings))
    assert templated(api) == []
    [plan] = [p for p in summary.announcements if p.id == ANN]
    assert plan.held and "«avviso» è PAUSED presso Meta" in plan.note
    assert plan.note in report(summary)
    con = connect(settings.database)
    assert con.execute("SELECT state, count(*) FROM deliveries WHERE kind = 'announcement' "
                       "GROUP BY ALL").fetchall() == [("queued", len(NUMBERS))]
    con.close()

    write(repo.root / "logs" / "a.jsonl",
          [template_status("avviso", "APPROVED", NOW + timedelta(minutes=30))], mode="a")
    later = settings.model_copy(update={"now": NOW + timedelta(hours=1)})
    sync(later)
    assert send(later, load_all(later)).sent == len(NUMBERS)
    assert templated(api) == sorted("+" + n for n in NUMBERS)


def test_a_welcome_whose_template_is_paused_waits_for_the_reapproval(tmp_path, monkeypatch,
                                                                      capsys):
    """A reply template is a template too: Jesi welcomes outside the 24-hour window with
    `benvenuto`; paused, no welcome uses it (Meta's 132015 would stop the whole run)."""
    monkeypatch.chdir(tmp_path)
    assert main(["init", "--town", "jesi"]) == 0
    (tmp_path / "logs").mkdir()
    write(tmp_path / "logs" / "a.jsonl", [
        message(NUMBERS[0], "wamid.s0", int((NOW - timedelta(days=3)).timestamp()), "JESI ON"),
        template_status("benvenuto", "PAUSED", NOW - timedelta(hours=1))])
    with CloudApiServer() as api:
        for name, value in {"WEBHOOK_LOGS": str(tmp_path / "logs"), "NOW": NOW.isoformat(),
                            "WHATSAPP_TOKEN": "test-token", "WHATSAPP_PHONE_NUMBER_ID": "1234",
                            "WHATSAPP_API_BASE": api.base}.items():
            monkeypatch.setenv(f"BANDITORE_{name}", value)
        capsys.readouterr()
        assert main(["run"]) == 1
        out = capsys.readouterr().out
        assert api.accepted == [] and api.state.attempts == []  # not even tried
        assert "«benvenuto» è PAUSED presso Meta" in out and "welcome_template" in out

        write(tmp_path / "logs" / "a.jsonl",
              [template_status("benvenuto", "REINSTATED", NOW + timedelta(minutes=30))],
              mode="a")
        monkeypatch.setenv("BANDITORE_NOW", (NOW + timedelta(hours=1)).isoformat())
        assert main(["run"]) == 0
        [welcome] = api.accepted
        assert welcome.body["template"]["name"] == "benvenuto"
