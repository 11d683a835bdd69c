"""Pause and resume (PAUSA / RIPRENDI, as Aymavilles offers) and the returner's short
reply: the state machine, the keywords, and sync of real logs into a real DuckDB file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from runner.config import Settings, load_settings
from runner.subscribers.lifecycle.decisions import Decision
from runner.subscribers.lifecycle.keywords import Classifier, KeywordError, classifier
from runner.subscribers.lifecycle.machine import Event, replay
from runner.subscribers.lifecycle.topics import Topics
from runner.subscribers.privacy import citizen_id
from runner.subscribers.staff.listing import listing
from runner.subscribers.sync import sync
from tests.support.database import query, state
from tests.support.webhooks import T0, message, status, write

FREE = {"moderate_subscribe": False, "moderate_unsubscribe": False}
MODERATED = {"moderate_subscribe": True, "moderate_unsubscribe": True}
TOPICS = Topics(Settings())
OLD, NEW = "2024-01-01", "2024-03-01"  # two privacy notices


def at(minute: int) -> datetime:
    return datetime(2024, 3, 21, 9, 0, tzinfo=UTC) + timedelta(minutes=minute)


def ev(minute: int, kind: str, notice: str | None = OLD, topic: str | None = None) -> Event:
    return Event(at(minute), f"wamid.{minute:03d}", kind, None, None, topic, notice)


def dec(minute: int, action: str, line: int = 1) -> Decision:
    return Decision(at(minute), action, "c_0000000000000001", line)


def kinds(o) -> list[tuple[str, str]]:
    return [r[:2] for r in o.replies]


# --- the state machine: pause and resume ---------------------------------------------------


def test_pause_and_resume_keep_consent_and_topics():
    o = replay([ev(0, "subscribe", topic="eventi"), ev(1, "pause")], [], **FREE, topics=TOPICS)
    assert (o.state, o.topics, o.consents) == ("paused", ["eventi"], ["wamid.000"])
    assert kinds(o)[-1] == ("p:wamid.001", "pause")
    o = replay([ev(0, "subscribe", topic="eventi"), ev(1, "pause"), ev(2, "resume")], [],
               **FREE, topics=TOPICS)
    assert (o.state, o.topics, o.consents) == ("active", ["eventi"], ["wamid.000"])
    assert kinds(o)[-1] == ("u:wamid.002", "resume")
    assert [t[1:3] for t in o.transitions] == [
        (None, "active"), ("active", "paused"), ("paused", "active")]
    assert o.subscribed_at == at(0) and o.since == at(2)


@pytest.mark.parametrize("history", [
    [ev(0, "pause")],  # never subscribed
    [ev(0, "resume")],
    [ev(0, "subscribe"), ev(1, "resume")],  # active: nothing to resume
    [ev(0, "subscribe"), ev(1, "unsubscribe"), ev(2, "pause")],  # left
    [ev(0, "subscribe"), ev(1, "unsubscribe"), ev(2, "resume")],  # leaving is not pausing
])
def test_pause_and_resume_from_elsewhere_change_nothing_and_are_not_answered(history):
    before = replay([e for e in history if e.kind not in ("pause", "resume")], [], **FREE)
    assert replay(history, [], **FREE) == before


def test_a_second_pause_or_a_second_resume_changes_nothing():
    o = replay([ev(0, "subscribe"), ev(1, "pause"), ev(2, "pause"), ev(3, "resume"),
                ev(4, "resume")], [], **FREE)
    assert o.state == "active"
    assert kinds(o) == [("w:wamid.000", "welcome"), ("p:wamid.001", "pause"),
                        ("u:wamid.003", "resume")]


def test_the_subscribe_keyword_while_paused_resumes_without_a_new_consent():
    o = replay([ev(0, "subscribe"), ev(1, "pause"), ev(2, "subscribe")], [], **FREE)
    assert (o.state, o.consents) == ("active", ["wamid.000"])
    assert kinds(o)[-1] == ("u:wamid.002", "resume")


def test_a_paused_citizen_may_leave_and_topic_keywords_wait_for_the_resume():
    o = replay([ev(0, "subscribe"), ev(1, "pause"), ev(2, "unsubscribe")], [], **FREE)
    assert (o.state, kinds(o)[-1]) == ("unsubscribed", ("g:wamid.002", "goodbye"))
    o = replay([ev(0, "subscribe"), ev(1, "pause"), ev(2, "subscribe", topic="eventi"),
                ev(3, "topics")], [], **FREE, topics=TOPICS)
    assert o.state == "active" and o.topics is None  # resumed; the topic was not applied
    assert kinds(o)[1:] == [("p:wamid.001", "pause"), ("u:wamid.002", "resume"),
                            ("m:wamid.003", "topics")]


def test_moderated_leaving_from_pause_goes_back_to_pause_if_rejected():
    history = [ev(0, "subscribe"), ev(2, "pause"), ev(3, "unsubscribe")]
    o = replay(history, [dec(1, "approve")], **MODERATED)
    assert (o.state, o.pending_action, kinds(o)[-1]) == (
        "pending", "unsubscribe", ("l:wamid.003", "ack_unsubscribe"))
    o = replay(history, [dec(1, "approve"), dec(4, "reject", 2)], **MODERATED)
    assert o.state == "paused"
    o = replay(history, [dec(1, "approve"), dec(4, "approve", 2)], **MODERATED)
    assert (o.state, kinds(o)[-1]) == ("unsubscribed", ("g:wamid.003", "goodbye"))
    # pausing needs no approval: the consent stands
    assert replay(history[:2], [dec(1, "approve")], **MODERATED).state == "paused"


def test_block_and_unblock_keep_the_pause():
    o = replay([ev(0, "subscribe"), ev(1, "pause")], [dec(2, "block"), dec(3, "unblock", 2)],
               **FREE)
    assert o.state == "paused"
    o = replay([ev(0, "subscribe"), ev(1, "pause"), ev(3, "resume")], [dec(2, "block")], **FREE)
    assert o.state == "blocked"  # a blocked citizen's keywords change nothing


@hsettings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 8), st.sampled_from(
    ["subscribe", "unsubscribe", "pause", "resume"])), max_size=12), st.randoms())
def test_any_order_of_events_gives_the_same_outcome(history, rnd):
    """Equal times included: the wamid decides. (Duplicates never reach the replay:
    inbound keeps one row per wamid; tests/subscribers/test_sync.py sends them.)"""
    events = [Event(at(minute), f"wamid.{n:03d}", kind, notice=OLD)
              for n, (minute, kind) in enumerate(history)]
    shuffled = rnd.sample(events, k=len(events))
    assert replay(shuffled, [], **FREE) == replay(events, [], **FREE)


# --- the state machine: the returner ------------------------------------------------------


def test_back_under_the_notice_of_the_welcome_gets_the_short_reply():
    o = replay([ev(0, "subscribe"), ev(1, "unsubscribe"), ev(2, "subscribe")], [], **FREE)
    assert kinds(o) == [("w:wamid.000", "welcome"), ("g:wamid.001", "goodbye"),
                        ("d:wamid.002", "rejoined")]
    assert o.consents == ["wamid.000", "wamid.002"]  # a new consent all the same


def test_back_under_a_changed_notice_gets_the_welcome_again():
    o = replay([ev(0, "subscribe", OLD), ev(1, "unsubscribe", OLD), ev(2, "subscribe", NEW),
                ev(3, "unsubscribe", NEW), ev(4, "subscribe", NEW)], [], **FREE)
    assert [k for _, k in kinds(o)] == ["welcome", "goodbye", "welcome", "goodbye", "rejoined"]


def test_forgotten_history_was_never_welcomed():
    o = replay([ev(0, "subscribe"), ev(1, "unsubscribe"), ev(3, "subscribe")],
               [dec(2, "forget")], **FREE)
    assert kinds(o) == [("w:wamid.003", "welcome")]


def test_moderated_returner_is_approved_with_the_short_reply():
    history = [ev(0, "subscribe"), ev(2, "unsubscribe"), ev(4, "subscribe")]
    decisions = [dec(1, "approve"), dec(3, "approve", 2), dec(5, "approve", 3)]
    o = replay(history, decisions, **MODERATED)
    assert o.state == "active"
    assert [k for _, k in kinds(o)] == ["ack_subscribe", "welcome", "ack_unsubscribe",
                                        "goodbye", "ack_subscribe", "rejoined"]


def test_a_rejected_request_was_never_welcomed():
    history = [ev(0, "subscribe"), ev(2, "subscribe")]
    o = replay(history, [dec(1, "reject"), dec(3, "approve", 2)], **MODERATED)
    assert (o.state, kinds(o)[-1]) == ("active", ("w:wamid.002", "welcome"))


# --- keywords ---------------------------------------------------------------------------


def test_pause_keywords_in_every_spelling_and_never_a_near_miss():
    c = classifier(Settings())
    assert {c.classify(text).kind for text in ["PAUSA", "pausa", "“Pausa!” ⏸️", "P A U S A"]} \
        == {"pause"}
    assert {c.classify(text).kind for text in ["RIPRENDI", "riprendi 🙏", "Riprendi."]} \
        == {"resume"}
    for text in ["PAUS", "pausa pranzo", "Vorrei una pausa", "riprendere"]:
        assert c.classify(text).kind == "ignored", text
    assert c.known_word("pausa") and c.known_word("riprendi")


def test_a_town_may_name_its_own_pause_keywords_or_none():
    c = classifier(Settings(pause_keywords=["JESI PAUSA"], resume_keywords=[]))
    assert c.classify("jesi pausa").kind == "pause"
    assert c.classify("PAUSA").kind == c.classify("RIPRENDI").kind == "ignored"


def test_a_pause_keyword_that_also_subscribes_is_refused():
    with pytest.raises(KeywordError):
        Classifier(["PAUSA"], ["MI CANCELLO"], pause=["Pausa"])


# --- sync -------------------------------------------------------------------------------


PAOLA, LUCA = "393330000001", "393330000002"


def test_sync_pauses_and_resumes_and_lists_the_state(town):
    log = town / "logs" / "a.jsonl"
    write(log, [message(PAOLA, "wamid.1", T0, "MI ISCRIVO"),
                message(PAOLA, "wamid.2", T0 + 60, "Pausa"),
                message(LUCA, "wamid.3", T0, "MI ISCRIVO")])
    s = sync(load_settings())
    db = town / "subscribers.duckdb"
    assert s.states == {"active": 1, "paused": 1}
    assert s.kinds == {"subscribe": 2, "pause": 1}
    assert query(db, "SELECT delivery_id, kind FROM deliveries ORDER BY 1") == [
        ("p:wamid.2", "pause"), ("w:wamid.1", "welcome"), ("w:wamid.3", "welcome")]
    assert query(db, "SELECT count(*) FROM consents") == [(2,)]
    paused = listing(load_settings(), state="paused")
    assert citizen_id(PAOLA) in paused and citizen_id(LUCA) not in paused
    write(log, [message(PAOLA, "wamid.4", T0 + 120, "RIPRENDI")], mode="a")
    assert sync(load_settings()).states == {"active": 2}
    assert query(db, "SELECT to_state FROM subscriber_events WHERE citizen_id = "
                     f"'{citizen_id(PAOLA)}' ORDER BY ts") == [("active",), ("paused",),
                                                               ("active",)]


def test_sync_returner_under_the_same_and_a_changed_notice(town, monkeypatch):
    log = town / "logs" / "a.jsonl"
    day = 86400
    monkeypatch.setenv("BANDITORE_PRIVACY_NOTICE_DATE", "2024-03-01")
    write(log, [message(PAOLA, "wamid.1", T0, "MI ISCRIVO"),
                message(PAOLA, "wamid.2", T0 + 60, "MI CANCELLO"),
                message(PAOLA, "wamid.3", T0 + 120, "MI ISCRIVO"),
                message(LUCA, "wamid.4", T0, "MI ISCRIVO"),
                message(LUCA, "wamid.5", T0 + 60, "MI CANCELLO")])
    s = sync(load_settings())
    assert (s.welcome, s.rejoined, s.goodbye) == (2, 1, 2)
    assert any("di nuovo iscritto" in line for line in s.lines_text())
    # A new notice comes into force; Luca comes back under it: the welcome again.
    monkeypatch.setenv("BANDITORE_PRIVACY_NOTICE_DATE", "2024-03-23")  # T0 + 2 days
    write(log, [message(LUCA, "wamid.6", T0 + 3 * day, "MI ISCRIVO")], mode="a")
    s = sync(load_settings())
    assert (s.welcome, s.rejoined) == (1, 0)
    db = town / "subscribers.duckdb"
    assert query(db, "SELECT delivery_id, kind FROM deliveries WHERE kind IN "
                     "('welcome', 'rejoined') ORDER BY 1") == [
        ("d:wamid.3", "rejoined"), ("w:wamid.1", "welcome"), ("w:wamid.4", "welcome"),
        ("w:wamid.6", "welcome")]
    before = state(db)
    assert sync(load_settings(), rebuild=True).rebuilt and state(db) == before


def test_a_database_from_before_the_short_reply_never_answers_twice(town, monkeypatch):
    """A town upgrading: its database (or the status webhooks in its logs, once the
    database is lost) holds the welcome a returner got; the short reply must not follow."""
    log = town / "logs" / "a.jsonl"
    write(log, [message(PAOLA, "wamid.1", T0, "MI ISCRIVO"),
                message(PAOLA, "wamid.2", T0 + 60, "MI CANCELLO"),
                message(PAOLA, "wamid.3", T0 + 120, "MI ISCRIVO")])
    # What the version before this one derived and sent: a second welcome, echoed back.
    write(log, [status("wamid.out3", "delivered", T0 + 130, number=PAOLA,
                       callback="banditore:w:wamid.3")], mode="a")
    s = sync(load_settings())
    assert (s.welcome, s.rejoined) == (1, 0)
    db = town / "subscribers.duckdb"
    assert query(db, "SELECT delivery_id FROM deliveries WHERE kind IN ('welcome', 'rejoined') "
                     "ORDER BY 1") == [("w:wamid.1",)]


def test_subscribers_list_and_show_name_the_pause(town, capsys):
    from runner.cli import main

    write(town / "logs" / "a.jsonl", [message(PAOLA, "wamid.1", T0, "MI ISCRIVO"),
                                      message(PAOLA, "wamid.2", T0 + 60, "PAUSA"),
                                      message(LUCA, "wamid.3", T0, "MI ISCRIVO")])
    assert main(["sync"]) == 0
    assert "paused 1" in capsys.readouterr().out
    assert main(["subscribers", "list", "--state", "paused", "--format", "json"]) == 0
    assert '"state": "paused"' in capsys.readouterr().out
    assert main(["subscribers", "show", "+" + PAOLA]) == 0
    out = capsys.readouterr().out
    assert "paused" in out.splitlines()[1] and "active -> paused" in out
    assert "pause        «PAUSA»" in out  # the keyword as written, like a subscription
    assert PAOLA not in out
