"""A problem found in an announcement: what, where (file:line:col) and the rule's id.

Rules only *yield* problems; how they are shown is :mod:`.formats`'s business.
A ``warning`` is shown like an error but never stops an announcement (for example
its template is now MARKETING): only errors count in ``CheckResult.ok``.
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
    severity: str = "error"  # error | warning

    @property
    def is_error(self) -> bool:
        return self.severity == "error"
