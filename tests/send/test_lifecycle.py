"""Topics and the alert lifecycle, end to end: webhook logs -> sync -> send to the loopback
Cloud API (tests/support/cloud_api_server.py), for the five reference towns as configured."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import timedelta

import pytest

from runner.announcements.reading import load_all
from runner.db import connect
from runner.send.counts import write_counts
from runner.send.plan import plan
from runner.subscribers.lifecycle.topics import EVERY_TOPIC, PICK_PREFIX, Topics
from runner.subscribers.privacy import citizen_id
from runner.subscribers.sync import sync
from tests.support.announcement_repo import write_announcement as announce
from tests.support.clock import NOW, FakeClock
from tests.support.cloud_api_server import CloudApiServer
from tests.support.sending import TOWNS, add_citizens, number, run, states, town_settings
from tests.support.webhooks import message, write

T = int((NOW - timedelta(hours=2)).timestamp())  # inside the 24-hour window at NOW


def pick(topic: str) -> dict:
    """A tap on a row of our topic menu, as Meta posts it."""
    return {"interactive": {"type": "list_reply", "list_reply": {
        "id": PICK_PREFIX + topic, "title": topic}}}


def received(api: CloudApiServer) -> dict[str, set[str]]:
    """Announcement id -> the numbers it was accepted for."""
    out: dict[str, set[str]] = defaultdict(set)
    for a in api.accepted:
        _, kind, *rest = a.callback.split(":")
        if kind == "a":
            out[rest[0]].add(a.to.lstrip("+"))
    return out


# --- topics, for each reference town ---------------------------------------------------


@pytest.mark.parametrize("town", sorted(p.stem for p in TOWNS.glob("*.toml")))
def test_each_town_sends_by_topic_and_mandatory_categories_reach_everyone(
        town, tmp_path, monkeypatch, api):
    monkeypatch.chdir(tmp_path)
    settings = town_settings(tmp_path, api, town, catalogue=False, templates={},
                             default_template=None)
    topics = Topics(settings)
    a, b = topics.topics[0], topics.topics[1]
    join, leave = settings.subscribe_keywords[0], settings.unsubscribe_keywords[0]
    n = [number(i) for i in range(1, 5)]
    if settings.capture_name:  # Cerveno: a name after the keyword, staff approve, then the menu
        lines = [message(x, f"wamid.s{i}", T, f"{join} Maria Rossi") for i, x in enumerate(n)]
        (tmp_path / "decisions.txt").write_text("".join(
            f"{(NOW - timedelta(minutes=100)).isoformat()} approve {citizen_id(x)}\n" for x in n))
        lines += [message(n[1], "wamid.p1", T + 1800, kind="interactive", extra=pick(a.id)),
                  message(n[3], "wamid.p3", T + 1800, kind="interactive", extra=pick(a.id)),
                  message(n[3], "wamid.p4", T + 1900, kind="interactive", extra=pick(a.id))]
    else:  # the keyword and a topic, as people type them: case, accents, emoji
        lines = [message(n[0], "wamid.s0", T, f"“{join.lower()}” 🙂"),
                 message(n[1], "wamid.s1", T, f"{join.upper()} {a.label.upper()} 🎉"),
                 message(n[2], "wamid.s2", T, join),
                 message(n[3], "wamid.s3", T, f"{join}: {a.label}!"),
                 message(n[3], "wamid.p4", T + 1900, f"{leave.lower()} {a.label} 👋")]
    lines += [message(n[2], "wamid.p2", T + 1800, kind="interactive", extra=pick(b.id)),
              message(n[0], "wamid.p0", T + 1800, kind="interactive", extra=pick(EVERY_TOPIC))]
    write(tmp_path / "logs" / "a.jsonl", lines)
    assert sync(settings).states == {"active": 4}
    ann = settings.announcements_dir
    announce(ann, "2024-04-03-topic-a", category=a.categories[0])
    announce(ann, "2024-04-03-topic-b", category=b.categories[0])
    announce(ann, "2024-04-03-for-all", category=settings.emergency_categories[0])

    first = run(settings)  # the welcomes first: announcements wait for them
    summary = run(settings)
    assert first.failed == summary.failed == 0
    assert received(api) == {"2024-04-03-topic-a": {n[0], n[1]},
                             "2024-04-03-topic-b": {n[0], n[2]},
                             "2024-04-03-for-all": set(n)}
    # The welcome carries the menu; each pick is answered with the menu, headed by the change.
    bodies = {a.callback.removeprefix("banditore:"): a.body for a in api.accepted}
    assert bodies["w:wamid.s2"]["interactive"]["type"] == "list"
    answer = bodies["t:wamid.p2"]["interactive"]
    assert answer["body"]["text"].startswith(f"Ora ricevi solo: {b.label}")
    rows = answer["action"]["sections"][0]["rows"]
    assert [r["id"] for r in rows] == [PICK_PREFIX + t.id for t in topics.topics] + [
        PICK_PREFIX + EVERY_TOPIC]
    assert bodies["t:wamid.p0"]["interactive"]["body"]["text"].startswith(
        "Ora ricevi tutti gli argomenti")
    assert bodies["t:wamid.p4"]["interactive"]["body"]["text"].startswith(
        f"Non ricevi più: {a.label}")


def test_rebuild_equals_incremental_with_topics_and_nothing_is_sent_twice(
        tmp_path, monkeypatch, api):
    monkeypatch.chdir(tmp_path)
    settings = town_settings(tmp_path, api, "jesi", catalogue=False, templates={},
                             default_template=None)
    write(tmp_path / "logs" / "a.jsonl", [
        message(number(1), "wamid.1", T, "JESI ON EVENTI"),
        message(number(2), "wamid.2", T, "JESI ON"),
        message(number(2), "wamid.3", T + 60, kind="interactive", extra=pick("scadenze"))])
    sync(settings)
    announce(settings.announcements_dir, "2024-04-03-sagra", category="eventi")
    run(settings)  # the welcomes and the menu's answer
    run(settings)  # the announcement, once the welcomes have gone
    query = "SELECT citizen_id, state, topics FROM subscribers ORDER BY ALL"
    con = connect(settings.database)
    before = con.execute(query).fetchall()
    con.close()
    assert sync(settings, rebuild=True).rebuilt
    con = connect(settings.database)
    assert con.execute(query).fetchall() == before
    con.close()
    assert run(settings).sent == 0  # welcome, menu answer and the announcement went once
    assert received(api) == {"2024-04-03-sagra": {number(1)}}


# --- corrections, withdrawals, drills ---------------------------------------------------


@pytest.fixture
def town(town, api):
    """Five subscribers (every topic) and the original announcement, sent."""
    settings = town_settings(town, api)
    add_citizens(settings.database, 5)
    announce(settings.announcements_dir, "2024-04-03-allerta", category="allerta-meteo",
             title="Allerta gialla per temporali", urgency="emergency",
             extra="expires_at: 2024-04-03T12:00:00+02:00\n")
    assert run(settings).sent == 5
    return settings


def wamids(api: CloudApiServer, announcement_id: str) -> dict[str, str]:
    return {a.to.lstrip("+"): a.wamid for a in api.accepted
            if a.callback.startswith(f"banditore:a:{announcement_id}:")}


def later(settings, **more):
    return settings.model_copy(update={"now": NOW + timedelta(hours=3), **more})


def test_an_update_reaches_exactly_the_original_recipients_quoting_it(town, api):
    original = wamids(api, "2024-04-03-allerta")
    add_citizens(town.database, 2, start=10)  # subscribed after: they never got it
    con = connect(town.database)
    con.execute("UPDATE subscribers SET state = 'unsubscribed' WHERE citizen_id = 'c_00004'")
    con.close()
    announce(town.announcements_dir, "2024-04-03-allerta-rettifica", category="allerta-meteo",
             title="Allerta arancione, non gialla", publish_at="2024-04-03T12:30:00+02:00",
             extra="updates: 2024-04-03-allerta\n")
    summary = run(later(town))
    assert summary.sent == 4
    sent = [a for a in api.accepted if "rettifica" in a.callback]
    assert {a.to.lstrip("+") for a in sent} == {number(i) for i in range(4)}
    for a in sent:
        assert a.body["context"] == {"message_id": original[a.to.lstrip("+")]}
        assert a.body["text"]["body"].startswith("*RETTIFICA: Allerta arancione")


def test_a_withdrawal_stops_the_remaining_sends_and_tells_those_who_got_it(town, api):
    original = wamids(api, "2024-04-03-allerta")
    add_citizens(town.database, 3, start=10)
    con = connect(town.database)  # the broadcast is still going: three still queued
    assert plan(con, town, load_all(town), NOW).planned == {"2024-04-03-allerta": 3}
    con.close()
    announce(town.announcements_dir, "2024-04-03-allerta-revoca", category="allerta-meteo",
             title="Allerta revocata", publish_at="2024-04-03T10:30:00+02:00",
             extra="cancels: 2024-04-03-allerta\n")
    summary = run(town.model_copy(update={"now": NOW + timedelta(minutes=40)}))
    assert summary.plan.cancelled == 3 and summary.sent == 5
    withdrawal = [a for a in api.accepted if "revoca" in a.callback]
    assert {a.to.lstrip("+"): a.body["context"]["message_id"] for a in withdrawal} == original
    assert all(a.body["text"]["body"].startswith("*REVOCATO: Allerta revocata*")
               for a in withdrawal)
    assert states(town) == {"sent": 10, "cancelled": 3}
    assert run(town.model_copy(update={"now": NOW + timedelta(minutes=50)})).sent == 0


def test_a_correction_meta_refuses_to_quote_goes_without_the_quote(town, api):
    announce(town.announcements_dir, "2024-04-03-allerta-rettifica", category="allerta-meteo",
             title="Allerta arancione", publish_at="2024-04-03T12:30:00+02:00",
             extra="updates: 2024-04-03-allerta\n")
    api.state.refuse_quotes = True
    first = run(later(town))
    assert first.sent == 0 and first.halted  # halted after three: the rest stay queued
    api.state.refuse_quotes = False  # (so a quote sent again would show)
    second = run(later(town, now=NOW + timedelta(hours=4)))
    assert second.plan.unquoted == 5 and second.sent == 5
    sent = [a for a in api.accepted if "rettifica" in a.callback]
    assert len(sent) == 5 and all("context" not in a.body for a in sent)


def test_a_drill_reaches_only_the_test_recipients_and_says_so(town, api):
    staff = ["39 347 000 0001", number(2)]  # someone from the office, and a subscriber
    settings = later(town, test_recipients=["393470000001", number(2)])
    announce(town.announcements_dir, "2024-04-03-esercitazione", category="allerta-meteo",
             title="Evacuazione della scuola", publish_at="2024-04-03T12:30:00+02:00",
             extra="status: exercise\n")
    summary = run(settings)
    assert summary.sent == 2
    drill = [a for a in api.accepted if "esercitazione" in a.callback]
    assert sorted(a.to for a in drill) == sorted("+" + "".join(filter(str.isdigit, s))
                                                 for s in staff)
    assert all(a.body["text"]["body"].startswith("*ESERCITAZIONE: Evacuazione")
               for a in drill)
    assert run(later(settings, now=NOW + timedelta(hours=4)), fake=FakeClock()).sent == 0


def test_a_correction_of_an_emergency_goes_out_in_quiet_hours_and_one_of_news_waits(town, api):
    announce(town.announcements_dir, "2024-04-03-sagra", category="eventi")
    assert run(later(town)).sent == 5
    for slug, original, category in (
            ("2024-04-03-allerta-rettifica", "2024-04-03-allerta", "allerta-meteo"),
            ("2024-04-03-sagra-rettifica", "2024-04-03-sagra", "eventi")):
        announce(town.announcements_dir, slug, category=category,
                 publish_at="2024-04-03T22:00:00+02:00", extra=f"updates: {original}\n")
    night = later(town, now=NOW + timedelta(hours=13))  # 23:00, quiet hours
    summary = run(night)
    held = {a.id: a.held for a in summary.announcements}
    assert held == {"2024-04-03-allerta-rettifica": False, "2024-04-03-sagra-rettifica": True}
    assert summary.sent == 5


def test_the_reviewers_audience_is_the_topics_subscribers(tmp_path, monkeypatch, api):
    monkeypatch.chdir(tmp_path)
    settings = town_settings(tmp_path, api)
    add_citizens(settings.database, 6)
    con = connect(settings.database)
    con.execute("UPDATE subscribers SET topics = ['eventi'] WHERE citizen_id < 'c_00002'")
    con.execute("UPDATE subscribers SET topics = ['viabilita'] WHERE citizen_id >= 'c_00004'")
    con.close()
    announce(settings.announcements_dir, "2024-04-03-sagra", category="eventi")
    summary = run(settings, dry_run=True)
    assert [(a.id, a.audience) for a in summary.announcements] == [("2024-04-03-sagra", 4)]
    # what the pull request's reviewer reads, from the counts the send job publishes
    counts = json.loads(write_counts(settings).read_text())
    assert counts["active"] == 6
    assert [counts["audiences"][c]["members"] for c in (
        "eventi", "viabilita", "scadenze", "allerta-meteo")] == [4, 4, 2, 6]
