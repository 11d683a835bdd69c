"""The town's policy: one small generator per rule, each yielding Problems.

A rule is ``rule(announcement, ctx)`` registered with ``@rule("rule-id")``; it
yields :class:`~runner.problems.Problem` with the file, line and a message from
the catalogue (``policy.*``) that says how to fix it. ``ctx`` holds what a rule
may need beyond the file: the settings, the repository root, the whole repo's
announcements (duplicate ids, the weekly cap) and the rendered messages.

Rule ids (reading the file adds ``schema``, ``yaml-syntax``, ``encoding``,
``empty-file``, ``front-matter-missing``, ``front-matter-unterminated``,
``front-matter-not-mapping``, ``file-too-large``, ``file-unreadable``):

category, emergency-category, weekly-cap, expiry, expired, file-name, file-date,
year-folder, duplicate-id, template, template-header, length, media,
link-domain, personal-data.
"""

from __future__ import annotations

import difflib
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from .announcement import Announcement, file_date
from .messages import t
from .problems import Problem
from .render import MEDIA_MAX_BYTES, MEDIA_TYPES, Rendered, RenderError, resolve_media

RULES: list[tuple[str, Callable]] = []
# What each rule needs and when it applies: "content" only the title and body;
# "file" the whole file; "repo" every announcement in the repository (checked after
# all files are read); "always" applies to history too; "review" only to the files
# named on the command line (a pull request's files).
SCOPES: dict[str, set[str]] = {
    "content": set(), "file": set(), "repo": set(), "always": set(), "review": set()}


def rule(rule_id: str, scope: str = "file"):
    def register(func):
        func.rule_id = rule_id
        RULES.append((rule_id, func))
        SCOPES[scope].add(rule_id)
        return func

    return register


@dataclass
class Context:
    settings: object
    root: Path
    announcements: list[Announcement] = field(default_factory=list)  # the whole repo
    rendered: dict[str, Rendered | RenderError] = field(default_factory=dict)
    id_files: dict[str, list[str]] = field(default_factory=dict)
    week_rank: dict[str, tuple[str, int]] = field(default_factory=dict)
    budget: dict[str, int] = field(default_factory=dict)
    now: datetime | None = None

    @classmethod
    def build(cls, settings, announcements: list[Announcement], root: Path | None = None,
              newcomers: set[str] = frozenset()):
        """``newcomers``: files under review; they take the weekly budget last, so a
        pull request is told when its file does not fit in an already full week."""
        ctx = cls(settings, (root or Path.cwd()).resolve(), announcements,
                  now=settings.current_time())
        files: dict[str, list[str]] = defaultdict(list)
        for ann in announcements:
            files[ann.id].append(ann.file)
        ctx.id_files = dict(files)
        ctx.week_rank, ctx.budget = weekly_counts(announcements, settings, newcomers)
        return ctx


def problem(ann: Announcement, rule_id: str, key: str, where: str | int | None = None,
            col: int = 1, **values) -> Problem:
    """A Problem at a front-matter key (``where`` a str) or at a line (an int)."""
    line = where if isinstance(where, int) else ann.line(where)
    return Problem(ann.file, line, col, rule_id, t(f"policy.{key}", **values))


def run_rules(ann: Announcement, ctx: Context, *scopes: str) -> Iterator[Problem]:
    """Problems from the rules of ``scopes`` (default: all of them)."""
    wanted = set().union(*(SCOPES[s] for s in scopes)) if scopes else None
    for rule_id, func in RULES:
        if wanted is None or rule_id in wanted:
            yield from func(ann, ctx)


def is_history(ann: Announcement, now: datetime) -> bool:
    """Expired: it can never be sent again, so only reading errors and its id matter.

    A policy change (a lower weekly cap, a category removed) must not turn years of
    history into errors that block every new pull request."""
    end = ann.effective_expires_at
    return end is not None and end <= now


def week_of(ann: Announcement, settings) -> str | None:
    start = ann.effective_publish_at
    if start is None:
        return None
    year, week, _ = start.astimezone(settings.tz).isocalendar()
    return f"{year}-W{week:02d}"


def weekly_counts(announcements, settings, newcomers: set[str] = frozenset()):
    """Rank of each non-emergency announcement in its ISO week (town time), and totals."""
    by_week: dict[str, list[Announcement]] = defaultdict(list)
    for ann in announcements:
        week = week_of(ann, settings)
        # Cancelled ones still count: they may already have been sent.
        if week and ann.urgency != "emergency":
            by_week[week].append(ann)
    ranks = {}
    for week, anns in by_week.items():
        anns.sort(key=lambda a: (a.file in newcomers, a.effective_publish_at, a.id))
        for i, ann in enumerate(anns, 1):
            ranks[ann.file] = (week, i)
    return ranks, {week: len(anns) for week, anns in sorted(by_week.items())}


# --- the rules -----------------------------------------------------------------------
@rule("category")
def category_known(ann, ctx):
    allowed = ctx.settings.categories
    if ann.category not in allowed:
        close = difflib.get_close_matches(ann.category, allowed, n=1, cutoff=0.6)
        hint = t("announcement.did-you-mean", suggestion=close[0]) if close else ""
        yield problem(ann, "category", "category-unknown", "category",
                      value=ann.category, allowed=", ".join(allowed), hint=hint)


@rule("emergency-category")
def emergency_only_where_allowed(ann, ctx):
    allowed = ctx.settings.emergency_categories
    if ann.urgency == "emergency" and ann.category not in allowed:
        yield problem(ann, "emergency-category", "emergency-category", "urgency",
                      category=ann.category, allowed=", ".join(allowed))


@rule("weekly-cap", scope="repo")
def weekly_cap(ann, ctx):
    week, rank = ctx.week_rank.get(ann.file, (None, 0))
    cap = ctx.settings.weekly_cap
    if week and rank > cap:
        yield problem(ann, "weekly-cap", "weekly-cap",
                      "publish_at" if ann.publish_at else None,
                      week=week, rank=rank, cap=cap, total=ctx.budget[week])


@rule("expiry")
def expires_after_publish(ann, ctx):
    start, end = ann.effective_publish_at, ann.expires_at
    if start is not None and end is not None and end <= start:
        yield problem(ann, "expiry", "expiry", "expires_at",
                      expires=end.isoformat(), publish=start.isoformat())


@rule("expired", scope="review")
def not_expired_on_arrival(ann, ctx):
    if ctx.now is not None and is_history(ann, ctx.now):
        end = ann.effective_expires_at.astimezone(ctx.settings.tz)
        yield problem(ann, "expired", "expired", "expires_at" if ann.expires_at else None,
                      expires=end.strftime("%Y-%m-%d %H:%M"))


@rule("file-name")
def file_name(ann, ctx):
    if file_date(ann.path) is None:
        yield problem(ann, "file-name", "file-name", 1, name=ann.path.name)


@rule("file-date")
def file_date_matches(ann, ctx):
    day = file_date(ann.path)
    if day and ann.publish_at is not None:
        published = ann.publish_at.astimezone(ctx.settings.tz).date()
        if published != day:
            yield problem(ann, "file-date", "file-date", "publish_at",
                          name=ann.path.name, day=day.isoformat(), publish=published.isoformat())


@rule("year-folder")
def year_folder(ann, ctx):
    day = file_date(ann.path)
    if day and ann.path.parent.name != str(day.year):
        yield problem(ann, "year-folder", "year-folder", 1,
                      folder=ann.path.parent.name, year=day.year)


@rule("duplicate-id", scope="always")
def duplicate_id(ann, ctx):
    others = [f for f in ctx.id_files.get(ann.id, []) if f != ann.file]
    if others:
        yield problem(ann, "duplicate-id", "duplicate-id", 1, id=ann.id, others=", ".join(others))


@rule("template")
def template_usable(ann, ctx):
    rendered = ctx.rendered.get(ann.file)
    if isinstance(rendered, RenderError):
        yield problem(ann, "template", "render-failed", "template", detail=rendered.message())
        return
    if rendered is None or rendered.template is None:
        return
    for i, (source, value) in enumerate(zip(rendered.sources, rendered.parameters, strict=True), 1):
        if not value:
            yield problem(ann, "template", "param-empty", _line_of(ann, source),
                          n=i, source=source, template=rendered.template)


@rule("template-header")
def template_header(ann, ctx):
    rendered = ctx.rendered.get(ann.file)
    if not isinstance(rendered, Rendered) or rendered.template is None:
        return
    expected = ctx.settings.templates[rendered.template].header
    media = rendered.header
    name = rendered.template
    if expected in ("none", "text") and media is not None:
        yield problem(ann, "template-header", "header-unused", "media", template=name)
    elif expected not in ("none", "text") and media is None:
        yield problem(ann, "template-header", "header-missing", "template",
                      template=name, kind=expected)
    elif expected not in ("none", "text") and media.kind and media.kind != expected:
        yield problem(ann, "template-header", "header-kind", "media",
                      template=name, kind=expected, found=media.kind)


@rule("length")
def whatsapp_lengths(ann, ctx):
    rendered = ctx.rendered.get(ann.file)
    if not isinstance(rendered, Rendered):
        return
    for limit in rendered.limits():
        if not limit.ok:
            yield problem(ann, "length", "too-long", _line_of(ann, limit.source),
                          what=limit.label, length=limit.length, limit=limit.limit,
                          over=limit.length - limit.limit)


def _line_of(ann: Announcement, source: str | None) -> int:
    return ann.line("title") if source == "title" else ann.body_line


# --- media -------------------------------------------------------------------------
_SIGNATURES = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "application/pdf": (b"%PDF",),
}


@rule("media")
def media_file(ann, ctx):
    media = resolve_media(ann.media, ctx.root)
    if media is None:
        return
    where = "media"
    if media.url is not None:
        host = (urlsplit(media.url).hostname or "").lower()
        if not media.url.lower().startswith("https://"):
            yield problem(ann, "media", "media-not-https", where, url=media.url)
        elif not domain_allowed(host, ctx.settings.link_domains()):
            yield problem(ann, "media", "media-domain", where, host=host,
                          allowed=", ".join(ctx.settings.link_domains()))
        if media.kind is None:
            yield problem(ann, "media", "media-type", where, name=media.source,
                          allowed=_allowed_types())
        return
    path = media.path.resolve()
    if not path.is_relative_to(ctx.root):
        yield problem(ann, "media", "media-outside-repo", where, name=media.source)
        return
    if not path.is_file():
        yield problem(ann, "media", "media-missing", where, name=media.source)
        return
    if media.kind is None:
        yield problem(ann, "media", "media-type", where, name=media.source,
                      allowed=_allowed_types())
        return
    size = path.stat().st_size
    limit = MEDIA_MAX_BYTES[media.kind]
    if size > limit:
        yield problem(ann, "media", "media-size", where, name=media.source,
                      size=f"{size / 1024**2:.1f}", limit=limit // 1024**2, kind=media.kind)
        return
    with path.open("rb") as fh:
        head = fh.read(32)
    if not head.startswith(_SIGNATURES.get(media.mime, (b"",))):
        yield problem(ann, "media", "media-content", where, name=media.source, mime=media.mime)
    elif media.mime == "image/png" and not (head[24] == 8 and head[25] in (2, 6)):
        # WhatsApp takes 8-bit RGB or RGBA PNGs; palette or 16-bit images are refused.
        yield problem(ann, "media", "media-png-format", where, name=media.source)


def _allowed_types() -> str:
    return " ".join(sorted(MEDIA_TYPES))


# --- links -----------------------------------------------------------------------------
_URL = re.compile(r"(?i)\b(?:https?://|www\.)[^\s<>()\[\]\"'`]+")
# WhatsApp also makes a link of a bare "name.it/page": domains under the endings a
# citizen meets (not "Sig.ra" or "modulo.pdf"); not after "@", where it is an e-mail.
_BARE = re.compile(
    r"(?i)(?<![@\w.-])(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+"
    r"(?:it|eu|com|org|net|info|gov|edu|io|me|ly|gl|app|link|online|site|biz)"
    r"(?![\w-])(?:/[^\s<>()\[\]\"'`]*)?")
_MD_HREF = re.compile(r"\]\(\s*<?([^)\s>]*)")
_TRAILING = ".,;:!?*_~"


def domain_allowed(host: str, domains: list[str]) -> bool:
    host = host.lower().rstrip(".")
    return any(host == d.lower() or host.endswith("." + d.lower()) for d in domains)


@rule("link-domain", scope="content")
def links_allowed(ann, ctx):
    domains = ctx.settings.link_domains()
    for text, base in _texts(ann):
        for start, url in _links(text):
            full = url if "://" in url else "https://" + url
            host = urlsplit(full).hostname or ""
            if not domain_allowed(host, domains):
                line, col = _position(text, start, base)
                yield problem(ann, "link-domain", "link-domain", line, col, url=url,
                              host=host, allowed=", ".join(domains))
        for match in _MD_HREF.finditer(text):
            href = match.group(1)
            if not re.match(r"(?i)^(?:https?://|mailto:|tel:)", href):
                line, col = _position(text, match.start(1), base)
                yield problem(ann, "link-domain", "link-relative", line, col, href=href)


def _links(text: str):
    """(offset, address) of every link in the text: full, www. and bare domains."""
    taken = []
    for match in _URL.finditer(text):
        taken.append(match.span())
        yield match.start(), match.group(0).rstrip(_TRAILING)
    for match in _BARE.finditer(text):
        if not any(a <= match.start() < b for a, b in taken):
            yield match.start(), match.group(0).rstrip(_TRAILING)


def _texts(ann: Announcement):
    """The texts a citizen reads, with the line where each starts."""
    yield ann.title, ann.line("title")
    yield ann.body, ann.body_line


def _position(text: str, offset: int, base_line: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset)
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return base_line + line, col


# --- personal data ---------------------------------------------------------------------
_PHONE = re.compile(r"(?<![\w.,/+-])(?:\+|00)?\d[\d .\-/]{4,}\d(?![\w])")
_DATE_LIKE = re.compile(r"^(?:\d{1,2}[./-]\d{1,2}[./-]\d{2,4}|\d{4}-\d{2}-\d{2})$")
_THOUSANDS = re.compile(r"^\d{1,3}(?:\.\d{3})+$")
_NOT_A_PHONE_BEFORE = re.compile(
    r"(?i)(?:p\.?\s?iva|partita\s+iva|c\.?\s?f\.?|codice\s+fiscale|cod\.\s*fisc\.?|cig|cup|"
    r"prot(?:ocollo)?\.?(?:\s*n\.?)?|n\.\s*reg\.?)\s*[:.]?\s*$")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@((?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,})")
_CF = re.compile(
    r"(?i)\b[A-Z]{6}[0-9LMNPQRSTUV]{2}[ABCDEHLMPRST][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]\b")
_IBAN = re.compile(r"\b([A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30})\b")


def national_number(number: str) -> str:
    """Digits of an Italian number without the +39 / 0039 prefix."""
    digits = re.sub(r"\D", "", number)
    if digits.startswith("0039"):
        return digits[4:]
    if digits.startswith("39") and len(digits) >= 11:
        return digits[2:]
    return digits


def phone_kind(candidate: str) -> str | None:
    """``mobile``/``landline`` when ``candidate`` reads as an Italian phone number."""
    text = candidate.strip()
    if _DATE_LIKE.match(text) or _THOUSANDS.match(text):
        return None
    # "orari 08 12 14 18": several one- or two-digit groups are a list, not a number.
    if sum(len(group) <= 2 for group in re.split(r"[ .\-/]+", text.lstrip("+"))) > 1:
        return None
    digits = re.sub(r"\D", "", text)
    if text.startswith("+") and not digits.startswith("39"):
        return "mobile" if 8 <= len(digits) <= 15 else None  # a foreign number
    national = national_number(text)
    if national.startswith("3") and 9 <= len(national) <= 10:
        return "mobile"
    if re.match(r"^0[1-9]", national) and 6 <= len(national) <= 11:
        return "landline"
    return None


def find_phones(text: str):
    """(offset, candidate, kind) of every phone number in ``text``."""
    for match in _PHONE.finditer(text):
        candidate = match.group(0)
        if _NOT_A_PHONE_BEFORE.search(text, max(0, match.start() - 30), match.start()):
            continue
        # "ore 10 0721 123456": drop leading groups until what is left reads as a number.
        parts = candidate.split(" ")
        for i in range(len(parts)):
            group = " ".join(parts[i:])
            kind = phone_kind(group)
            if kind:
                yield match.end() - len(group), group, kind
                break


def _iban_valid(iban: str) -> bool:
    compact = iban.replace(" ", "")
    if compact.startswith("IT"):
        return len(compact) == 27
    digits = "".join(str(int(c, 36)) for c in compact[4:] + compact[:4])
    return int(digits) % 97 == 1


@rule("personal-data", scope="content")
def personal_data(ann, ctx):
    settings = ctx.settings
    allowed_numbers = {national_number(n) for n in settings.allowed_phone_numbers}
    domains = settings.link_domains()
    for text, base in _texts(ann):
        for offset, number, kind in find_phones(text):
            if national_number(number) not in allowed_numbers:
                line, col = _position(text, offset, base)
                yield problem(ann, "personal-data", f"phone-{kind}", line, col)
        for match in _EMAIL.finditer(text):
            if not domain_allowed(match.group(1), domains):
                line, col = _position(text, match.start(), base)
                yield problem(ann, "personal-data", "email", line, col,
                              domain=match.group(1), allowed=", ".join(domains))
        for match in _CF.finditer(text):
            if any(c.isdigit() for c in match.group(0)):
                line, col = _position(text, match.start(), base)
                yield problem(ann, "personal-data", "codice-fiscale", line, col)
        for match in _IBAN.finditer(text):
            if _iban_valid(match.group(1)):
                line, col = _position(text, match.start(), base)
                yield problem(ann, "personal-data", "iban", line, col)


def rule_ids() -> list[str]:
    return [rule_id for rule_id, _ in RULES]
