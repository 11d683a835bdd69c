"""What staff decide about subscribers (approve, reject, block, unblock, forget): each
decision recorded in the database's repository (:mod:`runner.subscribers.repository`)
and applied at once. Forgetting also erases the citizen's lines from that repository's
logs and outbox (:mod:`runner.subscribers.rights.erase_lines`), after staff confirm
it, and says how to reach the other copies
(:mod:`runner.subscribers.rights.out_of_reach`)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ... import db
from ...messages import t
from ...vocabulary import BLOCKED, PENDING, SUBSCRIBER_STATES
from ..lifecycle.decisions import ACTIONS, Decision, DecisionError, append_decision, load_decisions
from ..lifecycle.recompute import recompute
from ..privacy import mask_number, pseudonym_key
from ..repository import beside_database, decisions_path, shown
from ..rights.erase_lines import Erased, erase_everywhere
from ..rights.out_of_reach import elsewhere
from ..rights.who import one
from ..store import citizens, erasure, reads

if TYPE_CHECKING:
    import duckdb

    from ...config import Settings


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


# The states each decision may be made in (None: a citizen with no state yet).
_ALLOWED: dict[str, set[str | None]] = {
    "approve": {PENDING},
    "reject": {PENDING},
    "block": {None, *SUBSCRIBER_STATES} - {BLOCKED},
    "unblock": {BLOCKED},
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
        before = citizens.state_of(con, cid)
        identities = citizens.identities_of(con, cid)
        if identities is None and before is None and action != "block":
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
                erasure.erase(con, cid)
            recompute(con, settings, [cid], load_decisions(decisions_path(settings)))
        result = DecisionResult(cid, action, before, citizens.state_of(con, cid))
        if action == "forget":
            _erase_files(con, settings, result, set(identities or ()),
                         os.environ if environ is None else environ)
    finally:
        con.close()
    if action == "forget":  # the deleted rows' bytes go too
        db.compact(settings.database)
    return result


def _forget_question(settings: Settings, cid: str, state: str | None,
                     identities: tuple[str | None, str | None] | None) -> str:
    number = next((i for i in identities or () if i and i[:1].isdigit()), None)
    return t("subscribers.confirm-forget", citizen_id=cid,
             number=mask_number(number) if number else t("subscribers.no-number"),
             state=state or "-", database=shown(Path(settings.database).absolute()),
             logs=shown(beside_database(settings, settings.webhook_logs)),
             outbox=shown(beside_database(settings, settings.outbox)),
             decisions=shown(decisions_path(settings)))


def _erase_files(con: duckdb.DuckDBPyConnection, settings: Settings, result: DecisionResult,
                 known: set[str | None], environ: Mapping[str, str]) -> None:
    """After the database: the lines in the local logs and outbox of the database's
    repository (the decision is recorded, so sync never reads them back in meanwhile),
    then what is out of reach."""
    result.logs, result.outbox = erase_everywhere(
        str(beside_database(settings, settings.webhook_logs)),
        beside_database(settings, settings.outbox), result.citizen_id,
        pseudonym_key(settings), {k for k in known if k})
    if result.logs.files:  # shorter files: the next sync reads them again from the start
        with db.transaction(con):
            reads.forget_files(con, result.logs.files)
    result.elsewhere = elsewhere(settings, result.citizen_id, environ)
