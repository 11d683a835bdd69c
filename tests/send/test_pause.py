"""Pause, resume and the returner end to end, as a town's data arrives: webhook log lines
-> sync -> send to the loopback Cloud API (tests/support/cloud_api_server.py)."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from runner.config import TemplateConfig
from runner.db import connect
from runner.subscribers.privacy import citizen_id
from runner.subscribers.staff.decide import decide
from runner.subscribers.sync import sync
from tests.support.announcement_repo import write_announcement as announce
from tests.support.clock import NOW
from tests.support.cloud_api_server import CloudApiServer
from tests.support.sending import TOWNS, run, town_settings
from tests.support.webhooks import message, write

ANNA, BRUNO = "393330000001", "393330000002"
HOUR = 3600


def at(when) -> int:
    """A webhook timestamp: seconds since the epoch."""
    return int(when.timestamp())


def later(settings, **delta):
    return settings.model_copy(update={"now": settings.now + timedelta(**delta)})


def log(settings, *lines: str) -> None:
    write(Path(settings.webhook_logs) / "a.jsonl", list(lines), mode="a")


def sent(api: CloudApiServer, number: str, since: int = 0) -> list[str]:
    """What reached one number (from the ``since``-th message the API accepted), as
    sorted delivery ids: kind prefix and what it answers. Sorted: the engine sends one
    citizen's messages of one run 6 s apart, in no promised order."""
    return sorted(a.callback.removeprefix("banditore:") for a in api.accepted[since:]
                  if a.to.lstrip("+") == number)


def body(api: CloudApiServer, delivery_id: str) -> dict:
    return next(a.body for a in api.accepted if a.callback == f"banditore:{delivery_id}")


def delivery_states(settings, kind: str = "announcement") -> dict:
    con = connect(settings.database)
    try:
        return {(cid, ann): (state, why) for cid, ann, state, why in con.execute(
            "SELECT citizen_id, announcement_id, state, error_title FROM deliveries "
            "WHERE kind = ?", [kind]).fetchall()}
    finally:
        con.close()


# --- pause and resume ----------------------------------------------------------------


def test_a_paused_citizen_receives_no_emergency_until_they_resume(tmp_path, monkeypatch, api):
    monkeypatch.chdir(tmp_path)
    settings = town_settings(tmp_path, api, "aymavilles")
    log(settings, message(ANNA, "wamid.a1", at(NOW) - 3 * HOUR, "MI ISCRIVO"),
        message(BRUNO, "wamid.b1", at(NOW) - 3 * HOUR, "MI ISCRIVO"),
        message(ANNA, "wamid.a2", at(NOW) - 2 * HOUR, "Pausa"))
    assert sync(settings).states == {"active": 1, "paused": 1}
    announce(settings.announcements_dir, "2024-04-03-allerta", category="emergenze",
             urgency="emergency")
    run(settings)
    run(settings)  # whatever waited for a welcome goes now
    assert sent(api, ANNA) == ["p:wamid.a2", "w:wamid.a1"]
    assert sent(api, BRUNO) == ["a:2024-04-03-allerta:" + citizen_id(BRUNO), "w:wamid.b1"]
    pause = body(api, "p:wamid.a2")["text"]["body"]
    assert pause.startswith("Ricezione sospesa") and "RIPRENDI" in pause

    # Anna resumes; the next announcement reaches her, and so does the emergency while it
    # is still in force, as it reaches anyone who subscribes while it is.
    resumed = later(settings, hours=1)
    log(resumed, message(ANNA, "wamid.a3", at(resumed.now) - 60, "RIPRENDI"))
    assert sync(resumed).states == {"active": 2}
    announce(resumed.announcements_dir, "2024-04-03-sagra", category="eventi",
             publish_at=(resumed.now - timedelta(minutes=5)).isoformat())
    mark = len(api.accepted)
    run(resumed)
    anna = citizen_id(ANNA)
    assert sent(api, ANNA, mark) == [f"a:2024-04-03-allerta:{anna}",
                                     f"a:2024-04-03-sagra:{anna}", "u:wamid.a3"]
    assert "riattivata" in body(api, "u:wamid.a3")["text"]["body"]
    con = connect(settings.database)
    assert con.execute("SELECT count(*) FROM consents").fetchone()[0] == 2  # no new consent
    con.close()


def test_queued_announcements_stop_when_the_citizen_pauses(tmp_path, monkeypatch, api):
    monkeypatch.chdir(tmp_path)
    night = NOW.replace(hour=23)  # quiet hours: the normal announcement waits, queued
    settings = town_settings(tmp_path, api, now=night)
    log(settings, message(ANNA, "wamid.a1", at(night) - HOUR, "MI ISCRIVO"),
        message(BRUNO, "wamid.b1", at(night) - HOUR, "MI ISCRIVO"))
    sync(settings)
    announce(settings.announcements_dir, "2024-04-03-via-roma",
             publish_at=(night - timedelta(minutes=30)).isoformat())
    run(settings)
    anna, bruno = citizen_id(ANNA), citizen_id(BRUNO)
    assert delivery_states(settings) == {(anna, "2024-04-03-via-roma"): ("queued", None),
                                         (bruno, "2024-04-03-via-roma"): ("queued", None)}
    morning = later(settings, hours=9, minutes=30)
    log(morning, message(ANNA, "wamid.a2", at(morning.now) - 60, "PAUSA"))
    sync(morning)
    run(morning)
    assert delivery_states(settings) == {(anna, "2024-04-03-via-roma"): ("skipped", "paused"),
                                         (bruno, "2024-04-03-via-roma"): ("sent", None)}
    assert sent(api, ANNA) == ["p:wamid.a2", "w:wamid.a1"]


PAUSES = [  # (wamid, minutes before NOW, text): paused, then paused again and resumed twice
    ("wamid.a1", 100, "MI ISCRIVO"), ("wamid.a2", 90, "PAUSA"), ("wamid.a3", 80, "pausa"),
    ("wamid.a4", 70, "RIPRENDI"), ("wamid.a5", 60, "Riprendi!"), ("wamid.a6", 50, "PAUSA"),
    ("wamid.a7", 40, "pausa 🙏"), ("wamid.a0", 120, "RIPRENDI")]  # before subscribing


@pytest.mark.parametrize("order", ["as written", "reversed and repeated", "one per sync"])
def test_pauses_and_resumes_in_any_order_and_repeated_reach_the_same_end(
        order, tmp_path, monkeypatch, api):
    monkeypatch.chdir(tmp_path)
    settings = town_settings(tmp_path, api)
    lines = [message(ANNA, wamid, at(NOW) - 60 * minutes, text)
             for wamid, minutes, text in PAUSES]
    if order == "one per sync":
        for line in lines:
            log(settings, line)
            sync(settings)
    else:
        log(settings, *(lines if order == "as written" else lines[::-1] + lines[2:5]))
        sync(settings)
    announce(settings.announcements_dir, "2024-04-03-allerta", category="allerta-meteo",
             urgency="emergency")
    run(settings)
    run(settings)
    # Paused at the end: the emergency does not reach her; every change was answered once.
    assert sorted(sent(api, ANNA)) == ["p:wamid.a2", "p:wamid.a6", "u:wamid.a4", "w:wamid.a1"]
    con = connect(settings.database)
    assert con.execute("SELECT state FROM subscribers").fetchall() == [("paused",)]
    con.close()


# --- the returner -------------------------------------------------------------------------


def test_back_under_the_same_notice_a_short_reply_under_a_new_one_the_welcome(
        tmp_path, monkeypatch, api):
    monkeypatch.chdir(tmp_path)
    first = town_settings(tmp_path, api, privacy_notice_date="2024-03-01",
                 now=NOW - timedelta(days=1))
    log(first, message(ANNA, "wamid.a1", at(first.now) - 3 * HOUR, "MI ISCRIVO"),
        message(ANNA, "wamid.a2", at(first.now) - 2 * HOUR, "MI CANCELLO"),
        message(ANNA, "wamid.a3", at(first.now) - HOUR, "MI ISCRIVO"),
        message(BRUNO, "wamid.b1", at(first.now) - 3 * HOUR, "MI ISCRIVO"),
        message(BRUNO, "wamid.b2", at(first.now) - 2 * HOUR, "MI CANCELLO"))
    sync(first)
    run(first)
    assert sent(api, ANNA) == ["d:wamid.a3", "g:wamid.a2", "w:wamid.a1"]
    short = body(api, "d:wamid.a3")["text"]["body"]
    assert short.startswith("Sei di nuovo iscritto") and "MI CANCELLO" in short
    assert "informativa" not in short.lower()

    # The town publishes a new privacy notice today; Bruno comes back under it.
    settings = town_settings(tmp_path, api, privacy_notice_date=NOW.date().isoformat())
    log(settings, message(BRUNO, "wamid.b3", at(NOW) - HOUR, "MI ISCRIVO"))
    announce(settings.announcements_dir, "2024-04-03-allerta", category="allerta-meteo",
             urgency="emergency")
    sync(settings)
    mark = len(api.accepted)
    run(settings)
    run(settings)
    assert sent(api, BRUNO, mark) == ["a:2024-04-03-allerta:" + citizen_id(BRUNO),
                                      "w:wamid.b3"]
    assert "Informativa privacy" in body(api, "w:wamid.b3")["text"]["body"]
    assert sent(api, ANNA, mark) == ["a:2024-04-03-allerta:" + citizen_id(ANNA)]


def test_a_returner_outside_the_window_is_skipped_with_its_reason_and_holds_nothing(
        tmp_path, monkeypatch, api):
    monkeypatch.chdir(tmp_path)
    back = NOW - timedelta(hours=30)  # came back; the runner was down for more than a day
    early = town_settings(tmp_path, api, now=back - timedelta(hours=2))
    log(early, message(ANNA, "wamid.a1", at(back) - 3 * HOUR, "MI ISCRIVO"),
        message(ANNA, "wamid.a2", at(back) - 2 * HOUR - 600, "MI CANCELLO"))
    sync(early)
    run(early)
    assert sent(api, ANNA) == ["g:wamid.a2", "w:wamid.a1"]
    settings = town_settings(tmp_path, api)
    log(settings, message(ANNA, "wamid.a3", at(back), "MI ISCRIVO"))
    announce(settings.announcements_dir, "2024-04-03-allerta", category="allerta-meteo",
             urgency="emergency")
    sync(settings)
    mark = len(api.accepted)
    summary = run(settings)
    assert sent(api, ANNA, mark) == ["a:2024-04-03-allerta:" + citizen_id(ANNA)]
    assert delivery_states(settings, "rejoined") == {
        (citizen_id(ANNA), None): ("skipped", "outside_24h_window")}
    assert summary.failed == 0


@pytest.mark.parametrize(("own", "goes_as"), [(None, "benvenuto"), ("di_nuovo", "di_nuovo")])
def test_outside_the_window_the_short_reply_goes_as_its_template_or_the_welcomes(
        own, goes_as, tmp_path, monkeypatch, api):
    """A town with a welcome template: a returner outside the window gets the short
    reply's own template where the town has one, else the welcome's, as before."""
    monkeypatch.chdir(tmp_path)
    back = NOW - timedelta(hours=30)
    templates = {"templates": {"benvenuto": TemplateConfig(body=["town"]),
                               "di_nuovo": TemplateConfig(body=["town"])},
                 "welcome_template": "benvenuto", "rejoined_template": own}
    early = town_settings(tmp_path, api, now=back - timedelta(hours=2), **templates)
    log(early, message(ANNA, "wamid.a1", at(back) - 3 * HOUR, "MI ISCRIVO"),
        message(ANNA, "wamid.a2", at(back) - 2 * HOUR - 600, "MI CANCELLO"))
    sync(early)
    run(early)
    settings = town_settings(tmp_path, api, **templates)
    log(settings, message(ANNA, "wamid.a3", at(back), "MI ISCRIVO"))
    sync(settings)
    run(settings)
    assert sent(api, ANNA) == ["d:wamid.a3", "g:wamid.a2", "w:wamid.a1"]
    assert body(api, "d:wamid.a3")["template"]["name"] == goes_as


# --- a moderated town ------------------------------------------------------------------


def test_cerveno_approves_a_returner_with_the_short_template_and_pauses_without_staff(
        tmp_path, monkeypatch, api):
    monkeypatch.chdir(tmp_path)
    start = NOW - timedelta(days=3)
    cerveno = town_settings(tmp_path, api, "cerveno", now=start)
    shutil.copy(TOWNS / "templates" / "cerveno.toml", tmp_path / "templates.toml")
    join, leave = "Servizio Info ON Anna Verdi", "Servizio Info OFF"
    log(cerveno, message(ANNA, "wamid.a1", at(start) - 600, join))
    sync(cerveno)
    run(cerveno)  # "richiesta ricevuta"
    decide(cerveno, "approve", "+" + ANNA)  # minutes later: the window is open
    run(cerveno)
    log(cerveno, message(ANNA, "wamid.a2", at(start) + 600, leave))
    left = later(cerveno, minutes=20)
    sync(left)
    run(left)
    decide(left, "approve", "+" + ANNA)
    run(left)
    assert sent(api, ANNA) == ["g:wamid.a2", "l:wamid.a2", "r:wamid.a1", "w:wamid.a1"]

    mark = len(api.accepted)
    log(cerveno, message(ANNA, "wamid.a3", at(start) + 3600, join))
    asked = later(cerveno, hours=1, minutes=5)
    sync(asked)
    run(asked)
    approved = later(cerveno, days=2)  # staff approve two days later: only a template
    decide(approved, "approve", "+" + ANNA)
    sync(approved)
    run(approved)
    assert sent(api, ANNA, mark) == ["d:wamid.a3", "r:wamid.a3"]
    assert body(api, "d:wamid.a3")["template"]["name"] == "di_nuovo_iscritto"

    # PAUSA takes effect at once, without staff: no emergency reaches her.
    mark = len(api.accepted)
    log(cerveno, message(ANNA, "wamid.a4", at(NOW) - 600, "PAUSA"))
    sync(town_settings(tmp_path, api, "cerveno"))
    announce(cerveno.announcements_dir, "2024-04-03-allerta", category="protezione-civile",
             urgency="emergency")
    run(town_settings(tmp_path, api, "cerveno"))
    assert sent(api, ANNA, mark) == ["p:wamid.a4"]
    con = connect(cerveno.database)
    assert con.execute("SELECT state, name FROM subscribers").fetchall() == [
        ("paused", "Anna Verdi")]
    con.close()
