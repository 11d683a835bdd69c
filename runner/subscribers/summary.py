"""What a sync did, as staff read it: counts of what was read and stored, the subscribers
by state, the replies queued, and anything wrong found on the way. The steps return
their own results; :mod:`.sync` adds them up here."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..messages import t


@dataclass
class Summary:
    files: int = 0  # files with something new
    lines: int = 0  # lines read
    messages: int = 0  # new inbound messages
    duplicates: int = 0  # messages or lines seen again (Meta retries, re-reads)
    statuses: int = 0  # status webhooks read
    errors: int = 0  # value.errors[] items
    template_updates: int = 0  # template status/category changes announced by Meta
    kinds: dict[str, int] = field(default_factory=dict)  # new messages by kind
    malformed: dict[str, int] = field(default_factory=dict)  # all malformed lines, by reason
    states: dict[str, int] = field(default_factory=dict)  # subscribers by state
    welcome: int = 0  # welcome replies queued by this sync
    rejoined: int = 0  # short replies to citizens back under the notice of their welcome
    goodbye: int = 0
    imported: int = 0  # consents read from import records (subscribers import)
    migration: int = 0  # migration replies queued (migration_template, outside the window)
    migration_template: bool = True
    recomputed: int = 0  # citizens whose state was replayed
    rebuilt: bool = False
    no_logs: bool = False  # webhook_logs names no *.jsonl / *.jsonl.gz file
    links: int = 0  # symbolic links in the logs folder, not followed
    logs: str = ""
    seconds: float = 0.0
    steps: dict[str, float] = field(default_factory=dict)  # seconds per step (benchmarks)
    texts_dropped: int = 0  # texts past retention_days reduced to their classification
    notices: int = 0  # new privacy notices queued
    notice_template: bool = True  # notice_template is set (needed outside the window)
    hints: int = 0  # near-miss hints queued
    compact: bool = False  # the database file was rewritten without its free blocks
    unmatched: list[int] = field(default_factory=list)  # decisions file lines naming nobody
    decisions_file: str = ""

    def lines_text(self) -> list[str]:
        """The summary for staff, in the current language."""
        out = [t("sync.summary", files=self.files, lines=self.lines, messages=self.messages,
                 duplicates=self.duplicates, statuses=self.statuses, seconds=self.seconds)]
        if self.rebuilt:
            out.insert(0, t("sync.rebuilt"))
        if self.no_logs:
            out.insert(0, t("sync.no-logs", path=self.logs))
        if self.links:
            out.append(t("sync-logs.links-skipped", count=self.links, path=self.logs))
        if self.kinds:
            out.append(t("sync.kinds", detail=_counts(self.kinds)))
        out.append(t("sync.states", detail=_counts(self.states) or "-"))
        out += self._reply_lines()
        out += self._rights_lines()
        if self.malformed:
            out.append(t("sync.malformed", total=sum(self.malformed.values()),
                         detail=_counts(self.malformed)))
        if self.errors:
            out.append(t("sync.webhook-errors", count=self.errors))
        if self.template_updates:
            out.append(t("templates.webhook-updates", count=self.template_updates))
        if self.unmatched:
            out.append(t("sync.decisions-unmatched", count=len(self.unmatched),
                         path=self.decisions_file,
                         lines=", ".join(map(str, self.unmatched[:10]))
                         + (", ..." if len(self.unmatched) > 10 else "")))
        return out

    def _reply_lines(self) -> list[str]:
        """The replies this sync queued: welcomes, goodbyes, returners', the move's news."""
        out = []
        if self.welcome or self.goodbye:
            out.append(t("sync.replies", welcome=self.welcome, goodbye=self.goodbye))
        if self.imported or self.migration:
            out.append(t("sync.imported", count=self.imported, migration=self.migration))
            if self.migration and not self.migration_template:
                out.append(t("sync.migration-no-template"))
        if self.rejoined:
            out.append(t("sync.rejoined", count=self.rejoined))
        return out

    def _rights_lines(self) -> list[str]:
        out = []
        if self.notices:
            out.append(t("sync.notices", count=self.notices))
            if not self.notice_template:
                out.append(t("sync.notices-no-template"))
        if self.hints:
            out.append(t("sync.hints", count=self.hints))
        if self.texts_dropped:
            out.append(t("sync.texts-dropped", count=self.texts_dropped))
        return out

    def one_line(self) -> str:
        return " | ".join(self.lines_text())


def _counts(d: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(d.items()))
