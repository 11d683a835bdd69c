"""What the reviewer needs before approving: the block in the step summary and in the
pull request's comment, per announcement under review.

When it goes out (publish time, the wait for quiet hours, expiry), category and
urgency, the template and its category, the audience (from the counts-only file
the send workflow publishes, :mod:`.counts_file`: the subscribers of the category's
topic, the original's recipients for a correction or withdrawal; the staff test
group for a drill; how many of them cannot be reached, and why; the date of the
figures, marked when older than a day), the estimated duration at the number's
rate and cost at the template category's price (``prices``) of those reached, the
week's cap with the announcements that use it, and a warning when the change
edits an announcement that already went out. Figures only: no personal data
exists here.

A file with errors is never sent: its block says so instead of when it goes out,
and it takes no place in its week's cap. What comes from the file (title, id,
category) is shown inert (:mod:`.escape`): the comment is posted under the bot's name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from ..messages import MissingMessage, dates, t, tn
from ..whatsapp.answers import skip_meaning
from . import escape
from .catalogue import known_templates
from .counts_file import Counts, Reach, read_counts
from .schedule import goes_out_at
from .weekly_cap import week_of

if TYPE_CHECKING:
    from ..config import Settings
    from .model import Announcement
    from .results import CheckResult

OLD_AFTER_DAYS = 1.0  # counts older than this are marked as old in the block


def human_duration(seconds: float) -> str:
    """0.5 s, 42 s, 3 min 05 s, 2 h 10 min."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


@dataclass
class Review:
    """The figures of one announcement under review."""

    file: str
    id: str
    title: str
    category: str
    urgency: str
    publish_at: datetime | None
    goes_out_at: datetime | None
    expires_at: datetime | None
    template: str | None = None
    template_category: str | None = None
    audience: int | None = None  # None: not known yet (no counts published)
    audience_of: str = "active"  # active | category | original | drill
    unreachable: dict[str, int] = field(default_factory=dict)  # reason -> citizens
    capped: bool = True  # counted against the weekly cap
    counts_at: str | None = None
    counts_age_days: float | None = None
    seconds: float | None = None
    cost: float | None = None
    week: str | None = None
    week_used: int = 0
    week_ids: list[str] = field(default_factory=list)
    already_sent: int = 0
    blocked: bool = False  # it has errors: it does not go out until they are fixed

    @property
    def waits_for_quiet_hours(self) -> bool:
        return self.goes_out_at is not None and self.goes_out_at != self.publish_at


def review(ann: Announcement, result: CheckResult, settings: Settings) -> Review:
    counts = read_counts(settings)
    rendered = result.rendered_for(ann)
    r = Review(ann.file, ann.id, ann.title, ann.category, ann.urgency,
               ann.effective_publish_at, goes_out_at(ann, settings, ann.id in result.urgent),
               ann.effective_expires_at,
               counts_at=counts.generated_at, already_sent=counts.sent.get(ann.id, 0),
               counts_age_days=counts.age_days(settings.current_time()))
    reach, r.audience_of = _audience(ann, counts, settings)
    if reach is not None:
        r.audience, r.unreachable = reach.members, dict(reach.unreachable)
    r.blocked = any(p.file == ann.file for p in result.errors)
    if rendered is not None and rendered.template is not None:
        r.template = rendered.template
        tpl = known_templates(settings).get(rendered.template, rendered.language)
        r.template_category = tpl.category if tpl else settings.templates[r.template].category
    if r.audience is not None:  # what is sent, and paid for: those who can be reached
        reached = r.audience - sum(r.unreachable.values())
        r.seconds = reached / settings.rate_per_second
        price = settings.prices.get(r.template_category or "")
        r.cost = reached * price if price is not None else None
    r.week = week_of(ann, settings)
    # Only what the cap counts is in its week: emergencies, their corrections and
    # withdrawals, and drills are not.
    r.capped = ann.id in result.weeks.get(r.week or "", [])
    if r.week and r.capped:
        r.week_ids = result.weeks.get(r.week, [])
        r.week_used = result.budget.get(r.week, 0)
    return r


def _audience(ann: Announcement, counts: Counts,
              settings: Settings) -> tuple[Reach | None, str]:
    """Who it goes to, as the send stage computed it (runner.send.audience): the staff
    test group for a drill, the original's recipients still subscribed for a correction
    or withdrawal, else the category's audience (its topic's subscribers; everyone for
    an emergency or mandatory category)."""
    if ann.is_drill:
        return Reach(len(settings.test_recipients)), "drill"
    if ann.references:
        if not counts.known:
            return None, "original"
        # (a file from before "received": everyone who received it)
        return counts.received.get(ann.references,
                                   Reach(counts.sent.get(ann.references, 0))), "original"
    if ann.category in counts.audiences:
        return counts.audiences[ann.category], "category"
    return (Reach(counts.active) if counts.active is not None else None), "active"


def _when(moment: datetime | None, settings: Settings) -> str:
    return moment.astimezone(settings.tz).strftime("%d/%m/%Y %H:%M") if moment else "-"


def _meta_category(category: str | None) -> str:
    """Meta's template category as staff read it: «di servizio (UTILITY)»."""
    try:
        return t(f"review.meta-category.{category}")
    except MissingMessage:
        return category or "?"


def _money(amount: float, currency: str) -> str:
    return f"≈ {amount:,.2f} {currency}".replace(",", "·").replace(".", ",").replace("·", ".")


def review_lines(r: Review, settings: Settings) -> list[str]:
    """The block of one announcement, in Markdown."""
    rows = []
    when = _when(r.publish_at, settings)
    if r.waits_for_quiet_hours:
        when = t("review.quiet-wait", publish=when, out=_when(r.goes_out_at, settings))
    if r.blocked:
        when = t("review.blocked", publish=_when(r.publish_at, settings))
    rows.append((t("review.when"), when))
    rows.append((t("review.expires"), _when(r.expires_at, settings)))
    rows.append((t("review.category"), f"{escape.text(r.category or '-')} · "
                 f"{t(f'review.urgency-{r.urgency}')}"))
    rows.append((t("review.template"), f"{escape.code(r.template)} · "
                 f"{r.template_category or '?'}" if r.template else t("review.no-template")))
    if r.audience is None:
        rows.append((t("review.audience"), t("review.audience-unknown",
                                             file=settings.counts_file)))
    else:
        key = {"active": "review.audience-known", "category": "review.audience-category",
               "original": "review.audience-original", "drill": "review.audience-drill"}
        audience = tn(key[r.audience_of], r.audience, at=r.counts_at or "?",
                      category=r.category)
        if r.unreachable:
            reasons = ", ".join(t("send.reason-count", count=n, reason=skip_meaning(why))
                                for why, n in sorted(r.unreachable.items()))
            audience += "; " + tn("review.audience-unreachable", sum(r.unreachable.values()),
                                  reasons=reasons)
        age = r.counts_age_days
        if age is not None and age > OLD_AFTER_DAYS:
            audience += " " + t("review.counts-old", at=r.counts_at, days=int(age))
        rows.append((t("review.audience"), audience))
        rows.append((t("review.duration"), t("review.duration-value",
                                             duration=human_duration(r.seconds or 0),
                                             rate=f"{settings.rate_per_second:g}")))
        kind = _meta_category(r.template_category)
        rows.append((t("review.cost"), t("review.cost-value", cost=_money(
            r.cost, settings.price_currency), category=kind)
            if r.cost is not None else t("review.cost-unknown", category=kind)))
    if r.audience_of == "drill":
        rows.append((t("review.week"), t("review.week-drill")))
    elif r.blocked and not r.capped:
        rows.append((t("review.week"), t("review.week-blocked")))
    elif not r.capped:
        rows.append((t("review.week"), t("review.week-emergency")))
    elif r.week:
        over = " ⚠️" if r.week_used > settings.weekly_cap else ""
        rows.append((t("review.week-of", week=dates.week(r.week)),
                     f"{r.week_used}/{settings.weekly_cap}{over}: "
                     + ", ".join(escape.code(i) for i in r.week_ids)))
    out = [f"#### {escape.code(r.id)} — {escape.text(r.title)}", "",
           f"| | {t('review.value')} |", "|---|---|"]
    out += [f"| {k} | {v} |" for k, v in rows]
    out.append("")
    # What the reviewer should know before approving: not a problem to fix, so here
    # and not among the problems.
    if r.already_sent:
        out += [f"> ⚠️ {tn('review.already-sent', r.already_sent)}", ""]
    if r.week and r.week_used > settings.weekly_cap and r.capped:
        over = t("review.over-cap", week=dates.week(r.week), used=r.week_used,
                 cap=settings.weekly_cap)
        out += [f"> ⚠️ {over}", ""]
    return out


def review_block(result: CheckResult, settings: Settings) -> str:
    """The reviewer's block for every announcement under review (Markdown)."""
    if not result.reviewed or not result.checked:
        return ""
    out = [f"### {t('review.title')}", ""]
    for ann in result.checked:
        out += review_lines(review(ann, result, settings), settings)
    return "\n".join(out)
