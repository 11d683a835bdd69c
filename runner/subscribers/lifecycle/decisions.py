"""Staff decisions, kept in the repository because they are not in the webhook logs.

``settings.decisions_file``, one line per decision, keyed by the pseudonymous
citizen_id (never a number)::

    2024-03-20T10:15:00+01:00 approve c_3f2a9b1c0d4e5f60
    2024-03-21T09:00:00+01:00 block c_77aa01b2c3d4e5f6  # abuse reported by the front desk
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ...errors import BanditoreError
from ...messages import t

ACTIONS = ("approve", "reject", "block", "unblock", "forget")

_DECISION = re.compile(
    r"^(\S+)\s+(approve|reject|block|unblock|forget)\s+(c_[0-9a-f]{16})\s*(?:#.*)?$")


class DecisionError(BanditoreError):
    """A staff decision cannot be made (unknown citizen, wrong state): exit code 1."""

    exit_code = 1


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
        if m is None or ts is None or ts.tzinfo is None:
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
