"""Everything held about a citizen: the right of access (GDPR art. 15).

:func:`record` gathers what the database and the decisions file hold about one
citizen (found by :mod:`.who` from what staff typed): state history, topics,
consents with their notice, messages, deliveries with what became of them.

Two ways to print it: :func:`show` for staff at a terminal (number masked, free
text only as its masked form) and :func:`export`, the copy handed to the citizen
(their number and what they wrote that is still held: it is their data).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ... import db
from ...messages import t
from ...vocabulary import KEYWORDS, PAUSE, RESUME, SKIPPED, SUBSCRIBE
from ...whatsapp.answers import meaning, skip_meaning
from ..lifecycle.decisions import load_decisions
from ..lifecycle.keywords import classifier, fold
from ..privacy import mask_number, masked_form
from ..repository import decisions_path
from ..store import access_record as store
from .who import one

if TYPE_CHECKING:
    from ...config import Settings


def record(settings: Settings, cid: str) -> dict:
    """Everything held about one citizen, as plain values (times in the town's zone)."""
    with db.reading(settings.database) as con:
        held = store.record(con, cid, settings.timezone)
    citizen, subscription = held.pop("citizen"), held.pop("subscription")
    out: dict[str, Any] = {"citizen_id": cid, **(citizen[0] if citizen else {"number": None}),
                           "subscription": subscription[0] if subscription else None, **held}
    for delivery in out["deliveries"]:
        if delivery["state"] == SKIPPED:  # why it was not made: the reason's words
            delivery["reason"] = skip_meaning(delivery["error_title"])
        elif delivery["error_code"] is not None:
            delivery["error_meaning"] = meaning(delivery["error_code"])
    out["decisions"] = [{"ts": d.ts, "action": d.action}
                        for d in load_decisions(decisions_path(settings))
                        if d.citizen_id == cid]
    out["retention_days"] = settings.retention_days
    return out


def locate(settings: Settings, who: str) -> str:
    with db.reading(settings.database) as con:
        return one(con, settings, who)


def export(settings: Settings, who: str, fmt: str = "json") -> str:
    """The copy of a citizen's data for an access request (their own number and texts)."""
    data = record(settings, locate(settings, who))
    if fmt == "json":
        return json.dumps(data, ensure_ascii=False, indent=2, default=_iso)
    return _text(settings, data, masked=False)


def show(settings: Settings, who: str) -> str:
    """The same record for staff: number masked, free text only as its masked form."""
    return _text(settings, record(settings, locate(settings, who)), masked=True)


def _iso(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _when(value: datetime | None) -> str:
    return value.strftime("%d/%m/%Y %H:%M") if value is not None else "-"


def _text(settings: Settings, data: dict, *, masked: bool) -> str:
    known = classifier(settings).known_word
    number = data.get("number")
    lines = [t("rights.show.citizen", citizen_id=data["citizen_id"],
               number=(mask_number(number) if masked else number) if number
               else t("subscribers.no-number"))]
    if data.get("profile_name") and not masked:
        lines.append(t("rights.show.profile", name=data["profile_name"]))
    sub = data["subscription"]
    lines.append(t("rights.show.state", state=sub["state"], since=_when(sub["since"]),
                   name=sub["name"] or "-") if sub else t("rights.show.no-state"))
    if sub:  # no topics chosen: every topic
        lines.append(t("rights.show.topics", topics=", ".join(sub["topics"] or [])
                       or t("rights.show.all-topics")))
    sections = [
        ("history", lambda r: f"{_when(r['ts'])}  {r['from_state'] or '-'} -> {r['to_state']}"),
        ("consents", lambda r: f"{_when(r['ts'])}  "
                               + (t("rights.show.imported", sha=r["imported_from"][:16])
                                  if r["imported_from"] else f"«{_said(r, masked, known)}»")
                               + "  " + t("rights.show.notice", version=r["notice_version"],
                                   date=_when(r["notice_in_force_from"]))),
        ("messages", lambda r: f"{_when(r['ts'])}  {r['kind']:12s} «{_said(r, masked, known)}»"),
        ("deliveries", lambda r: f"{_when(r['created_at'])}  {r['kind']:12s} "
                                 f"{r['title'] or r['announcement_id'] or ''}  {r['state']}"
                                 + _why(r)),
        ("decisions", lambda r: f"{_when(r['ts'])}  {r['action']}"),
    ]
    for name, line in sections:
        # What a citizen wrote is shown in its masked form here, as export never is:
        # the header says so, so that «grazie» here and "Grazie!" there do not puzzle.
        masked_text = masked and name == "messages" and data[name]
        lines.append(t(f"rights.show.{name}" + ("-masked" if masked_text else ""),
                       count=len(data[name])))
        lines += [f"  {line(row)}" for row in data[name]]
    lines.append(t("rights.show.retention", days=data["retention_days"]))
    return "\n".join(lines)


def _why(delivery: dict) -> str:
    """Why a delivery was not made or failed: the skip reason, or Meta's code."""
    if "reason" in delivery:
        return f" ({delivery['reason']})"
    if "error_meaning" in delivery:
        return f" ({delivery['error_code']}: {delivery['error_meaning']})"
    return ""


def _said(row: dict, masked: bool, known: Callable[[str], bool]) -> str:
    """What the citizen wrote, as it may be printed here. A keyword (or consent) shows
    as the keyword, with «…» for a name after it; other text as its masked form."""
    text = row.get("text")
    if not masked:
        return text if text is not None else (row.get("form") or t("rights.show.text-gone"))
    if row.get("kind", SUBSCRIBE) in (*KEYWORDS, PAUSE, RESUME):
        keyword = row.get("keyword") or ""
        return keyword + (" …" if text and fold(text) != fold(keyword) else "")
    if text is None:
        return row.get("form") or t("rights.show.text-gone")
    return row.get("form") or masked_form(text, known)
