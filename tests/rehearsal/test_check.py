"""The rehearsal's final check finds what it is there to find: a citizen missed, a message
sent twice, a message to someone who left, a reply missing, a number printed."""

from __future__ import annotations

from types import SimpleNamespace

from rehearsal.check import Sent, check
from rehearsal.citizens import Citizens
from runner.config import Settings


def accepted(to: str, callback: str):
    return SimpleNamespace(to=to, callback=callback)


def town(messages, output=""):
    settings = Settings(emergency_categories=["emergenze"], topic_groups={})
    citizens = Citizens(settings, poster=None, clock=lambda: 0)
    anna, bruno, carla = (citizens.new(name) for name in ("Anna", "Bruno", "Carla"))
    anna.active = bruno.active = True
    anna.subscribed = bruno.subscribed = 1
    anna.keyword_wamids, bruno.keyword_wamids = ["wamid.A"], ["wamid.B"]
    citizens.snapshot(1)  # the run that sent: Anna and Bruno subscribed, Carla not
    run = SimpleNamespace(id=1, output=[output], summary=[])
    return SimpleNamespace(citizens=citizens, cloud=SimpleNamespace(accepted=messages),
                           scheduler=SimpleNamespace(runs=[run]),
                           github=SimpleNamespace(comments={})), (anna, bruno, carla)


SENT = [Sent("2026-03-02-via-roma", "viabilita", "2026-03-02T08:00:00+01:00",
             "2026-03-04T23:00:00+01:00")]
RUNS = {1: "2026-03-02T09:00:00+01:00"}


def test_all_reached_once_is_clean():
    t, (anna, bruno, _) = town([])
    t.cloud.accepted += [accepted(anna.number, "banditore:w:wamid.A"),
                         accepted(bruno.number, "banditore:w:wamid.B"),
                         accepted(anna.number, "banditore:a:2026-03-02-via-roma:c_1"),
                         accepted(bruno.number, "banditore:a:2026-03-02-via-roma:c_2")]
    result = check(t, SENT, RUNS, {1}, None)
    assert result.ok and result.reached == result.expected == 2 and result.welcomes == 2


def test_missed_twice_and_unexpected_are_found():
    t, (anna, bruno, carla) = town([])
    t.cloud.accepted += [accepted(anna.number, "banditore:w:wamid.A"),
                         accepted(anna.number, "banditore:a:2026-03-02-via-roma:c_1"),
                         accepted(anna.number, "banditore:a:2026-03-02-via-roma:c_1"),
                         accepted(carla.number, "banditore:a:2026-03-02-via-roma:c_3")]
    result = check(t, SENT, RUNS, {1}, None)
    assert not result.ok
    assert result.missing == ["Bruno never got 2026-03-02-via-roma",
                              "Bruno subscribed and got no welcome"]
    assert "Anna got 2026-03-02-via-roma 2 times" in result.duplicates
    assert result.unexpected == ["Carla got 2026-03-02-via-roma"]


def test_a_run_that_never_sent_expects_nothing():
    t, _ = town([])
    result = check(t, SENT, RUNS, set(), None)  # the run failed before sending
    assert result.expected == 0


def test_a_phone_number_in_a_step_output_is_found():
    t, (anna, _, _) = town([])
    t.scheduler.runs[0].output = [f"sent to {anna.number}"]
    assert check(t, SENT, RUNS, {1}, None).numbers_leaked == ["run 1 output: 1 phone numbers"]
