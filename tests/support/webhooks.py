"""Webhooks in Meta's shapes, and the receiver's log files they land in: how a town's
data arrives, and so how the tests seed it (log lines -> ``sync``).

The numbers are invented (39 333 000 xxxx) and the ids made up; the shapes follow
shared/cloud-api.md: one JSON document per POST, one line per document.
"""

from __future__ import annotations

import json
from pathlib import Path

T0 = 1711000000  # 2024-03-21: the time of the tests' webhooks
META = {"display_phone_number": "390000000000", "phone_number_id": "109876543210987"}


def envelope(value: dict) -> str:
    """A ``messages`` webhook carrying ``value`` (messages, contacts or statuses)."""
    return json.dumps({"object": "whatsapp_business_account", "entry": [{
        "id": "102345678901234", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp", "metadata": META, **value}}]}]})


def message(number: str | None, wamid: str, ts: int, body: str | None = None, *,
            kind: str = "text", user_id: str | None = None, extra: dict | None = None) -> str:
    """A citizen's message: from a number, a business-scoped user id, or both."""
    m = {"id": wamid, "timestamp": str(ts), "type": kind}
    contact = {"profile": {"name": "Cittadino"}}
    if number:
        m["from"] = contact["wa_id"] = number
    if user_id:
        m["from_user_id"] = contact["user_id"] = user_id
    if kind == "text":
        m["text"] = {"body": body}
    m.update(extra or {})
    return envelope({"contacts": [contact], "messages": [m]})


def status(wamid: str, state: str, ts: int, number: str = "393330000001",
           callback: str | None = "banditore:a:x:c_1", code: int | None = None) -> str:
    """A delivery status of a message the runner sent, echoing its callback."""
    s = {"id": wamid, "status": state, "timestamp": str(ts), "recipient_id": number}
    if callback:
        s["biz_opaque_callback_data"] = callback
    if code:
        s["errors"] = [{"code": code, "title": f"error {code}", "message": f"error {code}"}]
    return envelope({"statuses": [s]})


def template_change(field: str, name: str, ts: int, **value) -> str:
    """A template webhook (``message_template_status_update``,
    ``template_category_update``...) about the Italian template ``name``."""
    return json.dumps({"object": "whatsapp_business_account", "entry": [{
        "id": "102345678901234", "time": ts, "changes": [{"field": field, "value": {
            "message_template_id": 987654321, "message_template_name": name,
            "message_template_language": "it", **value}}]}]})


def write(path: Path, lines: list[str], mode: str = "w") -> None:
    """The receiver's log file: one line per webhook (``mode="a"`` appends, as it does)."""
    with path.open(mode, encoding="utf-8") as f:
        f.write("".join(line + "\n" for line in lines))
