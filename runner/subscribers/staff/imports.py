"""Moving a town's existing list in (``subscribers import``): the numbers of a contacts
export or a spreadsheet become consents, recorded where the truth lives.

The database is a cache that ``sync --rebuild`` reproduces from the webhook logs, and
numbers never go into git; so an import writes an *import record* into the webhook
logs folder, ``import-<day>-<the file's SHA-256, 8 hex>.jsonl``, one line a number::

    {"banditore_import": {"n": 1, "wa_id": "393471234567", "consented_on": "2024-05-01",
     "notice_version": "2024-01-01", "file_sha256": "9f2c...", "imported_at": "..."}}

a shape no Meta webhook has (no ``entry``). It travels with the logs (CI fetches every
``*.jsonl``); sync stages its lines as items ``import`` and stores them in ``imports``
(:mod:`runner.subscribers.logs.import_records`); the replay takes a citizen's first imported
consent, when nothing they wrote came before it, as a subscription: active at once
(the town vetted its list, moderated or not) and answered once by the ``migration``
reply, never by a welcome. A later import never brings back a citizen who left, and
``subscribers forget`` erases a record's line like a webhook's (``wa_id`` names the
citizen).

Nothing of the file is kept but its numbers, the day of consent, the notice version
and the file's SHA-256 (which proves which file it was without holding it): no name.
Importing the same file again writes nothing, and a later export adds only numbers no
earlier record holds.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, date
from pathlib import Path
from typing import TYPE_CHECKING

from ...errors import BanditoreError
from ...files import logs_folder, replace_durably
from ...messages import t
from ...vocabulary import IMPORT_PREFIX, IMPORT_RECORD
from ..lifecycle.notices import notice_version as notice_in_force
from ..logs import files as logs
from ..store.imports import SHA256, WA_ID
from .contacts import UnreadableFile, read_contacts
from .numbers import read_number

if TYPE_CHECKING:
    from ...config import Settings

RECORD_PREFIX = "import-"


@dataclass(frozen=True, slots=True)
class Record:
    """One line of an import record."""

    n: int
    wa_id: str
    consented_on: date
    notice_version: str
    file_sha256: str

    @property
    def consent_id(self) -> str:
        return f"{IMPORT_PREFIX}{self.file_sha256[:16]}:{self.n}"


def parse_record(line: str | bytes) -> Record | None:
    """A line of an import record, or None when it is not one (or not a valid one)."""
    try:
        body = json.loads(line)
        r = body[IMPORT_RECORD]
        n, wa_id, version, sha = r["n"], r["wa_id"], r["notice_version"], r["file_sha256"]
        day = date.fromisoformat(r["consented_on"])
    except (ValueError, TypeError, KeyError):
        return None
    if (type(n) is not int or n < 1 or not isinstance(wa_id, str) or not WA_ID.fullmatch(wa_id)
            or not isinstance(version, str) or not version.strip()
            or not isinstance(sha, str) or not SHA256.fullmatch(sha)):
        return None
    return Record(n, wa_id, day, version, sha)


# --- the command ---------------------------------------------------------------------------

@dataclass
class Imported:
    """What ``subscribers import`` read and wrote."""

    path: str
    kind: str
    consented_on: date
    notice_version: str
    sha256: str
    contacts: int = 0
    numbers: int = 0  # distinct valid numbers in the file
    duplicates: int = 0  # entries repeating a number already read (merged)
    problems: list[tuple[int, str, int]] = field(default_factory=list)  # line, why, digits
    known: int = 0  # numbers an earlier import already recorded
    added: int = 0
    record: str | None = None  # the import record written
    earlier: str | None = None  # the record of this very file, imported before
    migration_template: str | None = None

    @property
    def exit_code(self) -> int:
        return 1 if self.problems else 0

    def text(self) -> str:
        """What staff read: counts, each invalid entry by file:line, never a number."""
        out = [t("import.read", path=self.path, kind=t(f"import.kind.{self.kind}"),
                 contacts=self.contacts, numbers=self.numbers, duplicates=self.duplicates,
                 problems=len(self.problems))]
        out += [f"{self.path}:{line}: " + t(f"import.problem.{why}", digits=digits)
                for line, why, digits in self.problems]
        if self.problems:
            out.append(t("import.fix"))
        if self.earlier:
            out.append(t("import.earlier", record=self.earlier))
            return "\n".join(out)
        if self.known:
            out.append(t("import.known", count=self.known))
        if not self.record:
            out.append(t("import.nothing-new"))
            return "\n".join(out)
        out.append(t("import.written", record=self.record, added=self.added,
                     date=self.consented_on.strftime("%d/%m/%Y"), version=self.notice_version,
                     sha=self.sha256[:16]))
        out.append(t("import.next"))
        out.append(t("import.migration", name=self.migration_template)
                   if self.migration_template else t("import.no-migration"))
        return "\n".join(out)


def import_file(settings: Settings, path: str | Path, consented_on: str, *,
                notice_version: str | None = None, column: str | None = None) -> Imported:
    """Read ``path`` and write the import record of its numbers not recorded yet.

    Raises :class:`UnreadableFile` (nothing written) when the file cannot be read as
    a vCard or a CSV with a number column, :class:`BanditoreError` for a wrong date."""
    day = _consent_day(consented_on, settings)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise UnreadableFile(t("import.unreadable", path=path,
                               detail=exc.strerror or exc)) from None
    contacts = read_contacts(data, str(path), column)
    result = Imported(str(path), contacts.kind, day, notice_version or notice_in_force(settings),
                      hashlib.sha256(data).hexdigest(), contacts.contacts,
                      migration_template=settings.migration_template)
    numbers: dict[str, int] = {}  # in the file's order
    for entry in contacts.entries:
        reading = (read_number(entry.text)
                   if entry.problem is None and entry.text is not None else None)
        if reading is None or reading.number is None:
            why = entry.problem or (reading.problem if reading else None)
            assert why is not None  # an entry, or a reading, without a number says why
            result.problems.append((entry.line, why, reading.digits if reading else 0))
        elif reading.number in numbers:
            result.duplicates += 1
        else:
            numbers[reading.number] = entry.line
    result.numbers = len(numbers)
    recorded, files = _recorded(settings.webhook_logs)
    if result.sha256 in files:
        result.earlier = files[result.sha256]
        return result
    new = [number for number in numbers if number not in recorded]
    result.known = len(numbers) - len(new)
    if new:
        result.record = _write(settings, result, new)
        result.added = len(new)
    return result


def _consent_day(text: str, settings: Settings) -> date:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise BanditoreError(t("import.bad-date", value=text)) from None
    if day > settings.current_time().date():
        raise BanditoreError(t("import.future-date", value=text))
    return day


def _recorded(webhook_logs: str) -> tuple[set[str], dict[str, str]]:
    """The numbers every import record in the logs holds, and each imported file's
    record (by the file's SHA-256)."""
    numbers: set[str] = set()
    files: dict[str, str] = {}
    for path in logs.log_files(webhook_logs).files:
        name = os.path.basename(path)
        if not name.startswith(RECORD_PREFIX):
            continue
        data = Path(path).read_bytes()
        if name.endswith(".gz"):
            data = gzip.decompress(data)
        for line in data.splitlines():
            if record := parse_record(line):
                numbers.add(record.wa_id)
                files.setdefault(record.file_sha256, name)
    return numbers, files


def _write(settings: Settings, result: Imported, numbers: list[str]) -> str:
    """The import record, written whole and durably (mode 600, like the logs); it must
    be a file that sync reads."""
    now = settings.current_time()
    folder = logs_folder(settings.webhook_logs)
    target = folder / f"{RECORD_PREFIX}{now.date().isoformat()}-{result.sha256[:8]}.jsonl"
    if target.exists():  # eight hex digits of two files' hashes alike, on one day
        raise BanditoreError(t("import.record-exists", path=target))
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    fields = json.dumps({"consented_on": result.consented_on.isoformat(),
                         "notice_version": result.notice_version, "file_sha256": result.sha256,
                         "imported_at": now.astimezone(UTC).isoformat(timespec="seconds")},
                        separators=(",", ":"))[1:-1]
    # The number is digits only: the rest of each line is serialised once, not per line.
    lines = [f'{{"{IMPORT_RECORD}":{{"n":{n},"wa_id":"{number}",{fields}}}}}'
             for n, number in enumerate(numbers, 1)]
    replace_durably(target, ("\n".join(lines) + "\n").encode())
    listed = {os.path.realpath(p) for p in logs.log_files(settings.webhook_logs).files}
    if os.path.realpath(target) not in listed:
        target.unlink()
        raise BanditoreError(t("import.not-read", path=target, setting=settings.webhook_logs))
    return str(target)
