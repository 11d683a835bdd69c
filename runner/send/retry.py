"""When a failed send is tried again, and after how long: tenacity strategy objects.

An attempt returns a :class:`~runner.whatsapp.answers.Result`; these read its
error code (never the HTTP status) through :mod:`runner.whatsapp.answers`:

- retry only transient errors, and none once the run is stopping;
- give up after 3 tries for code 1 (unknown), 5 for the per-citizen pair rate, 6 else;
- wait 4^X s for the pair rate (Meta's advice), a minute-scale backoff for codes
  that need a pause, seconds otherwise; never less than Retry-After.
"""

from __future__ import annotations

from collections.abc import Callable

from tenacity import RetryCallState, Retrying, wait_exponential_jitter
from tenacity.retry import retry_base
from tenacity.stop import stop_base
from tenacity.wait import wait_base

from ..whatsapp.answers import FIRST_WAIT, Action, ApiError

RETRYABLE = frozenset({Action.RETRY, Action.THROUGHPUT, Action.PAIR_RATE})
MAX_WAIT_S = 600.0


def _error(state: RetryCallState) -> ApiError:
    return state.outcome.result().error


class retry_if_transient(retry_base):  # noqa: N801 (tenacity's naming)
    """Retry a transient error, unless ``stopping()`` says the run is ending."""

    def __init__(self, stopping: Callable[[], bool]) -> None:
        self.stopping = stopping

    def __call__(self, state: RetryCallState) -> bool:
        result = state.outcome.result()
        return (result.error is not None and result.error.action in RETRYABLE
                and not self.stopping())


class stop_for_error(stop_base):  # noqa: N801
    """How many attempts an error deserves, by its code."""

    def __call__(self, state: RetryCallState) -> bool:
        err = _error(state)
        limit = 3 if err.code == 1 else 5 if err.action is Action.PAIR_RATE else 6
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


def retrying(sleep: Callable[[float], object], stopping: Callable[[], bool],
             on_backoff: Callable[[float], object]) -> Retrying:
    """The retry policy of one delivery; its last attempt's result is returned as is."""
    return Retrying(
        sleep=sleep, stop=stop_for_error(), wait=wait_for_error(),
        retry=retry_if_transient(stopping),
        retry_error_callback=lambda state: state.outcome.result(),
        before_sleep=lambda state: on_backoff(state.next_action.sleep),
    )
