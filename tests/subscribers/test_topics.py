"""Topics citizens choose: the town's topics, the choice rules, the replay, and sync of
topic keywords and menu picks on real logs and a real DuckDB file."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from runner.config import Settings, load_settings
from runner.errors import ConfigError
from runner.subscribers.lifecycle.keywords import Classifier, KeywordError
from runner.subscribers.lifecycle.machine import Event, replay
from runner.subscribers.lifecycle.topics import EVERY_TOPIC, Topics
from runner.subscribers.privacy import citizen_id
from runner.subscribers.staff.listing import listing
from runner.subscribers.sync import sync
from tests.support.database import query
from tests.support.webhooks import T0, message, write

FREE = {"moderate_subscribe": False, "moderate_unsubscribe": False}
pytestmark = pytest.mark.town(topics_menu=True)  # the town of the sync tests offers the menu
TOPICS = Topics(Settings(topics_menu=True))  # the default categories: 5 topics, 3 for all


def at(minute: int) -> datetime:
    return datetime(2024, 3, 21, 9, 0, tzinfo=UTC) + timedelta(minutes=minute)


def ev(minute: int, kind: str, topic: str | None = None) -> Event:
    return Event(at(minute), f"wamid.{minute:03d}", kind, None, None, topic)


def pick(list_id: str) -> dict:
    """An interactive.list_reply as Meta posts it when a citizen taps a menu row."""
    return {"interactive": {"type": "list_reply", "list_reply": {
        "id": list_id, "title": "Eventi", "description": ""}},
        "context": {"from": "390000000000", "id": "wamid.menu"}}


# --- the town's topics ------------------------------------------------------------------


def test_topics_are_the_categories_that_do_not_reach_everyone():
    assert TOPICS.ids == ("viabilita", "scadenze", "disservizi", "eventi", "info-comune")
    assert TOPICS.of_category("allerta-meteo") is None  # emergency: everyone
    assert TOPICS.of_category("eventi") == "eventi"
    s = Settings(mandatory_categories=["scadenze"],
                 topic_groups={"Traffico": ["viabilita", "disservizi"]})
    topics = Topics(s)
    assert topics.ids == ("Traffico", "eventi", "info-comune")
    assert topics.of_category("disservizi") == "Traffico" and topics.of_category("scadenze") is None
    assert topics.aliases()["viabilita"] == "Traffico"
    assert topics.label("info-comune") == "Info comune"


@pytest.mark.parametrize(("overrides", "says"), [
    ({"topic_groups": {"X": ["sport"]}}, "sport"),
    ({"topic_groups": {"X": ["eventi"], "Y": ["eventi"]}}, "eventi"),
    ({"topic_groups": {"X": ["emergenze"]}}, "emergenze"),
    ({"mandatory_categories": ["sport"]}, "sport"),
    ({"topics_menu": True, "categories": [f"c{i}" for i in range(10)],
      "emergency_categories": []}, "10"),
    ({"topics_menu": True, "topic_groups": {"Un nome davvero troppo lungo": ["eventi"]}}, "24"),
])
def test_topics_that_do_not_add_up_are_a_configuration_error(overrides, says):
    with pytest.raises(ConfigError, match=says):
        Topics(Settings(**overrides))


@pytest.mark.parametrize(("current", "action", "topic", "after", "ack"), [
    (None, "pick", "eventi", ["eventi"], "topics-only-eventi"),  # from everything: just this
    (["eventi"], "pick", "viabilita", ["eventi", "viabilita"], "topics-added-viabilita"),
    (["eventi", "viabilita"], "pick", "eventi", ["viabilita"], "topics-removed-eventi"),
    (["eventi"], "pick", "eventi", [], "topics-removed-eventi"),  # emergencies only
    (["eventi"], "pick", EVERY_TOPIC, None, "topics-all"),
    (None, "add", "eventi", None, "topics-added-eventi"),  # had it already
    (["eventi"], "add", "scadenze", ["eventi", "scadenze"], "topics-added-scadenze"),
    (None, "remove", "eventi", ["disservizi", "info-comune", "scadenze", "viabilita"],
     "topics-removed-eventi"),
    # choosing every topic one by one is "every topic": later topics reach them too
    (["disservizi", "eventi", "info-comune", "scadenze"], "pick", "viabilita", None,
     "topics-added-viabilita"),
])
def test_choose(current, action, topic, after, ack):
    assert TOPICS.choose(current, action, topic) == (after, ack)


# --- classification ---------------------------------------------------------------------


def test_a_keyword_and_a_topic_in_every_spelling():
    c = Classifier(["MI ISCRIVO"], ["MI CANCELLO"], topics=TOPICS.aliases(), menu=["ARGOMENTI"])
    for text in ["MI ISCRIVO EVENTI", "mi iscrivo eventi 🎉", "“Mi iscrivo: Eventi!”",
                 "MI ISCRIVO\u00a0EVENTI", "Mì iscrivo Eventì", "MIISCRIVOEVENTI"]:
        m = c.classify(text)
        assert (m.kind, m.keyword, m.topic) == ("subscribe", "MI ISCRIVO", "eventi"), text
    assert c.classify("Mi iscrivo info comune").topic == "info-comune"
    assert c.classify("MI ISCRIVO INFO-COMUNE").topic == "info-comune"
    m = c.classify("mi cancello viabilità 🚧")
    assert (m.kind, m.topic) == ("unsubscribe", "viabilita")
    assert c.classify("MI ISCRIVO").topic is None
    assert c.classify("Argomenti!").kind == "topics"


@pytest.mark.parametrize("text", [
    "MI ISCRIVO SPORT",  # no such topic: never everything
    "MI ISCRIVO EMERGENZE",  # not a topic: it reaches everyone anyway
    "MI ISCRIVO EVENTI E VIABILITA",
    "MI ISCRVO EVENTI",  # a typo in the keyword before a topic
    "mi iscrivo eventii",
])
def test_an_unknown_topic_is_a_near_miss(text):
    c = Classifier(["MI ISCRIVO"], ["MI CANCELLO"], topics=TOPICS.aliases())
    m = c.classify(text)
    assert m.kind == "near_miss" and m.keyword == "MI ISCRIVO", text


def test_the_menu_keyword_is_never_a_near_miss():
    c = Classifier(["MI ISCRIVO"], ["MI CANCELLO"], topics=TOPICS.aliases(), menu=["ARGOMENTI"])
    assert c.classify("Quali argomenti trattate?").kind == "ignored"


def test_where_a_name_follows_the_keyword_no_topic_is_read():
    c = Classifier(["Servizio Info ON"], ["Servizio Info OFF"], capture_name=True,
                   topics=TOPICS.aliases(), menu=["ARGOMENTI"])
    m = c.classify("Servizio Info ON Eventi")
    assert (m.kind, m.name, m.topic) == ("subscribe", "Eventi", None)
    assert c.classify("ARGOMENTI").kind == "topics"


def test_a_menu_keyword_that_is_also_a_subscribe_keyword_is_refused():
    with pytest.raises(KeywordError):
        Classifier(["ARGOMENTI"], ["STOP"], menu=["Argomenti"])


# --- the replay -------------------------------------------------------------------------


def test_a_topic_keyword_subscribes_to_that_topic_only():
    o = replay([ev(0, "subscribe", "eventi")], [], **FREE, topics=TOPICS)
    assert (o.state, o.topics, o.consents) == ("active", ["eventi"], ["wamid.000"])
    assert [r[1:] for r in o.replies] == [("welcome", at(0), None)]


def test_menu_picks_and_keywords_change_the_choice_and_are_answered():
    history = [ev(0, "subscribe"), ev(1, "topic", "eventi"), ev(2, "topic", "viabilita"),
               ev(3, "unsubscribe", "eventi"), ev(4, "topics"), ev(5, "subscribe")]
    o = replay(history, [], **FREE, topics=TOPICS)
    assert o.state == "active" and o.topics is None  # the plain keyword: everything again
    assert [(r[0], r[3]) for r in o.replies] == [
        ("w:wamid.000", None), ("t:wamid.001", "topics-only-eventi"),
        ("t:wamid.002", "topics-added-viabilita"), ("t:wamid.003", "topics-removed-eventi"),
        ("m:wamid.004", None), ("t:wamid.005", "topics-all")]
    assert o.consents == ["wamid.000"]  # a topic is a preference, not a new subscription


def test_topic_events_of_anyone_not_subscribed_change_nothing():
    history = [ev(0, "topic", "eventi"), ev(1, "topics"), ev(2, "unsubscribe", "eventi")]
    o = replay(history, [], **FREE, topics=TOPICS)
    assert o.state is None and o.replies == []
    # leaving a topic is not leaving the service
    o = replay([ev(0, "subscribe"), ev(1, "unsubscribe", "eventi")], [], **FREE, topics=TOPICS)
    assert o.state == "active" and "eventi" not in o.topics


# --- sync -------------------------------------------------------------------------------


def test_sync_stores_topics_consents_and_menu_answers(town):
    menu = "banditore:topic:"
    write(town / "logs" / "a.jsonl", [
        message("393330000001", "wamid.a1", T0, "Mi iscrivo eventi 🎉"),
        message("393330000002", "wamid.b1", T0, "MI ISCRIVO"),
        message("393330000002", "wamid.b2", T0 + 60, kind="interactive",
                extra=pick(menu + "viabilita")),
        message("393330000002", "wamid.b3", T0 + 90, kind="interactive",
                extra=pick(menu + "scadenze")),
        message("393330000003", "wamid.c1", T0, "MI ISCRIVO SPORT"),
        message("393330000004", "wamid.d1", T0, "MI ISCRIVO"),
        message("393330000004", "wamid.d2", T0 + 60, "argomenti"),
        message("393330000004", "wamid.d3", T0 + 90, kind="interactive",
                extra=pick("someone-else:row")),  # another business's list: not ours
    ])
    s = sync(load_settings())
    db = town / "subscribers.duckdb"
    assert s.states == {"active": 3}
    assert s.kinds == {"subscribe": 3, "near_miss": 1, "topic": 2, "topics": 1, "ignored": 1}
    topics = dict(query(db, "SELECT citizen_id, topics FROM subscribers"))
    assert topics == {citizen_id("393330000001"): ["eventi"],
                      citizen_id("393330000002"): ["scadenze", "viabilita"],
                      citizen_id("393330000004"): None}
    assert query(db, "SELECT wamid, topics FROM consents ORDER BY wamid") == [
        ("wamid.a1", ["eventi"]), ("wamid.b1", None), ("wamid.d1", None)]
    replies = query(db, "SELECT delivery_id, kind, payload FROM deliveries "
                        "WHERE kind = 'topics' ORDER BY delivery_id")
    assert replies == [("m:wamid.d2", "topics", None),
                       ("t:wamid.b2", "topics", "topics-only-viabilita"),
                       ("t:wamid.b3", "topics", "topics-added-scadenze")]
    text = listing(load_settings())
    assert "Iscritti attivi per argomento (1 ricevono tutti gli argomenti, 0 solo" in text
    assert "  Eventi: 2 (lo hanno scelto in 1)" in text.splitlines()
    assert "  Info comune: 1 (lo hanno scelto in 0)" in text.splitlines()
    assert "scadenze, viabilita" in text and "+39 333 *****" in text


def test_changing_the_topics_replays_everything(town, monkeypatch):
    write(town / "logs" / "a.jsonl", [message("393330000001", "wamid.a1", T0, "MI ISCRIVO EVENTI")])
    sync(load_settings())
    monkeypatch.setenv("BANDITORE_TOPIC_GROUPS", json.dumps({"Tempo libero": ["eventi"]}))
    s = sync(load_settings())
    assert s.rebuilt
    assert query(town / "subscribers.duckdb", "SELECT topics FROM subscribers") == [
        (["Tempo libero"],)]
