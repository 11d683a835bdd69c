"""What each step of a send returns: plain data the steps, the manager and the summary
share. Nothing here imports a module of send/, so no step depends on another (nor on
the summary) through a type, and no import of a type closes a circle.

Each step returns its own result; the manager (:mod:`.manager`) puts them into the
:class:`~runner.send.summary.SendSummary`. No step writes into its caller's objects.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..announcements.counts_file import Reach
from ..vocabulary import FAILED, SENT


@dataclass
class Settled:
    """What settling (:mod:`.settle`) found: the database corrected from the webhooks."""

    ambiguous: int = 0        # left in `sending` by a run that stopped mid-request
    from_statuses: int = 0    # queued/sending deliveries the status webhooks show went out
    from_outbox: int = 0      # ... or that the outbox holds
    requeued: int = 0         # refused, or ambiguous with no trace: sent again
    awaiting: int = 0         # ambiguous, waiting for their status webhooks


@dataclass
class PlanSummary:
    """What planning (:mod:`.plan`) did."""

    planned: dict[str, int] = field(default_factory=dict)  # announcement id -> new deliveries
    reach: dict[str, Reach] = field(default_factory=dict)  # announcement id -> its audience
    cancelled: int = 0  # queued deliveries of cancelled announcements
    expired: int = 0    # queued deliveries of announcements that expired before going out
    left: int = 0       # queued to citizens no longer active (left, asked to leave,
                        # blocked, paused)
    unquoted: int = 0   # deliveries of corrections going on without the quote Meta refused


@dataclass
class AnnouncementPlan:
    """What one announcement sends, for the dry run and the summary (:mod:`.payloads`)."""

    id: str
    title: str
    urgency: str
    audience: int = 0  # deliveries queued for it when the run sent (or would send)
    reach: Reach | None = None  # its audience's figures at this planning
    held: bool = False  # not sent this time: quiet hours, or its media could not be uploaded
    preview: str = ""
    note: str = ""  # why it was held


@dataclass(frozen=True)
class LeftOut:
    """Citizens an emergency missed in this run, for one reason (:mod:`.left_out`)."""

    announcement_id: str
    state: str               # skipped | failed
    reason: str | int | None  # a skip reason (vocabulary) or Meta's error code
    title: str | None        # Meta's error title, for a failure
    count: int


@dataclass
class Sending:
    """What the engine (:mod:`.engine`) sent in the sending phase, counted as the answers
    came back. (How it paced, and what halted or stopped it, its pacer and courier tell.)"""

    sent: int = 0
    failed: int = 0
    retries: int = 0
    failures: Counter = field(default_factory=Counter)  # (code, title) -> count
    elapsed: float = 0.0  # wall and process CPU seconds of the sending phase alone
    cpu: float = 0.0

    def count(self, answered: Iterable[tuple]) -> tuple[int, int]:
        """Add answers as journaled (delivery_id, state, wamid, error_code, error_title,
        tries): how many of them were sent, and how many failed."""
        sent = failed = 0
        for _, state, _, code, title, _ in answered:
            if state == SENT:
                sent += 1
            elif state == FAILED:
                failed += 1
                self.failures[(code, title)] += 1
        self.sent += sent
        self.failed += failed
        return sent, failed
