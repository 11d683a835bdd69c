"""A problem found in an announcement: what, where (file:line:col) and the rule's id.

Rules only *yield* problems; how they are shown is :mod:`.publish`'s business.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    line: int
    col: int
    rule: str
    message: str
