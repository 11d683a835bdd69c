"""A town's subscribers as its data brings them: webhook log lines, then ``sync``.

The send benchmarks used to write subscriber rows straight into the database, so
nothing ``sync`` decides (a welcome queued for each new citizen, skipped when the
24-hour window has closed) ever stood in their way; no town's data arrives that
way. These helpers write the lines Meta would have posted, one "MI ISCRIVO" per
citizen (and, where asked, the topic picks of the menu, the status webhooks of
welcomes or announcements that went out) and sync them with the runner's own
``sync``, as a town's runs do. Numbers are invented: 39 33 and eight digits.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path

META = {"display_phone_number": "390000000000", "phone_number_id": "109876543210987"}
# One POST body per line, as the receiver logs it; %-templates (a million json.dumps
# would take longer than the sync they feed).
_HEAD = json.dumps({"object": "whatsapp_business_account", "entry": [{
    "id": "102345678901234", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp", "metadata": META}}]}]}, separators=(",", ":"))[:-6]
_MESSAGE = (_HEAD + ',"contacts":[{"profile":{"name":"Cittadino"},"wa_id":"%(n)s"}],'
            '"messages":[{"from":"%(n)s","id":"%(id)s","timestamp":"%(ts)d","type":"text",'
            '"text":{"body":"%(text)s"}}]}}]}]}')
_PICK = (_HEAD + ',"contacts":[{"profile":{"name":"Cittadino"},"wa_id":"%(n)s"}],'
         '"messages":[{"from":"%(n)s","id":"%(id)s","timestamp":"%(ts)d","type":"interactive",'
         '"interactive":{"type":"list_reply","list_reply":{"id":"%(pick)s","title":"x"}}}]}}]}]}')
_STATUS = (_HEAD + ',"statuses":[{"id":"%(id)s","status":"%(status)s","timestamp":"%(ts)d",'
           '"recipient_id":"%(n)s","biz_opaque_callback_data":"banditore:%(delivery)s"}]}}]}]}')


def number(i: int) -> str:
    return f"3933{i:08d}"


def subscribe_wamid(i: int) -> str:
    return f"wamid.SUB{i:010d}"


def subscriptions(n: int, at: datetime, *, start: int = 0,
                  keyword: str = "MI ISCRIVO") -> Iterator[str]:
    """One subscribe message per citizen ``start``..``start + n``, a second apart from ``at``."""
    t0 = int(at.timestamp())
    for i in range(start, start + n):
        yield _MESSAGE % {"n": number(i), "id": subscribe_wamid(i), "ts": t0 + i - start,
                          "text": keyword}


def picks(choices: Iterable[tuple[int, str]], at: datetime) -> Iterator[str]:
    """A tap on a topic menu row (``pick`` is the row's id) per (citizen, pick)."""
    t0 = int(at.timestamp())
    for k, (i, pick) in enumerate(choices):
        yield _PICK % {"n": number(i), "id": f"wamid.PICK{k:010d}", "ts": t0 + k, "pick": pick}


def welcomes_gone(n: int, at: datetime, *, start: int = 0) -> Iterator[str]:
    """The status webhooks of each citizen's welcome, read: their welcomes went out."""
    t0 = int(at.timestamp())
    for i in range(start, start + n):
        yield _STATUS % {"id": f"wamid.W{i:010d}", "status": "read", "ts": t0 + i - start,
                         "n": number(i), "delivery": f"w:{subscribe_wamid(i)}"}


def statuses(deliveries: Iterable[tuple[str, int, str]], at: datetime,
             tag: str = "ST") -> Iterator[str]:
    """A status webhook (``status``) for each (delivery id, citizen, status); the wamids
    are ``tag`` and a count (a tag per batch keeps them apart)."""
    t0 = int(at.timestamp())
    for k, (delivery, i, status) in enumerate(deliveries):
        yield _STATUS % {"id": f"wamid.{tag}{k:012d}", "status": status, "ts": t0 + k // 1000,
                         "n": number(i), "delivery": delivery}


def write(path: Path, lines: Iterable[str]) -> Path:
    """Append ``lines`` to the log file ``path`` (one POST body per line)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        for line in lines:
            fh.write(line)
            fh.write("\n")
    return path


def announcement(folder: Path, slug: str, *, category: str = "viabilita",
                 urgency: str = "normal", publish_at: str = "2024-04-03T09:00:00+02:00",
                 expires_at: str | None = None, title: str = "Chiusura di via Roma") -> Path:
    """An announcement file, as staff merge it."""
    path = folder / slug[:4] / f"{slug}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    expiry = f"expires_at: {expires_at}\n" if expires_at else ""
    path.write_text(f"---\ntitle: {title}\ncategory: {category}\nurgency: {urgency}\n"
                    f"publish_at: {publish_at}\n{expiry}---\n"
                    "Via Roma resta chiusa per lavori fino a venerdì.\n\nSeconda riga del testo.\n",
                    encoding="utf-8")
    return path


def sync_logs(settings) -> dict:
    """The runner's own sync of ``settings.webhook_logs`` into ``settings.database``."""
    from runner.subscribers.sync import sync

    return sync(settings).states
