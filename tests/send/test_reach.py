"""Who receives what, through the path a town's data takes: webhook log lines, then
``python -m runner run`` (validate, sync, plan, send) with the shipped settings and
the town's environment, against the outbox or the loopback Cloud API.

Every active subscriber in an announcement's audience receives it (DESIGN.md, "Who
receives what"): a first run over months-old logs, citizens who subscribed during an
outage or came back, corrections in outbox mode, citizens known only by a
business-scoped id. And the reviewer's figure, the dry run and the sent count agree.
"""

from __future__ import annotations

import json
import re
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from runner.cli import main
from runner.reports import data
from runner.reports.reasons import skip_reasons
from tests.support.announcement_repo import write_announcement
from tests.support.clock import NOW
from tests.support.cloud_api_server import CloudApiServer
from tests.support.webhooks import message, write

REPO = Path(__file__).resolve().parents[2]
DAY = 86400


def ts(moment: datetime) -> int:
    return int(moment.timestamp())


def number(i: int) -> str:
    return f"39347000{i:04d}"  # invented


# The town's environment as CI sets it.
pytestmark = pytest.mark.town(now=NOW.isoformat(), pseudonym_key="test-only-key")


@pytest.fixture
def town(town, monkeypatch):
    """The shipped settings (pyproject.toml, templates.toml) in the town's folder; no
    announcements, an empty logs folder."""
    for name in ("pyproject.toml", "templates.toml"):
        shutil.copy(REPO / name, town / name)
    (town / "announcements" / "2024").mkdir(parents=True)
    monkeypatch.setenv("BANDITORE_WEBHOOK_LOGS", "logs")  # relative, as the workflow's
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(town / "step-summary.md"))
    return town


def cli(capsys, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out + out.err


def emergency(root: Path, slug: str = "2024-04-03-allerta", **more) -> str:
    write_announcement(root / "announcements", slug, title="Allerta meteo rossa",
                       category="allerta-meteo", urgency="emergency",
                       publish_at=(NOW - timedelta(minutes=30)).isoformat(),
                       body="Restate in casa fino a nuovo avviso.", **more)
    return slug


def outbox(root: Path, announcement: str) -> list[dict]:
    path = root / "outbox" / "outbox.jsonl"
    bodies = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    return [b for b in bodies
            if b["biz_opaque_callback_data"].startswith(f"banditore:a:{announcement}:")]


def cloud(monkeypatch, api: CloudApiServer) -> None:
    for key, value in {"WHATSAPP_TOKEN": "test-token", "WHATSAPP_PHONE_NUMBER_ID": "1234",
                       "WHATSAPP_API_BASE": api.base, "RATE_PER_SECOND": "1000"}.items():
        monkeypatch.setenv(f"BANDITORE_{key}", value)


def accepted_for(api: CloudApiServer, announcement: str) -> list[str]:
    return [a.to for a in api.accepted
            if a.callback.startswith(f"banditore:a:{announcement}:")]


# --- (a) a town's first run over months-old logs -----------------------------------------

def test_a_first_run_over_months_old_logs_reaches_every_subscriber_with_the_emergency(
        town, capsys, monkeypatch, api):
    """Hundreds subscribed months ago; no welcome template: each welcome is skipped (the
    24-hour window closed) with its reason, and the emergency reaches all of them."""
    months_ago = NOW - timedelta(days=120)
    citizens = [number(i) for i in range(300)]
    write(town / "logs" / "2023-12-05.jsonl", [
        message(n, f"wamid.s{i}", ts(months_ago) + i, "MI ISCRIVO")
        for i, n in enumerate(citizens)])
    slug = emergency(town)
    cloud(monkeypatch, api)

    code, out = cli(capsys, "run")
    assert code == 0, out
    assert sorted(accepted_for(api, slug)) == sorted(f"+{n}" for n in citizens)
    assert not [a for a in api.accepted if ":w:" in a.callback]  # no welcome could go
    reason = "fuori dalla finestra di 24 ore di WhatsApp e nessun modello approvato"
    assert f"saltati (welcome): 300, {reason}" in out
    assert f"saltati (welcome): 300, {reason}" in (town / "step-summary.md").read_text()
    code, shown = cli(capsys, "subscribers", "show", "+" + citizens[7])
    assert code == 0
    assert re.search(rf"welcome\s+skipped \({reason}", shown)
    assert re.search(r"announcement\s+Allerta meteo rossa\s+sent", shown)
    # and the deliveries report lists them, with the reason
    con = data.open_db("subscribers.duckdb")
    try:
        rows = skip_reasons(con, data.resolve_period(con, now=NOW.isoformat()))
    finally:
        con.close()
    assert rows[["message", "reason", "skipped"]].values.tolist() == [
        ["benvenuto", "outside_24h_window", 300]]


# --- (b) an outage, a returner, a newcomer ----------------------------------------------

def test_after_a_three_day_outage_the_returner_and_the_newcomer_all_get_the_next_emergency(
        town, capsys, monkeypatch):
    outage, returner, newcomer = number(1), number(2), number(3)
    write(town / "logs" / "a.jsonl", [
        message(returner, "wamid.r1", ts(NOW) - 60 * DAY, "MI ISCRIVO"),
        message(returner, "wamid.r2", ts(NOW) - 30 * DAY, "MI CANCELLO")])
    monkeypatch.setenv("BANDITORE_NOW", (NOW - timedelta(days=4)).isoformat())
    assert cli(capsys, "run")[0] == 0  # the last run before the runner stopped
    # More than three days without a run; meanwhile three citizens write to the town.
    write(town / "logs" / "b.jsonl", [
        message(outage, "wamid.o1", ts(NOW) - 3 * DAY, "MI ISCRIVO"),
        message(returner, "wamid.r3", ts(NOW) - 2 * 3600, "MI ISCRIVO"),
        message(newcomer, "wamid.n1", ts(NOW) - 3600, "MI ISCRIVO")])
    slug = emergency(town)
    monkeypatch.setenv("BANDITORE_NOW", NOW.isoformat())
    code, out = cli(capsys, "run")
    assert code == 0, out
    assert sorted(b["to"] for b in outbox(town, slug)) == [f"+{outage}", f"+{returner}",
                                                            f"+{newcomer}"]


# --- (c) the sample: what the reviewer reads is what happens ----------------------------

def test_on_the_sample_the_reviewers_figure_the_dry_run_and_the_sent_count_agree(
        town, capsys, monkeypatch):
    shutil.rmtree(town / "announcements")
    shutil.copytree(REPO / "announcements", town / "announcements")
    monkeypatch.setenv("BANDITORE_WEBHOOK_LOGS", str(REPO / "samples" / "logs"))
    monkeypatch.setenv("BANDITORE_PSEUDONYM_KEY", "banditore-sample-data-only")
    # A pull request adds the water cut, after a run sent the rest.
    slug = "2024-04-03-interruzione-acqua"
    path = Path("announcements/2024") / f"{slug}.md"
    text = path.read_text()
    path.unlink()
    assert cli(capsys, "run")[0] == 0
    path.write_text(text)

    code, _ = cli(capsys, "validate", str(path), "--review-dir", "review")
    assert code == 0
    comment = Path("review/review.md").read_text()
    reviewer = int(re.search(r"\| Destinatari \| (\d+) iscritti attivi ricevono «disservizi»",
                             comment)[1])
    code, dry = cli(capsys, "send", "--dry-run")
    block = dry[dry.index(f"== {slug}"):]
    to_send = int(re.search(r"da inviare: (\d+)", block)[1])
    members, reachable = map(int, re.search(r"pubblico: (\d+) iscritti, (\d+) raggiungibili",
                                            block).groups())
    assert cli(capsys, "run")[0] == 0
    counts = json.loads(Path("banditore-counts.json").read_text())
    sent = counts["sent"][slug]
    assert reviewer == to_send == members == reachable == sent == counts["active"] == 38


# --- (d) a correction in outbox mode ------------------------------------------------------

def test_a_correction_in_outbox_mode_reaches_the_originals_recipients_plainly(town, capsys):
    first = [number(i) for i in range(4)]
    write(town / "logs" / "a.jsonl", [message(n, f"wamid.a{i}", ts(NOW) - 7200 + i, "MI ISCRIVO")
                                      for i, n in enumerate(first)])
    original = emergency(town)
    assert cli(capsys, "run")[0] == 0
    assert len(outbox(town, original)) == 4
    # One leaves, one more subscribes: the correction goes to the three who had it.
    write(town / "logs" / "b.jsonl", [
        message(first[0], "wamid.b0", ts(NOW) - 600, "MI CANCELLO"),
        message(number(9), "wamid.b9", ts(NOW) - 600, "MI ISCRIVO")])
    write_announcement(town / "announcements", "2024-04-03-rettifica",
                       title="Rettifica della allerta meteo", category="allerta-meteo",
                       urgency="emergency", publish_at=(NOW - timedelta(minutes=5)).isoformat(),
                       extra=f"updates: {original}\n", body="L'allerta vale fino alle 18.")
    code, out = cli(capsys, "run")
    assert code == 0, out
    bodies = outbox(town, "2024-04-03-rettifica")
    assert sorted(b["to"] for b in bodies) == [f"+{n}" for n in first[1:]]
    assert not any("context" in b for b in bodies)  # no wamid to quote: plainly


# --- (e) a citizen known only by a business-scoped id -------------------------------------

def test_a_citizen_known_only_by_a_business_scoped_id_receives_with_recipient(
        town, capsys, monkeypatch, api):
    write(town / "logs" / "a.jsonl", [
        message(None, "wamid.u1", ts(NOW) - 7200, "MI ISCRIVO", user_id="IT.1349875623984561"),
        message(number(1), "wamid.p1", ts(NOW) - 7200, "MI ISCRIVO")])
    slug = emergency(town)
    cloud(monkeypatch, api)
    code, out = cli(capsys, "run")
    assert code == 0, out
    bodies = {a.to: a.body for a in api.accepted if a.callback.startswith(f"banditore:a:{slug}")}
    assert set(bodies) == {"IT.1349875623984561", f"+{number(1)}"}
    assert bodies["IT.1349875623984561"]["recipient"] == "IT.1349875623984561"
    assert "to" not in bodies["IT.1349875623984561"]
    assert bodies[f"+{number(1)}"]["to"] == f"+{number(1)}" and "recipient" not in bodies[
        f"+{number(1)}"]


# --- an emergency that misses someone makes the run exit 1 --------------------------------

def test_an_emergency_that_misses_an_active_subscriber_fails_the_run_once_with_the_reason(
        town, capsys, monkeypatch, api):
    write(town / "logs" / "a.jsonl", [message(number(i), f"wamid.s{i}", ts(NOW) - 7200 + i,
                                              "MI ISCRIVO") for i in range(3)])
    slug = emergency(town)
    cloud(monkeypatch, api)
    api.fail(f"+{number(2)}", 131026)  # not on WhatsApp
    code, out = cli(capsys, "run")
    assert code == 1
    assert (f"EMERGENZA {slug}: 1 iscritti attivi sono rimasti senza l'avviso in questo "
            "invio: 1 falliti (errore 131026: Non consegnabile") in out
    assert f"EMERGENZA {slug}" in (town / "step-summary.md").read_text()
    code, out = cli(capsys, "run")  # nothing new left anyone out: the next run is clean
    assert code == 0 and "EMERGENZA" not in out
