"""Subscribers: the state machine, staff decisions, and what staff may list.

States: ``pending`` (a moderated request waiting for staff; ``pending_action``
says whether it asks to subscribe or to unsubscribe), ``active``,
``unsubscribed``, ``rejected``, ``blocked``. The state of a citizen is a pure
function of their keyword messages and the staff decisions, replayed in time
order (timestamp, then wamid), so any order of files, lines and duplicates
gives the same result, and ``sync --rebuild`` gives the same database.

Staff decisions are not in the webhook logs, so they live in the repository:
``settings.decisions_file``, one line per decision, keyed by the pseudonymous
citizen_id (never a number)::

    2024-03-20T10:15:00+01:00 approve c_3f2a9b1c0d4e5f60
    2024-03-21T09:00:00+01:00 block c_77aa01b2c3d4e5f6  # abuse reported by the front desk

Rules, in the words of the towns:
- a keyword from a blocked citizen changes nothing (blocked is sticky until unblock);
- with moderation a subscription (or unsubscription) waits for approve/reject;
- unsubscribing needs no approval while the subscription itself is still pending;
- forget erases the citizen's data and ignores every earlier event, also on rebuild.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from .errors import BanditoreError
from .messages import t
from .privacy import citizen_id as pseudonym
from .privacy import mask_number

STATES = ("pending", "active", "unsubscribed", "rejected", "blocked")
ACTIONS = ("approve", "reject", "block", "unblock", "forget")

_DECISION = re.compile(
    r"^(\S+)\s+(approve|reject|block|unblock|forget)\s+(c_[0-9a-f]{16})\s*(?:#.*)?$")


class DecisionError(BanditoreError):
    """A staff decision cannot be made (unknown citizen, wrong state): exit code 1."""

    exit_code = 1


# --- the texts a citizen receives -------------------------------------------------


def reply_text(settings, kind: str) -> str:
    """The welcome or goodbye text as the citizen reads it (the send engine formats
    the same placeholders)."""
    template = settings.welcome_text if kind == "welcome" else settings.goodbye_text
    return template.format(
        town=settings.town,
        privacy_url=settings.privacy_url,
        subscribe_keyword=(settings.subscribe_keywords or [""])[0],
        unsubscribe_keyword=(settings.unsubscribe_keywords or [""])[0],
    )


def notice_version(settings) -> str:
    """Content hash of the welcome/privacy notice in force: recorded with every consent."""
    text = "\n".join([reply_text(settings, "welcome"), settings.privacy_url])
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:16]


# --- staff decisions in the repository -------------------------------------------


@dataclass(frozen=True)
class Decision:
    ts: datetime
    action: str
    citizen_id: str
    line: int = 0


def load_decisions(path: Path) -> list[Decision]:
    """Read the decisions file (missing means none); a bad line is an error with its line."""
    if not path.exists():
        return []
    decisions = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = _DECISION.match(line)
        try:
            ts = datetime.fromisoformat(m.group(1)) if m else None
        except ValueError:
            ts = None
        if ts is None or ts.tzinfo is None:
            raise BanditoreError(t("subscribers.decision-bad-line", path=path, line=number))
        decisions.append(Decision(ts, m.group(2), m.group(3), number))
    return decisions


def append_decision(path: Path, decision: Decision) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists()
    with path.open("a", encoding="utf-8") as f:
        if new:
            f.write(t("subscribers.decisions-header", "en") + "\n")
        f.write(f"{decision.ts.isoformat(timespec='seconds')} {decision.action} "
                f"{decision.citizen_id}\n")


# --- the state machine ---------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    """A keyword message of one citizen (kind subscribe | unsubscribe)."""

    ts: datetime
    wamid: str
    kind: str
    keyword: str | None = None
    name: str | None = None


@dataclass
class Outcome:
    """Everything the history of one citizen implies."""

    state: str | None = None
    pending_action: str | None = None
    name: str | None = None
    keyword: str | None = None
    since: datetime | None = None
    subscribed_at: datetime | None = None
    transitions: list[tuple[datetime, str | None, str, str]] = field(default_factory=list)
    consents: list[str] = field(default_factory=list)  # wamids of accepted subscriptions
    replies: list[tuple[str, str, datetime]] = field(default_factory=list)  # (id, kind, ts)
    forgotten_until: datetime | None = None


def replay(events: Iterable[Event], decisions: Iterable[Decision], *,
           moderate_subscribe: bool, moderate_unsubscribe: bool) -> Outcome:
    """The outcome of one citizen's keyword events and staff decisions, in time order.

    At equal timestamps a message comes before a decision; messages are ordered
    by wamid, decisions by their line in the file: any fixed tiebreak makes the
    result independent of the order the logs were read in.
    """
    timeline = sorted(
        [((e.ts, 0, e.wamid), e) for e in events]
        + [((d.ts, 1, f"{d.line:09d}"), d) for d in decisions],
        key=lambda item: item[0],
    )
    r = _Replay(moderate_subscribe, moderate_unsubscribe)
    for _, item in timeline:
        if isinstance(item, Decision):
            r.decision(item)
        elif r.o.state != "blocked":  # a blocked citizen's keywords change nothing
            r.keyword(item)
    return r.o


class _Replay:
    def __init__(self, moderate_subscribe: bool, moderate_unsubscribe: bool):
        self.moderate_subscribe = moderate_subscribe
        self.moderate_unsubscribe = moderate_unsubscribe
        self.o = Outcome()
        self.request: Event | None = None  # the pending request, if any
        self.before_block: tuple[str | None, str | None] = (None, None)

    def move(self, ts, to: str, cause: str, pending: str | None = None) -> None:
        o = self.o
        o.transitions.append((ts, o.state, to, cause))
        o.state, o.pending_action, o.since = to, pending, ts
        if to == "active" and o.subscribed_at is None:
            o.subscribed_at = ts

    def decision(self, d: Decision) -> None:
        o = self.o
        if d.action == "forget":
            self.o, self.request = Outcome(forgotten_until=d.ts), None
        elif d.action == "block" and o.state != "blocked":
            self.before_block = (o.state, o.pending_action)
            self.move(d.ts, "blocked", "decision:block")
        elif d.action == "unblock" and o.state == "blocked":
            state, pending = self.before_block
            self.move(d.ts, state or "unsubscribed", "decision:unblock", pending)
        elif d.action in ("approve", "reject") and o.state == "pending" and self.request:
            joining = o.pending_action == "subscribe"
            if d.action == "approve":
                self.move(d.ts, "active" if joining else "unsubscribed", "decision:approve")
                o.replies.append(_reply(self.request, "welcome" if joining else "goodbye"))
            else:
                self.move(d.ts, "rejected" if joining else "active", "decision:reject")
            self.request = None

    def keyword(self, e: Event) -> None:
        o = self.o
        joining = o.state == "pending" and o.pending_action == "subscribe"
        if e.kind == "subscribe":
            if o.state == "active" or joining:
                return
            if o.state == "pending":  # asked to leave, then to stay: nothing to moderate
                self.move(e.ts, "active", e.wamid)
                self.request = None
                return
            o.consents.append(e.wamid)
            o.name, o.keyword = e.name or o.name, e.keyword
            if self.moderate_subscribe:
                self.move(e.ts, "pending", e.wamid, "subscribe")
                self.request = e
            else:
                self.move(e.ts, "active", e.wamid)
                o.replies.append(_reply(e, "welcome"))
        elif o.state == "active" and self.moderate_unsubscribe:
            self.move(e.ts, "pending", e.wamid, "unsubscribe")
            self.request = e
        elif o.state == "active" or joining:  # leaving needs no approval while joining
            self.move(e.ts, "unsubscribed", e.wamid)
            o.replies.append(_reply(e, "goodbye"))
            self.request = None


def _reply(e: Event, kind: str) -> tuple[str, str, datetime]:
    return (f"{'w' if kind == 'welcome' else 'g'}:{e.wamid}", kind, e.ts)


# --- staff commands -------------------------------------------------------------------


@dataclass
class Row:
    citizen_id: str
    number: str
    state: str
    pending_action: str | None
    name: str | None
    since: datetime
    subscribed_at: datetime | None


def list_subscribers(settings, state: str | None = None, unmasked: bool = False) -> list[Row]:
    from . import store

    con = store.connect(settings.database)
    try:
        rows = con.execute(
            """
            SELECT s.citizen_id, c.wa_id, c.user_id, s.state, s.pending_action, s.name,
                   s.since, s.subscribed_at
            FROM subscribers s LEFT JOIN citizens c USING (citizen_id)
            WHERE $state IS NULL OR s.state = $state
            ORDER BY s.since, s.citizen_id
            """,
            {"state": state},
        ).fetchall()
    finally:
        con.close()
    return [
        Row(cid, (wa or user or "") if unmasked else (mask_number(wa) if wa else t(
            "subscribers.no-number")), st, pa, name, since, sub)
        for cid, wa, user, st, pa, name, since, sub in rows
    ]


def listing(settings, state: str | None = None, fmt: str = "table",
            unmasked: bool = False) -> str:
    """The subscribers as staff read them: a table, or JSON for scripts."""
    rows = list_subscribers(settings, state, unmasked)
    if fmt == "json":
        return json.dumps([
            {"citizen_id": r.citizen_id, "number": r.number, "state": r.state,
             "pending_action": r.pending_action, "name": r.name,
             "since": r.since.isoformat(),
             "subscribed_at": r.subscribed_at.isoformat() if r.subscribed_at else None}
            for r in rows], ensure_ascii=False, indent=2)
    if not rows:
        return t("subscribers.list-empty")
    lines = [t("subscribers.list-header")]
    for r in rows:
        state = f"{r.state}:{r.pending_action}" if r.pending_action else r.state
        since = r.since.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")
        lines.append(f"{r.citizen_id}  {r.number:16s}  {state:12s}  {(r.name or '-')[:20]:20s} "
                     f"{since}")
    return "\n".join(lines)


def resolve(settings, who: str) -> str:
    """A citizen_id from what staff typed: the id itself, or a phone number."""
    who = who.strip()
    if re.fullmatch(r"c_[0-9a-f]{16}", who):
        return who
    digits = re.sub(r"[\s+\-().]", "", who)
    if not digits.isdigit():
        raise DecisionError(t("subscribers.who-invalid", who=mask_number(who)))
    return pseudonym(digits, _key(settings))


def _key(settings) -> bytes | None:
    key = settings.pseudonym_key
    return key.get_secret_value().encode() if key else None


@dataclass
class DecisionResult:
    citizen_id: str
    action: str
    before: str | None
    after: str | None
    purge: list[str] = field(default_factory=list)  # what else the town must erase (forget)

    def text(self, settings) -> str:
        lines = [t("subscribers.done", action=self.action, citizen_id=self.citizen_id,
                   before=self.before or "-", after=self.after or "-",
                   path=settings.decisions_file)]
        if self.action == "forget":
            lines.append(t("subscribers.forgotten", citizen_id=self.citizen_id))
            lines += [f"  - {item}" for item in self.purge]
        return "\n".join(lines)


_ALLOWED = {
    "approve": {"pending"},
    "reject": {"pending"},
    "block": {None, "pending", "active", "unsubscribed", "rejected"},
    "unblock": {"blocked"},
    "forget": {None, *STATES},
}


def decide(settings, action: str, who: str) -> DecisionResult:
    """Record a staff decision in the repository and apply it to the database now."""
    from . import states, store

    if action not in ACTIONS:
        raise DecisionError(t("subscribers.action-unknown", action=action,
                              allowed=", ".join(ACTIONS)))
    cid = resolve(settings, who)
    con = store.connect(settings.database)
    try:
        # (fetchall, not fetchone: DuckDB 2 refuses register() while a result is open)
        row = next(iter(con.execute("SELECT state FROM subscribers WHERE citizen_id = ?",
                                    [cid]).fetchall()), None)
        known = row is not None or con.execute(
            "SELECT count(*) FROM citizens WHERE citizen_id = ?", [cid]).fetchall()[0][0] > 0
        before = row[0] if row else None
        if not known and action != "block":
            raise DecisionError(t("subscribers.unknown-citizen", citizen_id=cid))
        if before not in _ALLOWED[action]:
            raise DecisionError(t("subscribers.not-allowed", action=action, state=before or "-",
                                  citizen_id=cid))
        purge = []
        if action == "forget":
            files = [r[0] for r in con.execute(
                "SELECT DISTINCT file FROM inbound WHERE citizen_id = ? AND file IS NOT NULL "
                "ORDER BY 1", [cid]).fetchall()]
            purge = _purge_list(settings, files)
        # The repository file first: if the database step fails, the next sync applies it.
        append_decision(Path(settings.decisions_file),
                        Decision(settings.current_time(), action, cid))
        con.execute("BEGIN TRANSACTION")
        try:
            if action == "forget":
                states.erase(con, cid)
            states.recompute(con, settings, [cid])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        after = next(iter(con.execute("SELECT state FROM subscribers WHERE citizen_id = ?",
                                      [cid]).fetchall()), None)
    finally:
        con.close()
    return DecisionResult(cid, action, before, after[0] if after else None, purge)


def _purge_list(settings, files: list[str]) -> list[str]:
    items = [t("subscribers.purge-log", file=f) for f in files]
    items += [
        t("subscribers.purge-statuses", path=settings.webhook_logs),
        t("subscribers.purge-outbox", path=settings.outbox),
        t("subscribers.purge-reports"),
        t("subscribers.purge-backups", database=settings.database),
    ]
    return items
