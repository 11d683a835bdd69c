"""What staff do about subscribers: list them, and decide (approve, reject, block,
unblock, forget), each decision recorded in the database's repository
(:mod:`.repository`) and applied at once. Forgetting also erases the citizen's
lines from that repository's logs and outbox (:mod:`.erasure`), after staff confirm
it, and says how to reach the other copies (:mod:`.copies`). Listing only reads:
it never creates a database."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from .. import db
from ..messages import t
from ..vocabulary import SUBSCRIBER_STATES
from . import states
from .access import one
from .copies import elsewhere
from .decisions import ACTIONS, Decision, DecisionError, append_decision
from .erasure import Erased, erase_everywhere
from .privacy import mask_number, pseudonym_key
from .repository import beside_database, decisions_path, shown
from .topics import Topics
from .topics import counts as topic_counts

if TYPE_CHECKING:
    from ..config import Settings


@dataclass
class Row:
    citizen_id: str
    number: str
    state: str
    pending_action: str | None
    name: str | None
    since: datetime
    subscribed_at: datetime | None
    topics: list[str] | None = None  # None: every topic


def list_subscribers(settings: Settings, state: str | None = None,
                     unmasked: bool = False) -> list[Row]:
    with db.reading(settings.database) as con:
        rows = con.execute(
            """
            SELECT s.citizen_id, c.wa_id, c.user_id, s.state, s.pending_action, s.name,
                   s.since, s.subscribed_at, s.topics
            FROM subscribers s LEFT JOIN citizens c USING (citizen_id)
            WHERE $state IS NULL OR s.state = $state
            ORDER BY s.since, s.citizen_id
            """,
            {"state": state},
        ).fetchall()
    return [
        Row(cid, (wa or user or "") if unmasked else (mask_number(wa) if wa else t(
            "subscribers.no-number")), st, pa, name, since, sub, chosen)
        for cid, wa, user, st, pa, name, since, sub, chosen in rows
    ]


def listing(settings: Settings, state: str | None = None, fmt: str = "table",
            unmasked: bool = False) -> str:
    """The subscribers as staff read them: a table, or JSON for scripts."""
    rows = list_subscribers(settings, state, unmasked)
    if fmt == "json":
        return json.dumps([
            {"citizen_id": r.citizen_id, "number": r.number, "state": r.state,
             "pending_action": r.pending_action, "name": r.name,
             "since": r.since.isoformat(),
             "subscribed_at": r.subscribed_at.isoformat() if r.subscribed_at else None,
             "topics": r.topics}
            for r in rows], ensure_ascii=False, indent=2)
    if not rows:
        return t("subscribers.list-empty")
    lines = [t("subscribers.list-header") + t("topics.list-column")]
    every = t("topics.every")
    for r in rows:
        state = f"{r.state}:{r.pending_action}" if r.pending_action else r.state
        since = r.since.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")
        chosen = every if r.topics is None else ", ".join(r.topics) or "-"
        lines.append(f"{r.citizen_id}  {r.number:16s}  {state:12s}  {(r.name or '-')[:20]:20s} "
                     f"{since}  {chosen}")
    return "\n".join([*lines, "", *topic_lines(settings)])


def topic_lines(settings: Settings) -> list[str]:
    """Active subscribers per topic (who chose it, plus everyone with every topic)."""
    with db.reading(settings.database) as con:
        found = topic_counts(con)
    lines = [t("topics.counts-header", every=found.every, none=found.none)]
    for topic in Topics(settings).topics:
        lines.append(t("topics.counts-line", topic=topic.label,
                       receiving=found.receiving(topic.id), chose=(found.chose or {}).get(
                           topic.id, 0)))
    return lines


@dataclass
class DecisionResult:
    citizen_id: str
    action: str
    before: str | None
    after: str | None
    # forget: what was erased here, and the commands for the copies out of reach
    logs: Erased = field(default_factory=Erased)
    outbox: Erased = field(default_factory=Erased)
    elsewhere: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 1 if self.logs.failed or self.outbox.failed else 0

    def text(self, settings: Settings) -> str:
        lines = [t("subscribers.done", action=self.action, citizen_id=self.citizen_id,
                   before=self.before or "-", after=self.after or "-",
                   path=shown(decisions_path(settings)))]
        if self.action == "forget":
            lines.append(t("subscribers.forgotten", citizen_id=self.citizen_id))
            for name, erased in (("logs", self.logs), ("outbox", self.outbox)):
                lines.append("  - " + t(f"rights.erased-{name}", removed=erased.removed,
                                        rewritten=erased.rewritten, files=len(erased.files)))
                lines += [f"    {t('rights.erase-failed', detail=f)}" for f in erased.failed]
            lines += self.elsewhere
        return "\n".join(lines)


_ALLOWED = {
    "approve": {"pending"},
    "reject": {"pending"},
    "block": {None, "pending", "active", "paused", "unsubscribed", "rejected"},
    "unblock": {"blocked"},
    "forget": {None, *SUBSCRIBER_STATES},
}


def decide(settings: Settings, action: str, who: str,
           environ: Mapping[str, str] | None = None,
           confirm: Callable[[str], bool] | None = None) -> DecisionResult:
    """Record a staff decision in the database's repository and apply it to the
    database now; ``forget`` also erases the citizen's lines from that repository's
    logs and outbox (``environ`` names the copies out of reach, as in CI), once
    ``confirm`` (asked what will be erased; None: no question) agrees. Only a block
    may be decided before the database exists (someone who never wrote)."""
    if action not in ACTIONS:
        raise DecisionError(t("subscribers.action-unknown", action=action,
                              allowed=", ".join(ACTIONS)))
    if action != "block":
        db.require(settings.database)
    con = db.connect(settings.database)
    try:
        # An id or a number may name someone not seen yet (a block before any message).
        cid = one(con, settings, who, known_only=False)
        # (fetchall, not fetchone: DuckDB 2 refuses register() while a result is open)
        row = next(iter(con.execute("SELECT state FROM subscribers WHERE citizen_id = ?",
                                    [cid]).fetchall()), None)
        identities = next(iter(con.execute(
            "SELECT wa_id, user_id FROM citizens WHERE citizen_id = ?", [cid]).fetchall()), None)
        before = row[0] if row else None
        if identities is None and row is None and action != "block":
            raise DecisionError(t("subscribers.unknown-citizen", citizen_id=cid))
        if before not in _ALLOWED[action]:
            raise DecisionError(t("subscribers.not-allowed", action=action, state=before or "-",
                                  citizen_id=cid))
        if action == "forget" and confirm is not None and not confirm(
                _forget_question(settings, cid, before, identities)):
            raise DecisionError(t("subscribers.not-confirmed", citizen_id=cid))
        # The repository file first: if the database step fails, the next sync applies it.
        append_decision(decisions_path(settings), Decision(settings.current_time(), action, cid))
        with db.transaction(con):
            if action == "forget":
                states.erase(con, cid)
            states.recompute(con, settings, [cid])
        after = next(iter(con.execute("SELECT state FROM subscribers WHERE citizen_id = ?",
                                      [cid]).fetchall()), None)
        result = DecisionResult(cid, action, before, after[0] if after else None)
        if action == "forget":
            _erase_files(con, settings, result, set(identities or ()),
                         os.environ if environ is None else environ)
    finally:
        con.close()
    if action == "forget":  # the deleted rows' bytes go too
        db.compact(settings.database)
    return result


def _forget_question(settings: Settings, cid: str, state: str | None, identities) -> str:
    number = next((i for i in identities or () if i and i[:1].isdigit()), None)
    return t("subscribers.confirm-forget", citizen_id=cid,
             number=mask_number(number) if number else t("subscribers.no-number"),
             state=state or "-", database=shown(Path(settings.database).absolute()),
             logs=shown(beside_database(settings, settings.webhook_logs)),
             outbox=shown(beside_database(settings, settings.outbox)),
             decisions=shown(decisions_path(settings)))


def _erase_files(con, settings: Settings, result: DecisionResult, known: set[str],
                 environ: Mapping[str, str]) -> None:
    """After the database: the lines in the local logs and outbox of the database's
    repository (the decision is recorded, so sync never reads them back in meanwhile),
    then what is out of reach."""
    result.logs, result.outbox = erase_everywhere(
        str(beside_database(settings, settings.webhook_logs)),
        beside_database(settings, settings.outbox), result.citizen_id,
        pseudonym_key(settings), {k for k in known if k})
    if result.logs.files:  # shorter files: the next sync reads them again from the start
        with db.transaction(con):
            con.execute("DELETE FROM log_files WHERE path IN (SELECT unnest(?::VARCHAR[]))",
                        [result.logs.files])
    result.elsewhere = elsewhere(settings, result.citizen_id, environ)
