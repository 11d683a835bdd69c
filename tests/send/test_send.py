"""The send engine against a real HTTP server on 127.0.0.1 that answers like the Cloud API,
and against the outbox. Clock and sleep are injected: no test waits for a real backoff."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from runner.config import Settings, TemplateConfig
from runner.db import connect
from runner.send import fold_log, report
from runner.send.journal import log_path
from runner.whatsapp.pacing import workers_for
from tests.support.announcement_repo import write_announcement
from tests.support.clock import NOW, FakeClock
from tests.support.cloud_api_server import DROP, DROP_AFTER, HTTP_503, CloudApiServer
from tests.support.sending import (
    TOKEN,
    add_citizens,
    cloud,
    delivery,
    engine_settings,
    number,
    run,
    send_env,
    states,
    statuses_arrive,
)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def town(town):
    """The town with 5 active subscribers and one announcement due now: the engine's
    settings."""
    settings = engine_settings(town, rate_per_second=200, templates={},
                               default_template=None)
    write_announcement(settings.announcements_dir, "2024-04-03-via-roma")
    add_citizens(settings.database, 5)
    return settings


# --- the outbox ---------------------------------------------------------------------
def test_outbox_gets_one_body_per_subscriber_and_a_second_run_sends_nothing(town):
    summary = run(town)
    assert (summary.sent, summary.failed, summary.exit_code) == (5, 0, 0)
    lines = town.outbox.read_text().splitlines()
    bodies = [json.loads(line) for line in lines]
    assert sorted(b["to"] for b in bodies) == [f"+{number(i)}" for i in range(5)]
    assert {b["biz_opaque_callback_data"] for b in bodies} == {
        f"banditore:a:2024-04-03-via-roma:c_{i:05d}" for i in range(5)}
    assert bodies[0]["type"] == "text" and "*Chiusura di via Roma*" in bodies[0]["text"]["body"]
    assert states(town) == {"sent": 5}

    again = run(town)
    assert again.sent == 0 and len(town.outbox.read_text().splitlines()) == 5


def test_losing_the_database_never_sends_again_through_the_outbox(town):
    run(town)
    town.database.unlink()
    add_citizens(town.database, 6)  # the rebuild finds one more subscriber
    summary = run(town)
    assert summary.settled.from_outbox == 5
    lines = town.outbox.read_text().splitlines()
    assert len(lines) == 6 and f"+{number(5)}" in lines[-1]


def test_only_active_subscribers_are_planned(town):
    add_citizens(town.database, 2, start=10, state="unsubscribed")
    add_citizens(town.database, 1, start=20, state="blocked")
    add_citizens(town.database, 1, start=30, state="pending")
    assert run(town).sent == 5


# --- the Cloud API ------------------------------------------------------------------
def test_cloud_sends_a_template_with_named_parameters_and_bearer_token(town, api):
    settings = cloud(town, api, templates={"avviso": TemplateConfig(
        language="it", body=["title", "body"], parameter_names=["titolo", "testo"])},
        default_template="avviso")
    summary = run(settings)
    assert summary.sent == 5 and summary.transport == "cloud"
    body = api.accepted[0].body
    assert body["to"].startswith("+39333000") and body["recipient_type"] == "individual"
    template = body["template"]
    assert template["name"] == "avviso" and template["language"] == {
        "policy": "deterministic", "code": "it"}
    params = template["components"][0]["parameters"]
    assert params[0] == {"type": "text", "parameter_name": "titolo",
                         "text": "Chiusura di via Roma"}
    assert "\n" not in params[1]["text"]
    assert delivery(settings, 0)[3].startswith("wamid.TEST")


def test_a_text_header_template_sends_the_title_as_its_header(town, api):
    settings = cloud(town, api, templates={"titolo": TemplateConfig(
        body=["body"], header="text")}, default_template="titolo")
    assert run(settings).sent == 5
    header, body = api.accepted[0].body["template"]["components"]
    assert header == {"type": "header",
                      "parameters": [{"type": "text", "text": "Chiusura di via Roma"}]}
    assert body["parameters"][0]["text"].startswith("Via Roma resta chiusa")


def test_media_header_is_uploaded_once_and_its_id_reused(town, api, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "allerta.jpg").write_bytes(b"\xff\xd8\xff\xe0 fake jpeg")
    ann = Path(town.announcements_dir)
    for slug in ("2024-04-03-allerta", "2024-04-03-allerta-bis"):
        write_announcement(ann, slug, category="allerta-meteo", urgency="emergency",
                           extra="media: media/allerta.jpg\n")
    settings = cloud(town, api, templates={"allerta": TemplateConfig(
        body=["title"], header="image")}, default_template="allerta")
    assert run(settings).sent == 15
    assert len(api.state.uploads) == 1
    media_id = api.state.uploads[0]["id"]
    headers = [a.body["template"]["components"][0] for a in api.accepted
               if "allerta" in a.callback]
    assert headers and all(h == {"type": "header", "parameters": [
        {"type": "image", "image": {"id": media_id}}]} for h in headers)
    # Emergencies first.
    assert "allerta" in api.accepted[0].callback


def test_a_failed_upload_holds_that_announcement_and_the_rest_go(town, api, tmp_path,
                                                                 monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "allerta.jpg").write_bytes(b"\xff\xd8\xff\xe0 fake jpeg")
    write_announcement(Path(town.announcements_dir), "2024-04-03-allerta",
                       category="allerta-meteo", urgency="emergency",
                       extra="media: media/allerta.jpg\n")
    settings = cloud(town, api)
    api.fail_all(131000)  # the upload is the first request
    summary = run(settings)
    assert summary.sent == 5  # via-roma went; the alert waits
    held = [a for a in summary.announcements if a.held]
    assert [a.id for a in held] == ["2024-04-03-allerta"] and "131000" in held[0].note
    assert "2024-04-03-allerta" in report(summary)
    assert run(settings).sent == 5  # next run: uploaded, sent


@pytest.mark.parametrize("code", [131000, 131016, 2, 133004, 1, HTTP_503, DROP])
def test_transient_errors_are_retried_with_backoff(town, api, code):
    api.fail(f"+{number(1)}", code, code)
    fake = FakeClock()
    summary = run(cloud(town, api), fake=fake)
    assert summary.sent == 5 and summary.failed == 0 and summary.retries == 2
    assert delivery(town, 1)[0] == "sent" and delivery(town, 1)[4] == 3
    backoffs = summary.backoffs
    # Exponential with jitter: ~1 s then ~2 s (each plus up to 1 s of jitter), slept
    # through the injected sleep.
    assert len(backoffs) == 2 and 1 <= backoffs[0] <= 2 and 2 <= backoffs[1] <= 3
    assert {round(b, 6) for b in backoffs} <= set(fake.sleeps)


def test_retry_after_is_honoured_when_present(town, api):
    api.fail(f"+{number(1)}", (131000, 7))
    summary = run(cloud(town, api))
    assert summary.sent == 5 and summary.backoffs == [7.0]


def test_retries_are_bounded_then_the_delivery_fails_with_code_and_title(town, api):
    api.fail(f"+{number(2)}", *[131000] * 10)
    summary = run(cloud(town, api))
    assert (summary.sent, summary.failed, summary.exit_code) == (4, 1, 1)
    state, code, title, _, attempts = delivery(town, 2)
    assert (state, code, attempts) == ("failed", 131000, 6)
    assert "Something went wrong" in title
    assert "131000" in report(summary)


def test_a_timeout_after_acceptance_is_retried_and_settled_later(town, api):
    # The answer is lost after Meta accepted: the retry is the bounded duplicate the
    # issue allows, and both carry the same callback for the statuses to settle.
    api.fail(f"+{number(3)}", DROP_AFTER)
    summary = run(cloud(town, api))
    assert summary.sent == 5
    assert Counter(a.to for a in api.accepted)[f"+{number(3)}"] == 2


def test_throughput_error_slows_the_global_rate(town, api):
    api.fail(f"+{number(0)}", 130429)
    summary = run(cloud(town, api))
    assert summary.sent == 5 and summary.throttled == 1


def test_pair_rate_limit_waits_4_to_the_x_seconds(town, api):
    api.fail(f"+{number(4)}", 131056, 131056)
    fake = FakeClock()
    summary = run(cloud(town, api), fake=fake)
    assert summary.sent == 5
    assert summary.backoffs == [1.0, 4.0]  # 4^0, 4^1
    assert 1.0 in fake.sleeps and 4.0 in fake.sleeps
    times = [t for t, to in api.state.attempts if to == f"+{number(4)}"]
    assert len(times) == 3


@pytest.mark.parametrize("code", [131026, 131047, 131050, 132000, 100, 999999])
def test_permanent_errors_fail_at_once(town, api, code):
    api.fail(f"+{number(0)}", code)
    summary = run(cloud(town, api))
    assert (summary.sent, summary.failed) == (4, 1)
    assert delivery(town, 0)[:2] == ("failed", code)
    assert len([1 for _, to in api.state.attempts if to == f"+{number(0)}"]) == 1


def test_a_template_meta_rejects_halts_its_announcement_not_the_audience(town, api):
    add_citizens(town.database, 95, start=100)
    api.fail_all(*[132001] * 100)  # "template name does not exist in the translation"
    settings = cloud(town, api, rate_per_second=20)
    summary = run(settings)
    assert list(summary.halted) == ["2024-04-03-via-roma"] and summary.exit_code == 1
    assert "132001" in report(summary)
    # A handful failed before the pattern was clear; the rest wait for the fix.
    assert summary.failed <= 3 + 6 and states(settings)["queued"] >= 100 - 9
    assert len(api.state.attempts) <= 3 + 6
    api.state.script_all.clear()  # the template is fixed in WhatsApp Manager
    again = run(settings, retry_failed=True)
    assert again.sent == 100 and not again.halted and states(settings) == {"sent": 100}


@pytest.mark.parametrize("code", [190, 0, 10, 131031, 368, 130497, 131042, 131048, 132015])
def test_account_errors_stop_the_whole_run(town, api, code):
    add_citizens(town.database, 200, start=100)
    api.fail_all(*[code] * 300)
    settings = cloud(town, api, rate_per_second=20)
    summary = run(settings)
    assert summary.stopped and str(code) in summary.stopped and summary.exit_code == 2
    # Stopped at once: a few requests in flight, not the whole list.
    assert len(api.state.attempts) <= 25
    assert summary.sent == 0 and states(settings)["queued"] == 205
    assert str(code) in report(summary)


def test_expired_token_is_a_stop_with_advice(town, api):
    settings = cloud(town, api).model_copy(update={"whatsapp_token": SecretStr("wrong")})
    summary = run(settings)
    assert summary.stopped and "190" in summary.stopped
    assert "BANDITORE_WHATSAPP_TOKEN" in summary.stopped


def test_retry_failed_resends_131049_only_after_24_hours(town, api):
    api.fail(f"+{number(0)}", 131049)
    api.fail(f"+{number(1)}", 131026)
    settings = cloud(town, api)
    assert run(settings).failed == 2
    assert run(settings, retry_failed=True).requeued_failed == 0  # too early
    later = settings.model_copy(update={"now": NOW + timedelta(hours=25)})
    # Still within the announcement's validity (7 days): 131049 goes again, 131026 never.
    summary = run(later, retry_failed=True)
    assert summary.requeued_failed == 1 and summary.sent == 1
    assert delivery(settings, 0)[0] == "sent" and delivery(settings, 1)[0] == "failed"


def test_retry_failed_never_revives_an_expired_announcement(town, api):
    api.fail(f"+{number(0)}", 131049)
    settings = cloud(town, api)
    run(settings)
    expired = settings.model_copy(update={"now": NOW + timedelta(days=8)})
    summary = run(expired, retry_failed=True)
    assert summary.sent == 0 and summary.plan.expired == 1
    assert delivery(settings, 0)[:3] == ("skipped", 131049, "expired")


def test_quiet_hours_hold_normal_announcements_but_not_emergencies(town, api):
    write_announcement(Path(town.announcements_dir), "2024-04-03-allerta",
                       category="allerta-meteo", urgency="emergency")
    night = NOW.replace(hour=23)
    settings = cloud(town, api, now=night)
    summary = run(settings)
    assert summary.sent == 5
    assert {a.callback.split(":")[2] for a in api.accepted} == {"2024-04-03-allerta"}
    assert [a.id for a in summary.announcements if a.held] == ["2024-04-03-via-roma"]
    morning = run(cloud(town, api, now=night + timedelta(hours=9, minutes=30)))
    assert morning.sent == 5


def test_cancelled_in_a_later_commit_stops_the_rest(town, api):
    add_citizens(town.database, 45, start=100)
    settings = cloud(town, api, rate_per_second=50)
    api.fail_all(*([None] * 10), 131042)  # ten go out, then the account stops the run
    first = run(settings)
    sent_before = first.sent
    assert first.stopped and 0 < sent_before < 50
    path = Path(town.announcements_dir) / "2024" / "2024-04-03-via-roma.md"
    path.write_text(path.read_text().replace("urgency: normal\n",
                                             "urgency: normal\ncancelled: true\n"))
    second = run(settings)
    assert second.sent == 0 and second.plan.cancelled == 50 - sent_before
    assert len(api.accepted) == sent_before
    assert states(settings) == {"sent": sent_before, "cancelled": 50 - sent_before}


def test_welcome_goes_as_text_inside_the_window_and_is_skipped_outside(town, api):
    con = connect(town.database)
    con.execute("UPDATE citizens SET last_inbound_at = ? WHERE citizen_id = 'c_00000'",
                [NOW - timedelta(hours=2)])
    con.execute("UPDATE citizens SET last_inbound_at = ? WHERE citizen_id = 'c_00001'",
                [NOW - timedelta(hours=30)])
    con.execute("INSERT INTO deliveries (delivery_id, kind, citizen_id, state, created_at) "
                "VALUES ('w:wamid.IN0', 'welcome', 'c_00000', 'queued', ?), "
                "('g:wamid.IN1', 'goodbye', 'c_00001', 'queued', ?)", [NOW, NOW])
    con.close()
    summary = run(cloud(town, api))
    summary = run(cloud(town, api))  # the announcement waited for the welcome if it had to
    assert len(api.accepted) == 6 and summary.skipped == 0
    to_first = [a.callback.split(":")[1] for a in api.accepted if a.to == "+" + number(0)]
    assert to_first == ["w", "a"]  # welcome first
    welcome = next(a.body for a in api.accepted if a.callback == "banditore:w:wamid.IN0")
    assert welcome["type"] == "text" and "Benvenuto" in welcome["text"]["body"]
    con = connect(town.database)
    assert con.execute("SELECT state, error_title FROM deliveries WHERE kind = 'goodbye'"
                       ).fetchone() == ("skipped", "outside_24h_window")
    con.close()


def test_outside_the_window_a_configured_reply_template_goes_instead(town, api):
    con = connect(town.database)
    con.execute("UPDATE citizens SET last_inbound_at = ? WHERE citizen_id = 'c_00001'",
                [NOW - timedelta(hours=30)])
    con.execute("INSERT INTO deliveries (delivery_id, kind, citizen_id, state, created_at) "
                "VALUES ('g:wamid.IN1', 'goodbye', 'c_00001', 'queued', ?)", [NOW])
    con.close()
    settings = cloud(town, api, goodbye_template="saluto", templates={
        "saluto": TemplateConfig(body=["town", "body"])})
    summary = run(settings)
    assert summary.sent == 6 and summary.skipped == 0
    body = next(a.body for a in api.accepted if a.callback == "banditore:g:wamid.IN1")
    assert body["type"] == "template" and body["template"]["name"] == "saluto"
    params = [p["text"] for p in body["template"]["components"][0]["parameters"]]
    assert params[0] == "Comune di Esempio" and "cancellato" in params[1]


def test_an_unknown_reply_template_is_a_configuration_error(town):
    from runner.errors import ConfigError

    with pytest.raises(ConfigError, match="welcome_template"):
        run(town.model_copy(update={"welcome_template": "nope"}))


def test_rebuild_from_logs_then_send_sends_nothing_twice(town, api):
    settings = cloud(town, api)
    run(settings)
    accepted = list(api.accepted)
    # The database is lost; sync --rebuild finds the subscribers and, in the logs,
    # the status webhooks that echo each send's biz_opaque_callback_data.
    settings.database.unlink()
    add_citizens(settings.database, 5)
    statuses_arrive(settings, accepted, "delivered")
    summary = run(settings)
    assert summary.sent == 0 and summary.settled.from_statuses == 5
    assert len(api.accepted) == 5
    assert states(settings) == {"delivered": 5}


def test_dry_run_prints_audience_duration_and_content_and_changes_nothing(town):
    summary = run(town.model_copy(update={"rate_per_second": 1}), dry_run=True)
    text = report(summary)
    assert "2024-04-03-via-roma" in text and "5.0 s" in text
    assert "Via Roma resta chiusa" in text
    assert not town.outbox.exists() or town.outbox.read_text() == ""
    assert states(town) == {}


def test_output_and_step_summary_never_show_a_number(town, api, tmp_path, monkeypatch):
    step = tmp_path / "summary.md"
    api.fail(f"+{number(0)}", 131026)
    summary = run(cloud(town, api), environ={"GITHUB_STEP_SUMMARY": str(step)})
    text = report(summary) + step.read_text()
    assert "| 2024-04-03-via-roma | 5 | 4 | 0 | 1 | 0 | 0 |" in text
    assert "33300" not in text


# --- kill -9 in the middle of a send, then resume ------------------------------------
def _kill_9_mid_send(settings: Settings, api: CloudApiServer, n: int) -> tuple[dict, int]:
    """Start `send`, kill -9 it after 150 of ``n`` were accepted, fold its journal as the
    next start does: (its environment, deliveries left ambiguous)."""
    env = send_env(settings, api)
    proc = subprocess.Popen([sys.executable, "-m", "runner", "send"], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while api.state.count < 150 and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    time.sleep(0.1)  # let the server finish the requests that were in flight
    assert 150 <= len(api.accepted) < n
    con = connect(settings.database)
    fold_log(con, log_path(settings.database))  # what the next start does first
    in_flight = con.execute(
        "SELECT count(*) FROM deliveries WHERE state = 'sending'").fetchone()[0]
    con.close()
    return env, in_flight


def test_kill_9_then_resume_settles_the_ambiguous_from_statuses_never_blindly(town):
    n = 400
    add_citizens(town.database, n - 5, start=5)
    with CloudApiServer(latency=0.05) as api:
        env, in_flight = _kill_9_mid_send(town, api, n)
        # Only requests in flight are ambiguous (each answer was journaled as it came):
        # at most the workers at 100 msg/s.
        assert 0 < in_flight <= workers_for(100)
        before = list(api.accepted)
        # The webhook logs bring back the statuses of what Meta accepted, except the
        # last few whose webhooks have not arrived yet.
        late = before[-3:]
        statuses_arrive(town, before[:-3], "sent")
        cmd = [sys.executable, "-m", "runner", "send"]
        done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0, done.stderr
        assert f"{in_flight} " in done.stdout  # the ambiguous count is reported
        assert "33300" not in done.stdout + done.stderr
        per_citizen = Counter(a.to for a in api.accepted)
        assert max(per_citizen.values()) == 1  # nothing sent blindly a second time
        waiting = states(town)["sending"]
        assert waiting <= 3 and states(town)["sent"] == n - waiting
        if waiting:
            assert "webhook" in done.stdout
        # Their statuses arrive: the next run settles them, and nobody got it twice.
        statuses_arrive(town, late, "sent")
        again = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True,
                               timeout=60)
        assert again.returncode == 0, again.stderr
        assert len(api.accepted) == n and states(town) == {"sent": n}


def test_kill_9_during_an_emergency_sends_the_ambiguous_again_at_once(town):
    n = 400
    write_announcement(Path(town.announcements_dir), "2024-04-03-via-roma",
                       category="allerta-meteo", urgency="emergency")
    add_citizens(town.database, n - 5, start=5)
    with CloudApiServer(latency=0.05) as api:
        env, in_flight = _kill_9_mid_send(town, api, n)
        assert 0 < in_flight <= workers_for(100)
        done = subprocess.run([sys.executable, "-m", "runner", "send"], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        per_citizen = Counter(a.to for a in api.accepted)
        assert len(per_citizen) == n and states(town) == {"sent": n}
        # A duplicate only where Meta had accepted a request whose answer the kill lost.
        assert sum(c - 1 for c in per_citizen.values()) <= in_flight


# --- the commands -------------------------------------------------------------------
def _cli_env(monkeypatch, settings: Settings) -> None:
    monkeypatch.setenv("BANDITORE_DATABASE", str(settings.database))
    monkeypatch.setenv("BANDITORE_OUTBOX", str(settings.outbox))
    monkeypatch.setenv("BANDITORE_ANNOUNCEMENTS_DIR", str(settings.announcements_dir))
    monkeypatch.setenv("BANDITORE_NOW", NOW.isoformat())


def test_send_command_exits_1_when_deliveries_failed(town, api, monkeypatch, capsys):
    from runner.cli import main

    _cli_env(monkeypatch, town)
    monkeypatch.setenv("BANDITORE_WHATSAPP_TOKEN", TOKEN)
    monkeypatch.setenv("BANDITORE_WHATSAPP_PHONE_NUMBER_ID", "1234")
    monkeypatch.setenv("BANDITORE_WHATSAPP_API_BASE", api.base)
    api.fail(f"+{number(0)}", 131026)
    assert main(["send", "--dry-run"]) == 0
    assert "2024-04-03-via-roma" in capsys.readouterr().out and not api.accepted
    assert main(["send"]) == 1
    out = capsys.readouterr().out
    assert "131026" in out and "--retry-failed" in out
    assert main(["send"]) == 0  # nothing left to send; the old failure is not a new one


def test_run_validates_syncs_and_sends_the_shipped_samples_through_the_outbox(
        tmp_path, monkeypatch, capsys):
    from runner.cli import main

    monkeypatch.chdir(REPO)
    monkeypatch.setenv("BANDITORE_DATABASE", str(tmp_path / "db.duckdb"))
    monkeypatch.setenv("BANDITORE_OUTBOX", str(tmp_path / "outbox.jsonl"))
    monkeypatch.setenv("BANDITORE_WEBHOOK_LOGS", str(REPO / "samples" / "logs"))
    monkeypatch.setenv("BANDITORE_NOW", "2024-04-03T10:00:00+02:00")
    assert main(["run"]) == 0
    out = capsys.readouterr().out
    lines = (tmp_path / "outbox.jsonl").read_text().splitlines()
    assert lines and all(json.loads(line)["biz_opaque_callback_data"].startswith("banditore:")
                         for line in lines)
    assert "33300" not in out  # numbers masked (the samples use 39 333 000 00xx)
    assert main(["run"]) == 0  # again: nothing new
    assert len((tmp_path / "outbox.jsonl").read_text().splitlines()) == len(lines)


def test_kill_9_mid_send_through_the_outbox_then_resume_sends_each_exactly_once(tmp_path):
    n = 60_000
    ann = tmp_path / "announcements"
    write_announcement(ann, "2024-04-03-via-roma")
    settings = Settings(database=tmp_path / "db.duckdb", outbox=tmp_path / "outbox.jsonl",
                        announcements_dir=ann)
    add_citizens(settings.database, n)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BANDITORE_")}
    env.update({"BANDITORE_DATABASE": str(settings.database),
                "BANDITORE_OUTBOX": str(settings.outbox),
                "BANDITORE_ANNOUNCEMENTS_DIR": str(ann), "BANDITORE_NOW": NOW.isoformat(),
                "CI": "true"})
    cmd = [sys.executable, "-m", "runner", "send"]
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (
            not settings.outbox.exists() or settings.outbox.stat().st_size < 2_000_000):
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 0 < len(settings.outbox.read_bytes().splitlines()) < n  # killed mid-send

    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "2024-04-03-via-roma" in done.stdout
    callbacks = Counter()
    for line in settings.outbox.read_text().splitlines():
        try:
            callbacks[json.loads(line)["biz_opaque_callback_data"]] += 1
        except ValueError:
            pass  # the line the kill cut in half: never counted as sent
    assert len(callbacks) == n and set(callbacks.values()) == {1}
    assert states(settings) == {"sent": n}
