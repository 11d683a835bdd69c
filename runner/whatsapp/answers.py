"""What the Cloud API answered, and what to do with an error, decided by ``error.code``.

The one owner of Meta's error codes: the send engine, the summary and the
reports ask this module what a code means.

Meta answers 400 for nearly everything, throttling included, and third-party
copies of its table disagree about the HTTP status, so the status is used only
when there is no error body at all (a 5xx from a proxy, a dropped connection).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

from ..messages import MissingMessage, t


class Action(Enum):
    RETRY = "retry"              # transient: back off exponentially, bounded
    THROUGHPUT = "throughput"    # 130429: retry, and slow the global rate down
    PAIR_RATE = "pair_rate"      # 131056: this citizen only; retry after 4^X s
    RETRY_LATER = "retry_later"  # 131049: failed now, sent again by a run 24 h later
    PERMANENT = "permanent"      # this message can never succeed as sent
    STOP = "stop"                # the account or the number: stop the whole run


# 1 is "unknown, possibly a server error": a few retries, then it fails like a bad request.
RETRY_CODES = frozenset({1, 2, 4, 80007, 131000, 131016, 131057, 133004})
STOP_CODES = frozenset(
    {0, 3, 10, 190, 368, 131005, 131031, 130497, 131042, 131048, 132015, 132016}
    | set(range(200, 300))  # permission errors
)
RETRY_LATER_CODES = frozenset({131049})

# Permanent errors about the request body itself (template not found, wrong parameter
# count, invalid parameter): the same body fails for every recipient, so the engine
# halts that announcement after a few instead of failing the whole audience.
PAYLOAD_CODES = frozenset({100, 131008, 131009, 132000, 132001, 132005, 132007, 132012,
                           132018, 135000})

# What Meta answers a send whose template is not approved, by the template's status
# (132001 "template does not exist" for one never approved: rejected, pending).
TEMPLATE_STATUS_CODES = {"PAUSED": 132015, "DISABLED": 132016}
TEMPLATE_NOT_APPROVED = 132001

# Seconds before the first retry of a code that needs a long pause, not a quick one.
FIRST_WAIT = {4: 60.0, 80007: 60.0, 131057: 60.0}

# How long a delivery that failed with a RETRY_LATER code must wait.
RETRY_LATER_AFTER_S = 24 * 3600

# Stand-in codes for failures with no Meta error body.
HTTP_ERROR = -1        # an HTTP status without a usable error body
CONNECTION_ERROR = -2  # timeout, refused or dropped connection
INTERNAL_ERROR = -3    # a bug in the send engine (the delivery's outcome is kept)
# No verdict from Meta: the request may or may not have been taken (a 504 from a
# proxy, an answer lost with its connection). Every other error is Meta refusing it.
NO_ANSWER_CODES = frozenset({HTTP_ERROR, CONNECTION_ERROR})

# Failures worth another try: retries that ran out in an outage (the next run puts
# them back in the queue by itself), and payload errors (`send --retry-failed`, once
# the template or parameters are fixed).
TRANSIENT_CODES = frozenset(RETRY_CODES | PAYLOAD_CODES
                            | {130429, 131056, CONNECTION_ERROR, HTTP_ERROR})


@dataclass(frozen=True, slots=True)
class ApiError:
    """An error answer from the API (or the transport), reduced to what decides the action."""

    code: int
    title: str
    http_status: int | None = None
    details: str = ""
    retry_after: float | None = None  # seconds, when the answer carried Retry-After

    @property
    def action(self) -> Action:
        return classify(self.code, self.http_status)


def classify(code: int, http_status: int | None = None) -> Action:
    """The action for an error ``code``; ``http_status`` matters only without a Meta code."""
    if code == 130429:
        return Action.THROUGHPUT
    if code == 131056:
        return Action.PAIR_RATE
    if code in STOP_CODES:
        return Action.STOP
    if code in RETRY_LATER_CODES:
        return Action.RETRY_LATER
    if code in RETRY_CODES or code == CONNECTION_ERROR:
        return Action.RETRY
    if code == HTTP_ERROR:
        # No Meta body: a 5xx or 429 from something in between is worth another try.
        if http_status is not None and (http_status >= 500 or http_status == 429):
            return Action.RETRY
        return Action.PERMANENT
    return Action.PERMANENT


def parse_error(http_status: int, body: object, retry_after: str | None = None) -> ApiError:
    """Read Meta's ``{"error": {...}}`` body; anything else becomes an HTTP_ERROR.

    ``Retry-After`` is not documented for the Cloud API, but honoured if it ever comes.
    """
    try:
        after = float(retry_after) if retry_after else None
    except ValueError:
        after = None  # an HTTP date: rare enough to fall back to our own backoff
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or not isinstance(error.get("code"), int):
        return ApiError(HTTP_ERROR, f"HTTP {http_status}", http_status, retry_after=after)
    data = error.get("error_data")
    details = data.get("details", "") if isinstance(data, dict) else ""
    title = str(error.get("message") or error.get("title") or "")
    return ApiError(error["code"], title, http_status, str(details), after)


@dataclass(frozen=True, slots=True)
class Result:
    wamid: str | None = None
    error: ApiError | None = None


def advice(code: int) -> str:
    """Which advice (``send.advice-*`` in the catalogue) fits an error that stopped a run."""
    if code in (0, 190):
        return "token"
    if code in (131042,):
        return "payment"
    if code in (131048, 132015, 132016):
        return "quality"
    if code in (368, 131031, 130497):
        return "blocked"
    return "permission"


def meaning(code: int | float | str | None) -> str:
    """What an error code means, in words for the mayor's office (``reports.error.*``)."""
    if code is None or (isinstance(code, float) and math.isnan(code)):
        return t("reports.error.none")
    code = int(code)
    if 200 <= code <= 299:  # Meta's permission range
        return t("reports.error.200-299")
    try:
        return t(f"reports.error.{code}")
    except MissingMessage:
        return t("reports.error.unknown")



def skip_meaning(word: str | int | None) -> str:
    """Why a delivery was skipped, in words: the runner's own reasons for not making one
    (``runner.vocabulary.SKIP_REASONS``), beside Meta's codes of :func:`meaning`."""
    try:
        return t(f"send.reason.{word}")
    except MissingMessage:
        return t("send.reason.unknown") if not word else str(word)
