"""The pacer with an injected clock: the global rate, the 6-second pair rate, and the
rate it finds against a simulated Meta (a token bucket, random 130429s, latency)."""

import heapq
import random
import threading

import pytest

from runner.whatsapp.pacing import MAX_PAUSE_S, Pacer, wake_grid, workers_for


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


class Meta:
    """What the Cloud API does with a number's requests, in simulated time: a token
    bucket of ``ceiling`` msg/s (a quarter of a second deep), ``noise`` random 130429s,
    and 100-150 ms between a request and its answer."""

    def __init__(self, ceiling: float, noise: float = 0.0, seed: int = 1) -> None:
        self.ceiling, self.noise = ceiling, noise
        self.tokens = self.depth = max(1.0, ceiling / 4)
        self.last = 0.0
        self.random = random.Random(seed)

    def throttles(self, at: float) -> bool:
        self.tokens = min(self.depth, self.tokens + (at - self.last) * self.ceiling)
        self.last = at
        if self.random.random() < self.noise:
            return True
        if self.tokens < 1:
            return True
        self.tokens -= 1
        return False


def simulate(p: Pacer, clock: Clock, meta: Meta, seconds: float, *, lift_at: float | None = None,
             lift_to: float = 0.0) -> list[tuple[float, bool]]:
    """Send as fast as the pacer lets for ``seconds``; answers reach the pacer in time
    order. Returns (time Meta saw the request, throttled) for every request."""
    answers: list[tuple[float, float, bool]] = []
    seen = []
    while clock.t < seconds:
        if lift_at is not None and clock.t >= lift_at:
            meta.ceiling, lift_at = lift_to, None
        slot = p.wait()
        while answers and answers[0][0] <= clock.t:
            _, sent, throttled = heapq.heappop(answers)
            p.answered(sent, throttled)
        arrival = clock.t + 0.05
        throttled = meta.throttles(arrival)
        seen.append((arrival, throttled))
        heapq.heappush(answers, (arrival + meta.random.uniform(0.05, 0.1), slot, throttled))
    return seen


def per_second(seen, start: float, end: float) -> list[int]:
    """Accepted requests in each whole second from ``start`` to ``end``."""
    bins = [0] * int(end - start)
    for at, throttled in seen:
        if start <= at < start + len(bins) and not throttled:
            bins[int(at - start)] += 1
    return bins


def test_slots_are_one_interval_apart():
    p, clock = pacer(80)
    slots = [p.wait(f"c{i}") for i in range(161)]
    assert slots[0] == 0 and slots[-1] == pytest.approx(2.0)
    assert all(b - a == pytest.approx(1 / 80) for a, b in zip(slots, slots[1:], strict=False))
    assert clock.t == pytest.approx(2.0)


def test_on_a_grid_sends_wake_together_and_never_beat_the_rate():
    p, clock = pacer(80, grid=wake_grid(80))
    slots, woken = [], []
    for i in range(161):
        slots.append(p.wait(f"c{i}"))
        woken.append(clock.t)
    assert wake_grid(80) == 0.025 and wake_grid(1000) == 0.004
    assert all(round(t / 0.025, 6).is_integer() for t in woken)
    assert max(woken.count(w) for w in woken) == 2  # 80/s on a 25 ms grid: two at a time
    assert all(w >= s - 1e-9 for w, s in zip(woken, slots, strict=True))
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


def test_a_citizen_served_less_than_6_seconds_ago_gets_no_slot_and_nobody_sleeps():
    p, clock = pacer(1000)
    first = p.wait("anna")
    others = [p.wait(f"x{i}") for i in range(3)]  # not held up by anna
    assert p.wait("anna") is None and p.ready_at("anna") == pytest.approx(first + 6.0)
    assert others[-1] < 0.01 and max(clock.slept) < 0.01  # no sleep through the gap
    clock.t = first + 6.0
    assert p.wait("anna") == pytest.approx(first + 6.0)


def test_a_refused_request_does_not_hold_the_citizens_gap():
    p, clock = pacer(1000)
    slot = p.wait("anna")
    p.release("anna", slot)  # Meta answered 5xx, or the connection dropped
    assert p.wait("anna") is not None and p.ready_at("bruno") == clock.t


def test_the_gap_is_per_citizen_when_threads_share_the_pacer():
    p, clock = pacer(1000)
    lock = threading.Lock()
    got: list[tuple[str, float | None]] = []

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
        assert sum(1 for c, s in got if c == who and s is not None) == 1


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
    assert p.reserve("anna") is None
    assert p.ready_at("anna") == pytest.approx(1006.1)


# --- the rate Meta accepts ------------------------------------------------------------
def test_it_converges_on_the_real_ceiling_within_10_seconds():
    p, clock = pacer(1000)
    seen = simulate(p, clock, Meta(ceiling=80), 60)
    accepted = per_second(seen, 10, 60)
    assert 0.9 * 80 <= min(accepted) and max(accepted) <= 1.05 * 80
    after = [throttled for at, throttled in seen if at >= 10]
    assert sum(after) / len(after) <= 0.10
    assert p.rate >= 80  # never below what Meta guarantees


def test_a_ceiling_above_the_floor_is_found_too():
    p, clock = pacer(1000)
    seen = simulate(p, clock, Meta(ceiling=300), 60)
    accepted = per_second(seen, 10, 60)
    assert sum(accepted) / len(accepted) >= 0.9 * 300
    after = [throttled for at, throttled in seen if at >= 10]
    assert sum(after) / len(after) <= 0.10


def test_random_throttles_are_noise_not_congestion():
    p, clock = pacer(300)
    seen = simulate(p, clock, Meta(ceiling=10_000, noise=0.05), 60)
    assert len(seen) / 60 >= 0.95 * 300  # requests: the rate held
    assert min(d.rate for d in p.decisions) >= 0.85 * 300 if p.decisions else True
    assert p.noise >= 0.03 or not p.decisions


def test_it_climbs_back_when_the_ceiling_lifts():
    p, clock = pacer(1000)
    seen = simulate(p, clock, Meta(ceiling=80), 100, lift_at=20, lift_to=1000)
    assert p.rate == 1000
    assert len([1 for at, _ in seen if 95 <= at < 100]) >= 0.95 * 5 * 1000
    ups = [d for d in p.decisions if d.why == "up" and d.at > 20]
    assert all(b.rate / a.rate <= 1.05 + 1e-9 for a, b in zip(ups, ups[1:], strict=False))


def test_answers_to_requests_sent_before_a_decrease_do_not_count_again():
    p, clock = pacer(1000)
    slots = [p.wait() for _ in range(600)]
    for slot in slots[:500]:
        p.answered(slot, throttled=True)  # the window: all throttled
    assert [d.why for d in p.decisions] == ["down"] and p.rate == 80
    for slot in slots[500:]:
        p.answered(slot, throttled=True)  # sent at 1,000 msg/s too: already answered for
    clock.t += 5
    p.answered(slots[-1], throttled=True)
    assert len(p.decisions) == 1 and p.throttle_count == 601


def test_at_most_one_decrease_per_window_and_never_below_the_floor():
    p, clock = pacer(300)
    for _ in range(5):
        slots = [p.wait() for _ in range(30)]
        for slot in slots:
            p.answered(slot, throttled=True)
        clock.t += 0.1  # a tenth of a window
    assert len(p.decisions) <= 1
    for _ in range(30):
        slots = [p.wait() for _ in range(30)]
        clock.t += 1
        for slot in slots:
            p.answered(slot, throttled=True)
    assert p.rate == 80 and min(d.rate for d in p.decisions) == 80
    low, _ = pacer(20)
    assert low.floor == 20  # a number configured below 80 never goes lower either


def test_retry_after_on_a_throttle_pauses_every_send():
    p, clock = pacer(100)
    slot = p.wait()
    p.answered(slot, throttled=True, retry_after=7)
    assert p.wait() == pytest.approx(7.0)
    p.answered(p.wait(), throttled=True, retry_after=3600)
    assert p.wait() <= clock.t + MAX_PAUSE_S + 0.02  # a silly Retry-After is capped
