"""The pacer with an injected clock: the global rate, the 6-second pair rate, slowing down."""

import threading

import pytest

from runner.whatsapp.pacing import Pacer, wake_grid, workers_for


class Clock:
    def __init__(self) -> None:
        self.t = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += max(0.0, seconds)


def pacer(rate: float, **kw) -> tuple[Pacer, Clock]:
    clock = Clock()
    return Pacer(rate, clock=clock, sleep=clock.sleep, burst=0, **kw), clock


def test_slots_are_one_interval_apart():
    p, clock = pacer(80)
    slots = [p.wait(f"c{i}") for i in range(161)]
    assert slots[0] == 0 and slots[-1] == pytest.approx(2.0)
    assert all(b - a == pytest.approx(1 / 80) for a, b in zip(slots, slots[1:], strict=False))
    assert clock.t == pytest.approx(2.0)


def test_on_a_grid_sends_wake_together_and_never_beat_the_rate():
    p, clock = pacer(80, grid=wake_grid(80))
    slots = [p.wait(f"c{i}") for i in range(161)]
    assert wake_grid(80) == 0.025 and wake_grid(1000) == 0.004
    assert all(round(s / 0.025, 6).is_integer() for s in slots)
    assert max(slots.count(s) for s in slots) == 2  # 80/s on a 25 ms grid: two at a time
    assert all(b >= a for a, b in zip(slots, slots[1:], strict=False))
    # never earlier than its slot: in any second, no more than the rate (and one tick's)
    assert max(sum(1 for s in slots if t <= s < t + 1) for t in slots) <= 80 + 2
    assert slots[-1] == pytest.approx(2.0)


def test_a_late_schedule_catches_up_only_by_the_burst():
    clock = Clock()
    p = Pacer(100, clock=clock, sleep=clock.sleep, burst=0.05)
    p.wait()
    clock.t = 10.0  # nobody sent for ten seconds: no flood of 1,000 saved-up slots
    slots = [p.reserve() for _ in range(10)]
    assert slots[0] == pytest.approx(9.95) and slots[-1] == pytest.approx(10.04)


def test_one_citizen_gets_at_most_one_message_every_6_seconds():
    p, clock = pacer(1000)
    first = p.wait("anna")
    others = [p.wait(f"x{i}") for i in range(3)]  # not held up by anna
    second = p.wait("anna")
    assert others[-1] < 0.01
    assert second - first == pytest.approx(6.0)


def test_the_gap_is_per_citizen_when_threads_share_the_pacer():
    p, clock = pacer(1000)
    lock = threading.Lock()
    got: list[tuple[str, float]] = []

    def send(citizen):
        slot = p.reserve(citizen)
        with lock:
            got.append((citizen, slot))

    threads = [threading.Thread(target=send, args=(c,)) for c in ["a", "b", "a", "b", "a"]]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for who in "ab":
        times = sorted(t for c, t in got if c == who)
        assert all(b - a >= 6.0 - 1e-9 for a, b in zip(times, times[1:], strict=False))


def test_throughput_error_halves_the_rate_and_it_recovers():
    p, clock = pacer(80, recover_after=10)
    p.throttled()
    assert p.rate == 40 and p.throttle_count == 1
    p.throttled()
    assert p.rate == 20
    clock.t += 10
    p.reserve()
    assert p.rate == 25
    for _ in range(20):
        clock.t += 10
        p.reserve()
    assert p.rate == 80  # never above the configured rate


def test_slow_down_never_goes_below_the_floor():
    p, _ = pacer(4, min_rate=1)
    for _ in range(10):
        p.throttled()
    assert p.rate == 1


def test_memory_holds_only_the_last_6_seconds_of_citizens():
    p, clock = pacer(1000)
    for i in range(20_000):
        p.wait(f"c{i}")
    assert clock.t == pytest.approx(19.999)
    assert len(p._last_sent) <= 6_001


@pytest.mark.parametrize(("rate", "workers"), [(80, 24), (500, 150), (1000, 300), (1, 4)])
def test_concurrency_holds_the_rate_at_200_ms(rate, workers):
    assert workers_for(rate) == workers


def test_a_wait_that_rounds_short_still_ends():
    # now + (ready - now) can land one ulp below ready with a float clock: no endless loop.
    p, clock = pacer(1000)
    clock.t = 1000.1
    p.wait("anna")
    clock.t = 1000.1 + 0.3
    slot = p.reserve("anna")
    assert slot == pytest.approx(1006.1)
