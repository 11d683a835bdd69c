"""When a failed send is tried again, and after how long: tenacity strategy objects,
and the queue where a retry waits for its time without holding a worker.

An attempt returns a :class:`~runner.whatsapp.answers.Result`; these read its
error code (never the HTTP status) through :mod:`runner.whatsapp.answers`:

- retry only transient errors, and none once the run is stopping;
- give up after 3 tries for code 1 (unknown), 5 for the per-citizen pair rate,
  10 for the number's throughput (Meta never took those), 6 else;
- wait 4^X s for the pair rate (Meta's advice), a minute-scale backoff for codes
  that need a pause, seconds otherwise; never less than Retry-After.

A delivery whose retries ran out on a transient error is failed for this run;
the next run puts it back in the queue by itself (:func:`~runner.send.queue.requeue_failed`).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from tenacity import RetryCallState, wait_exponential_jitter
from tenacity.retry import retry_base
from tenacity.stop import stop_base
from tenacity.wait import wait_base

from ..whatsapp.answers import FIRST_WAIT, Action, ApiError, Result

RETRYABLE = frozenset({Action.RETRY, Action.THROUGHPUT, Action.PAIR_RATE})
MAX_WAIT_S = 600.0


def _result(state: RetryCallState) -> Result:
    # RetryPolicy sets the outcome before it asks any of the strategies below.
    assert state.outcome is not None
    return state.outcome.result()


def _error(state: RetryCallState) -> ApiError:
    error = _result(state).error
    assert error is not None  # stop and wait are asked only after retry found an error
    return error


class retry_if_transient(retry_base):  # noqa: N801 (tenacity's naming)
    """Retry a transient error, unless ``stopping()`` says the run is ending."""

    def __init__(self, stopping: Callable[[], bool]) -> None:
        self.stopping = stopping

    def __call__(self, state: RetryCallState) -> bool:
        result = _result(state)
        return (result.error is not None and result.error.action in RETRYABLE
                and not self.stopping())


class stop_for_error(stop_base):  # noqa: N801
    """How many attempts an error deserves, by its code."""

    def __call__(self, state: RetryCallState) -> bool:
        err = _error(state)
        action = err.action
        limit = (3 if err.code == 1 else 5 if action is Action.PAIR_RATE
                 else 10 if action is Action.THROUGHPUT else 6)
        return state.attempt_number >= limit


class wait_for_error(wait_base):  # noqa: N801
    """The pause before the next attempt, by the error's code and Retry-After."""

    def __init__(self) -> None:
        self.fast = wait_exponential_jitter(multiplier=1, max=60, jitter=1)
        self.slow = wait_exponential_jitter(multiplier=60, max=600, jitter=10)

    def __call__(self, state: RetryCallState) -> float:
        err = _error(state)
        if err.action is Action.PAIR_RATE:
            wait = 4.0 ** (state.attempt_number - 1)  # Meta: retry after 4^X s
        elif err.code in FIRST_WAIT:
            wait = self.slow(state)
        else:
            wait = self.fast(state)
        return max(wait, min(err.retry_after or 0.0, MAX_WAIT_S))


class RetryPolicy:
    """The wait before the next attempt of a delivery, or None: not in this run.

    ``policy(result, attempt)`` after the ``attempt``-th attempt (1 for the first)
    returned ``result``; the same strategy objects tenacity would run, without its
    loop, so the wait is spent in :class:`RetryQueue` and not in a worker."""

    def __init__(self, stopping: Callable[[], bool]) -> None:
        self.retry = retry_if_transient(stopping)
        self.stop = stop_for_error()
        self.wait = wait_for_error()

    def __call__(self, result: Result, attempt: int) -> float | None:
        # No Retrying loop runs here, so there is no retry object: tenacity reads it
        # only inside its own loop, never in the strategies.
        state = RetryCallState(None, None, (), {})  # type: ignore[arg-type]
        state.attempt_number = attempt
        state.set_result(result)
        if not self.retry(state) or self.stop(state):
            return None
        return self.wait(state)


T = TypeVar("T")


class RetryQueue(Generic[T]):
    """Items waiting for their time, earliest first (ties in the order they came)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, T]] = []
        self._order = itertools.count()

    def __len__(self) -> int:
        return len(self._heap)

    def push(self, due: float, item: T) -> None:
        heapq.heappush(self._heap, (due, next(self._order), item))

    def next_due(self) -> float | None:
        return self._heap[0][0] if self._heap else None

    def pop_due(self, now: float, limit: int) -> list[T]:
        """Up to ``limit`` items whose time has come."""
        out: list[T] = []
        heap = self._heap
        while heap and heap[0][0] <= now and len(out) < limit:
            out.append(heapq.heappop(heap)[2])
        return out

    def drain(self) -> Iterator[T]:
        while self._heap:
            yield heapq.heappop(self._heap)[2]
