"""The pipeline CI runs: sync the webhook logs, validate the announcements, send what is due.

Sync comes first because validation reads what it stores: the template states
Meta announced by webhook (a template paused or re-approved since the last run
decides this run, not the next one). A bad announcement is reported and never
sent, but does not stop the others. ``send`` on its own validates first too: only
what passes is handed to the send stage.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from .announcements.report import report_result
from .announcements.validate import check
from .channels.mirror import mirror
from .channels.telegram import configured
from .messages import t, tn
from .send import SendSummary, report, send
from .send.counts import write_counts
from .subscribers.sync import sync

if TYPE_CHECKING:
    from .config import Settings


def send_valid(settings: Settings, environ: Mapping[str, str], *, dry_run: bool = False,
               retry_failed: bool = False) -> SendSummary:
    """``send``: what passes validation, sent (problems are for ``validate`` to show)."""
    return send(settings, check(settings).valid, dry_run=dry_run, retry_failed=retry_failed,
                environ=environ)


def run(settings: Settings, environ: Mapping[str, str],
        emit: Callable[[str], object] = print) -> int:
    """What CI runs. The exit code is the worst of the steps (1: problems, failed
    deliveries or posts, 2: the run was stopped by an account-level error). The
    Telegram mirror, when configured, follows the send: it posts only what went out."""
    # Sync before validating: the template states validate and send decide on are
    # the ones this sync stored (validating first used the previous run's).
    emit(t("send.run-sync"))
    emit("\n".join(sync(settings, environ=environ).lines_text()))
    result = check(settings)
    fmt = "github" if environ.get("GITHUB_ACTIONS") == "true" else "text"
    text = report_result(result, settings, fmt, environ)
    emit(t("review.run-validate", checked=tn("count.checked", len(result.checked)),
           valid=tn("count.valid", len(result.valid)),
           problems=tn("count.problem", len(result.errors))))
    if text.strip():
        emit(text)
    emit(t("send.run-send"))
    summary = send(settings, result.valid, environ=environ)
    emit(report(summary))
    for plan in summary.announcements:  # what citizens saw, as they saw it
        emit(t("review.run-bubble", id=plan.id) + "\n" + plan.preview)
    # Counts only, for the next pull request's reviewer (the send workflow publishes it).
    emit(t("review.counts-written", path=write_counts(settings)))
    if not configured(settings):
        return max(result.exit_code, summary.exit_code)
    posts = mirror(settings, result.valid)
    emit("\n".join(posts.lines()))
    return max(result.exit_code, summary.exit_code, posts.exit_code)
