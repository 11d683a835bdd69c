"""The rehearsal's final check finds what it is there to find: a citizen missed, a message
sent twice, a message to someone who left or paused, a reply missing, a number printed."""

from __future__ import annotations

from types import SimpleNamespace

from rehearsal.check import Sent, check
from rehearsal.citizens import Citizens
from runner.config import Settings


def accepted(to: str, callback: str, at: float = 1.5):
    """What the loopback Cloud API accepted, ``at`` its monotonic time (run 1: 1 to 2 s)."""
    return SimpleNamespace(to=to, callback=callback, at=at)


def town(messages, output=""):
    settings = Settings(emergency_categories=["emergenze"], topic_groups={})
    citizens = Citizens(settings, poster=None, clock=lambda: 0)
    anna, bruno, carla = (citizens.new(name) for name in ("Anna", "Bruno", "Carla"))
    # Anna and Bruno subscribe; Carla never does (the way citizens' states change).
    citizens._apply(anna, "MI ISCRIVO", 0.1, "wamid.A")
    citizens._apply(bruno, "MI ISCRIVO", 0.2, "wamid.B")
    citizens.snapshot(1)  # the run that sent: Anna and Bruno subscribed, Carla not
    run = SimpleNamespace(id=1, output=[output], summary=[], started=1.0, ended=2.0)
    return SimpleNamespace(citizens=citizens, cloud=SimpleNamespace(accepted=messages),
                           scheduler=SimpleNamespace(runs=[run]),
                           github=SimpleNamespace(comments={})), (anna, bruno, carla)


SENT = [Sent("2026-03-02-via-roma", "viabilita", "2026-03-02T08:00:00+01:00",
             "2026-03-04T23:00:00+01:00")]
RUNS = {1: "2026-03-02T09:00:00+01:00"}


def welcomed(t, anna, bruno):
    t.cloud.accepted += [accepted(anna.number, "banditore:w:wamid.A"),
                         accepted(bruno.number, "banditore:w:wamid.B")]


def test_all_reached_once_is_clean():
    t, (anna, bruno, _) = town([])
    welcomed(t, anna, bruno)
    t.cloud.accepted += [accepted(anna.number, "banditore:a:2026-03-02-via-roma:c_1"),
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
                              "Bruno wrote a subscribe keyword and got no reply"]
    assert "Anna got 2026-03-02-via-roma 2 times" in result.duplicates
    assert result.unexpected == ["Carla got 2026-03-02-via-roma in run 1, not subscribed"]


def test_a_phone_that_never_receives_still_gets_the_announcement_sent():
    """Welcome first is an order, not a gate: Meta's failed comes after the send."""
    t, (anna, bruno, _) = town([])
    bruno.unreachable = True
    welcomed(t, anna, bruno)
    t.cloud.accepted += [accepted(anna.number, "banditore:a:2026-03-02-via-roma:c_1")]
    assert check(t, SENT, RUNS, {1}, None).missing == ["Bruno never got 2026-03-02-via-roma"]


def test_a_send_to_a_citizen_paused_when_its_run_started_is_unexpected():
    """Paused at run 1, resumed before run 2: the announcement is theirs from run 2 on,
    and a send made by run 1 is still one too many."""
    t, (anna, bruno, _) = town([])
    t.citizens._apply(bruno, "PAUSA", 0.5, "wamid.P")
    t.citizens.snapshot(1)
    t.citizens._apply(bruno, "RIPRENDI", 2.5, "wamid.R")
    t.citizens.snapshot(2)
    t.scheduler.runs.append(SimpleNamespace(id=2, output=[], summary=[], started=3.0, ended=4.0))
    welcomed(t, anna, bruno)
    t.cloud.accepted += [accepted(bruno.number, "banditore:p:wamid.P"),
                         accepted(anna.number, "banditore:a:2026-03-02-via-roma:c_1"),
                         accepted(bruno.number, "banditore:a:2026-03-02-via-roma:c_2")]
    result = check(t, SENT, {**RUNS, 2: "2026-03-02T10:00:00+01:00"}, {1, 2}, None)
    assert result.unexpected == ["Bruno got 2026-03-02-via-roma in run 1, paused"]
    assert result.missing == ["Bruno wrote a resume keyword and got no reply"]
    assert result.replies["pause"] == 1


def test_after_resume_the_announcement_is_expected_again():
    t, (anna, bruno, _) = town([])
    t.citizens._apply(bruno, "PAUSA", 0.5, "wamid.P")
    t.citizens.snapshot(1)
    welcomed(t, anna, bruno)
    t.cloud.accepted += [accepted(bruno.number, "banditore:p:wamid.P"),
                         accepted(anna.number, "banditore:a:2026-03-02-via-roma:c_1")]
    assert check(t, SENT, RUNS, {1}, None).ok  # paused: nothing expected for Bruno
    t.citizens._apply(bruno, "RIPRENDI", 2.5, "wamid.R")
    t.citizens.snapshot(2)
    t.scheduler.runs.append(SimpleNamespace(id=2, output=[], summary=[], started=3.0, ended=4.0))
    t.cloud.accepted += [accepted(bruno.number, "banditore:u:wamid.R", 3.5)]
    result = check(t, SENT, {**RUNS, 2: "2026-03-02T10:00:00+01:00"}, {1, 2}, None)
    assert result.missing == ["Bruno never got 2026-03-02-via-roma"]


def test_a_run_that_never_sent_expects_nothing():
    t, _ = town([])
    result = check(t, SENT, RUNS, set(), None)  # the run failed before sending
    assert result.expected == 0


def test_a_phone_number_in_a_step_output_is_found():
    t, (anna, _, _) = town([])
    t.scheduler.runs[0].output = [f"sent to {anna.number}"]
    assert check(t, SENT, RUNS, {1}, None).numbers_leaked == ["run 1 output: 1 phone numbers"]
