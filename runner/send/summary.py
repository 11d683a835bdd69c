"""What a send did, for staff: the summary object, the text ``send`` prints and the
job summary on GitHub. Every delivery not made is counted with its reason (skipped:
the vocabulary's word; failed: Meta's code), and an emergency that missed an active
subscriber is named with the count. Citizens appear only as counts: no number is
ever shown."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..announcements.counts_file import Reach
from ..announcements.review import human_duration
from ..messages import t
from ..vocabulary import SKIPPED
from ..whatsapp.answers import meaning, skip_meaning
from .results import AnnouncementPlan, LeftOut, PlanSummary, Settled
from .settle import AMBIGUOUS_WAIT


@dataclass
class SendSummary:
    """What a send did: the steps' results (settled, plan, announcements, left_out),
    the engine's figures, and the table per announcement, put together by the manager."""

    transport: str
    dry_run: bool = False
    settled: Settled = field(default_factory=Settled)
    plan: PlanSummary = field(default_factory=PlanSummary)
    announcements: list[AnnouncementPlan] = field(default_factory=list)
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    retries: int = 0
    throttled: int = 0
    requeued_failed: int = 0
    failures: Counter = field(default_factory=Counter)  # (code, title) -> count
    stopped: str | None = None
    elapsed: float = 0.0
    rate: float = 0.0
    # per announcement (or reply kind): audience, sent, delivered/read, failed, queued, skipped
    table: list[tuple] = field(default_factory=list)
    configured_rate: float = 0.0
    paced_rate: float = 0.0  # the rate the pacer ended at (lower: Meta's ceiling)
    slowest_rate: float = 0.0  # the lowest it went to
    backoffs: list[float] = field(default_factory=list)  # retry waits (the last 1,000)
    send_elapsed: float = 0.0  # wall and process CPU seconds of the sending phase alone
    send_cpu: float = 0.0
    replies_queued: int = 0
    # announcement (or reply kind) -> why it was halted: Meta rejected the body itself
    halted: dict[str, str] = field(default_factory=dict)
    skipped_by: Counter = field(default_factory=Counter)  # (kind, reason) -> skipped now
    left_out: list[LeftOut] = field(default_factory=list)  # emergencies that missed someone

    @property
    def exit_code(self) -> int:
        if self.stopped:
            return 2
        return 1 if self.failed or self.halted or self.left_out else 0


# One way to say a duration, for the reviewer's estimate and the dry run alike.
_duration = human_duration


def report(summary: SendSummary) -> str:
    """What `send` prints. Citizens appear only as counts: no number is ever shown."""
    lines = _settled(summary.settled)
    plan = summary.plan
    planned = ", ".join(f"{k} +{v}" for k, v in plan.planned.items()) or "-"
    lines.append(t("send.planned", planned=planned, cancelled=plan.cancelled,
                   expired=plan.expired, requeued=summary.requeued_failed))
    if summary.dry_run:
        lines.append(t("send.dry-run-title", transport=summary.transport))
        rate = summary.configured_rate
        for ann in summary.announcements:
            lines.append(t("send.dry-run-announcement", id=ann.id, title=ann.title,
                           urgency=ann.urgency, audience=ann.audience,
                           duration=_duration(ann.audience / rate), rate=f"{rate:g}",
                           held=f" ({ann.note.strip()})" if ann.held else ""))
            if ann.reach is not None:
                lines.append(reach_line(ann.reach))
            lines.extend("   | " + line for line in ann.preview.split("\n"))
        lines.append(t("send.dry-run-replies", count=summary.replies_queued))
        lines.extend(_skipped(summary))
        lines.extend(left_out_lines(summary.left_out))
        return "\n".join(lines)
    lines.append(t("send.summary-title", transport=summary.transport, sent=summary.sent,
                   failed=summary.failed, skipped=summary.skipped,
                   elapsed=f"{summary.elapsed:.1f}", rate=f"{summary.rate:.1f}",
                   retries=summary.retries, throttled=summary.throttled))
    for (code, title), count in summary.failures.most_common():
        lines.append(t("send.failure-line", code=code, title=title, count=count))
    lines.extend(_skipped(summary))
    if summary.throttled:
        lines.append(t("send.throttled-rate", throttled=summary.throttled,
                       rate=f"{summary.paced_rate:.0f}", configured=f"{summary.configured_rate:g}"))
    for ann in summary.announcements:
        if ann.held:
            lines.append(f"{ann.id}: {ann.note.strip()}")
    for key, note in summary.halted.items():
        lines.append(f"{key}: {note}")
    if summary.table:
        lines.extend(markdown_table(summary))
    lines.extend(left_out_lines(summary.left_out))
    if summary.stopped:
        lines.append(summary.stopped)
    elif summary.failed:
        lines.append(t("send.failed-exit"))
    return "\n".join(lines)


def reasons_text(counts: dict[str, int]) -> str:
    """``2 per <reason>, 1 per <reason>``: skip reasons in words, most first."""
    return ", ".join(t("send.reason-count", count=n, reason=skip_meaning(word))
                     for word, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def reach_line(reach: Reach) -> str:
    """An audience's figures, as the dry run shows them."""
    unreachable = (t("send.unreachable", reasons=reasons_text(reach.unreachable))
                   if reach.unreachable else "")
    return t("send.reach", members=reach.members, reachable=reach.reachable,
             unreachable=unreachable)


def _skipped(summary: SendSummary) -> list[str]:
    return [t("send.skipped-line", kind=kind, count=count, reason=skip_meaning(reason))
            for (kind, reason), count in sorted(summary.skipped_by.items(),
                                                key=lambda kv: (-kv[1], kv[0]))]


def left_out_lines(left: list[LeftOut]) -> list[str]:
    """One line per emergency that left active subscribers without it, with the reasons."""
    by: dict[str, list[LeftOut]] = {}
    for row in left:
        by.setdefault(row.announcement_id, []).append(row)
    lines = []
    for ann, rows in by.items():
        reasons = ", ".join(
            t("send.left-out-skipped", count=r.count, reason=skip_meaning(r.reason))
            if r.state == SKIPPED else
            t("send.left-out-failed", count=r.count, code=r.reason, meaning=meaning(r.reason))
            for r in rows)
        lines.append(t("send.left-out", id=ann, count=sum(r.count for r in rows),
                       reasons=reasons))
    return lines


def _settled(settled: Settled) -> list[str]:
    lines = []
    if settled.ambiguous:
        lines.append(t("send.ambiguous", ambiguous=settled.ambiguous,
                       settled=max(0, settled.ambiguous - settled.requeued - settled.awaiting),
                       requeued=settled.requeued))
    if settled.awaiting:
        lines.append(t("send.awaiting-statuses", count=settled.awaiting,
                       minutes=int(AMBIGUOUS_WAIT.total_seconds() // 60)))
    return lines


def markdown_table(summary: SendSummary) -> list[str]:
    rows = [t("send.table-header"), "|---|--:|--:|--:|--:|--:|--:|"]
    rows += ["| " + " | ".join(str(v) for v in row) + " |" for row in summary.table]
    return rows


def write_step_summary(summary: SendSummary, environ: Mapping[str, str]) -> None:
    """Append the summary to GITHUB_STEP_SUMMARY when GitHub Actions sets it."""
    path = environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return
    with open(path, "a", encoding="utf-8") as fh:
        fh.write("## " + t("send.summary-title", transport=summary.transport,
                             sent=summary.sent, failed=summary.failed, skipped=summary.skipped,
                             elapsed=f"{summary.elapsed:.1f}", rate=f"{summary.rate:.1f}",
                             retries=summary.retries, throttled=summary.throttled) + "\n\n")
        if summary.table:
            fh.write("\n".join(markdown_table(summary)) + "\n\n")
        for (code, title), count in summary.failures.most_common():
            fh.write(f"- {t('send.failure-line', code=code, title=title, count=count).strip()}\n")
        for line in _skipped(summary):
            fh.write(f"- {line.strip()}\n")
        for line in left_out_lines(summary.left_out):
            fh.write(f"\n> ⚠️ {line}\n")
        if summary.stopped:
            fh.write(f"\n> {summary.stopped}\n")
