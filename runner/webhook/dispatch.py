"""The receiver asks GitHub for a send run when a citizen's message needs an answer.

Without it a citizen who writes "MI ISCRIVO" waits for the next scheduled run:
every 15 minutes on paper, later when GitHub is busy, never once GitHub has
disabled the schedule of a public repository left quiet for 60 days.

:meth:`Dispatcher.poke` is all a request does: it counts the message in memory
and wakes the dispatcher's thread, once the webhook's line is on disk and its
``200`` has been sent (the receiver pokes when the server closes the answer).
Everything that talks to GitHub happens on that thread, so GitHub's answers
never hold a request, and an outage of GitHub never loses or delays a webhook
line. The thread (one per process, started again in a forked child, like the log
writer's) records the messages in the ledger every process shares
(:mod:`.coalesce`, which decides when), and, when its process claims a dispatch:

1. reads the workflow's state; ``disabled_inactivity`` is turned back on first
   (``disabled_manually`` is staff's choice and left alone: a refusal, logged);
2. dispatches the send workflow on the default branch.

A call that fails for a reason that may pass (no answer, 5xx, 429, a rate limit)
is tried again on the spot with exponential backoff for up to
:data:`ATTEMPT_SECONDS` (tenacity); past that, or for any other refusal, the
ledger keeps the dispatch due and backs off (:func:`.coalesce.settle`). The
log names the calls, statuses and counts: never a number or a text (the thread
never sees one), never the token.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_delay,
    wait_exponential,
)

from ..config import Settings
from ..errors import ConfigError
from ..messages import t
from .coalesce import HEARTBEAT, WINDOW, Claim, SharedLedger, decide, settle
from .github import ACTIVE, DISABLED_INACTIVITY, GitHubActions, GitHubError

log = logging.getLogger("banditore.webhook.dispatch")

# Retries inside one claim end well before the window does, so that no other
# process claims the next dispatch while this one is still trying.
ATTEMPT_SECONDS = 20.0


def carries_message(body: object) -> bool:
    """Whether a webhook body holds a citizen's message (``value.messages[]`` under a
    ``messages`` change). Delivery statuses, errors and template updates ask for
    no run: nobody waits for an answer to them."""
    if not isinstance(body, dict) or not isinstance(body.get("entry"), list):
        return False
    for entry in body["entry"]:
        changes = entry.get("changes") if isinstance(entry, dict) else None
        for change in changes if isinstance(changes, list) else ():
            value = change.get("value") if isinstance(change, dict) else None
            if (change.get("field") == "messages" and isinstance(value, dict)
                    and value.get("messages")):
                return True
    return False


def _transient(exc: BaseException) -> bool:
    return isinstance(exc, GitHubError) and exc.transient


class Dispatcher:
    """Coalesced, retried dispatches of the send workflow, on a thread of its own.

    ``clock`` (wall time: the ledger is shared between processes) and ``sleep``
    (tenacity's waits between attempts) are injectable; a test that moves its
    clock calls :meth:`nudge` so the thread looks at it again. ``attempt_seconds``
    bounds the retries of one claim (tenacity's own clock: real time).
    """

    def __init__(self, github: GitHubActions, ledger: SharedLedger, *,
                 window: float = WINDOW, heartbeat: float = HEARTBEAT,
                 attempt_seconds: float = ATTEMPT_SECONDS,
                 clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep):
        self.github = github
        self.ledger = ledger
        self.window = window
        self.heartbeat = heartbeat
        self.attempt_seconds = attempt_seconds
        self._clock = clock
        self._sleep = sleep
        self._cond = threading.Condition()
        self._pokes = 0
        self._nudged = False
        self._pid: int | None = None

    # --- called by requests: memory only, never blocks -----------------------
    @staticmethod
    def wants_run(body: object) -> bool:
        return carries_message(body)

    def poke(self) -> None:
        """A citizen's message was logged: a run should follow."""
        with self._cond:
            self._start()
            self._pokes += 1
            self._cond.notify()

    def nudge(self) -> None:
        """Look at the clock and the ledger again now."""
        with self._cond:
            self._start()
            self._nudged = True
            self._cond.notify()

    def start(self) -> None:
        """Start the thread (the receiver does at start, so the heartbeat runs
        even before anyone writes)."""
        with self._cond:
            self._start()

    def _start(self) -> None:
        if self._pid == os.getpid():
            return
        self._pid = os.getpid()
        threading.Thread(target=self._run, name="github-dispatch", daemon=True).start()

    # --- the thread ---------------------------------------------------------------
    def _run(self) -> None:
        due = self._clock()
        while True:
            with self._cond:
                # Never more than a window without a look: a wall clock that
                # jumps cannot push the next dispatch far away.
                wait = min(max(due - self._clock(), 0.0), self.window)
                if not (self._pokes or self._nudged) and wait > 0:
                    self._cond.wait(wait)
                pokes, self._pokes, self._nudged = self._pokes, 0, False
            try:
                due = self._step(pokes)
            except Exception:  # noqa: BLE001 - the thread must outlive any surprise
                log.exception("dispatch: unexpected error; trying again in a window")
                due = self._clock() + self.window

    def _step(self, pokes: int) -> float:
        """Record ``pokes``, claim a due dispatch and make it; the time to look again."""
        now = self._clock()
        with self.ledger.locked(now) as ledger:
            ledger.seen += pokes
            claim, due = decide(ledger, now, self.window, self.heartbeat)
            waiting = ledger.seen - ledger.covered
        if claim is None:
            return due
        ok = self._dispatch(claim, waiting)
        now = self._clock()
        with self.ledger.locked(now) as ledger:
            settle(ledger, claim, ok, now, self.window)
            if not ok:
                due = ledger.retry_at
        return due

    def _dispatch(self, claim: Claim, waiting: int) -> bool:
        why = "heartbeat" if claim.heartbeat else f"{waiting} new message(s)"
        retrying = Retrying(retry=retry_if_exception(_transient),
                            wait=wait_exponential(multiplier=1, max=8),
                            stop=stop_after_delay(self.attempt_seconds), sleep=self._sleep,
                            before_sleep=_log_retry, reraise=True)
        try:
            ref = retrying(self._enable_and_dispatch)
        except GitHubError as exc:
            log.error("dispatch of %s failed (%s): %s; the schedule still runs",
                      self.github.workflow, why, exc)
            return False
        log.info("dispatched %s on %s (%s)", self.github.workflow, ref, why)
        return True

    def _enable_and_dispatch(self) -> str:
        state = self.github.state()
        if state == DISABLED_INACTIVITY:
            self.github.enable()
            log.warning("%s was disabled for inactivity: enabled again",
                        self.github.workflow)
        elif state != ACTIVE:
            raise GitHubError("workflow", 200, f"is {state or 'in an unknown state'}: "
                              "enable it in the repository's Actions tab")
        return self.github.dispatch()


def _log_retry(state: RetryCallState) -> None:
    # Called before each sleep: the failed outcome and the wait are known.
    assert state.outcome is not None and state.next_action is not None
    log.warning("dispatch: %s; trying again in %.0f s", state.outcome.exception(),
                state.next_action.sleep)


def dispatcher_for(settings: Settings, folder: Path) -> Dispatcher:
    """The dispatcher the settings ask for, its ledger in the logs ``folder``.
    Both the repository and the token are needed: half of them is an error."""
    token = settings.github_dispatch_token
    repository = settings.github_repository
    if not repository or token is None:
        missing = "BANDITORE_GITHUB_DISPATCH_TOKEN" if repository else "BANDITORE_GITHUB_REPOSITORY"
        raise ConfigError(t("webhook.dispatch-incomplete", settings.language, missing=missing))
    github = GitHubActions(settings.github_api_base, repository, token.get_secret_value())
    return Dispatcher(github, SharedLedger(folder))


__all__ = ["ATTEMPT_SECONDS", "Dispatcher", "carries_message", "dispatcher_for"]
