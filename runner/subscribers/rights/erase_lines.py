"""Erasing lines: a forgotten citizen's lines leave the webhook logs and the outbox here
(``subscribers forget``), or a copy of the logs elsewhere (``subscribers erase-lines``).
Their rows in the database are :mod:`runner.subscribers.store.erasure`'s; the copies
no command here reaches, :mod:`.out_of_reach`'s.

A file is rewritten atomically (a temporary file in the same folder, fsynced,
then renamed over the original) under the exclusive ``flock`` the webhook
receiver takes to append, and the receiver reopens a file that was replaced
while it waited: no webhook is lost to an erasure. Every line that does not
concern the citizen is kept byte for byte. A webhook that also carries other
citizens' messages (Meta may batch them) keeps theirs: it is re-serialised
without the citizen's items, marked ``"banditore_reserialised": true`` as the
receiver marks any body it had to re-serialise.

Which lines concern a citizen is decided from the identity fields (``from``,
``wa_id``, ``recipient_id``, ``to``, the user ids) alone: the numbers known to
the database, plus every identity whose pseudonym is the citizen's id, so the
same command works on a copy where there is no database (the receiver's server).
"""

from __future__ import annotations

import gzip
import json
import os
import re
import zlib
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ...errors import BanditoreError
from ...files import open_locked, replace_durably
from ...messages import t
from ..lifecycle.decisions import DecisionError
from ..logs import files as logs
from ..privacy import citizen_id as pseudonym
from ..privacy import pseudonym_key
from ..repository import beside_database

if TYPE_CHECKING:
    from ...config import Settings

_IDENTITY = re.compile(
    rb'"(?:wa_id|from|recipient_id|to|user_id|from_user_id|recipient_user_id)"\s*:\s*'
    rb'"\+?([^"\\]+)"')
_MESSAGE_KEYS = {"messages": ("from", "from_user_id"), "contacts": ("wa_id", "user_id"),
                 "statuses": ("recipient_id", "recipient_user_id")}


class ErasureError(BanditoreError):
    """A file could not be rewritten; the citizen's lines are still in it. Exit code 1."""

    exit_code = 1


@dataclass
class Erased:
    """What an erasure changed, per kind of file."""

    files: list[str] = field(default_factory=list)  # files rewritten
    removed: int = 0  # lines removed
    rewritten: int = 0  # lines re-serialised without the citizen's items
    failed: list[str] = field(default_factory=list)  # "file: reason"

    def add(self, other: Erased) -> None:
        self.files += other.files
        self.removed += other.removed
        self.rewritten += other.rewritten
        self.failed += other.failed


def identities_in(line: bytes) -> set[bytes]:
    return {m.group(1) for m in _IDENTITY.finditer(line)}


def find_identities(paths: list[str], cid: str, key: bytes | None,
                    known: Collection[str] = frozenset()) -> set[bytes]:
    """The citizen's identities: ``known`` ones plus any in the files whose pseudonym is ``cid``
    (each distinct identity is hashed once)."""
    found = {k.encode() for k in known if k}
    seen: set[bytes] = set()
    for path in paths:
        for line in _read(Path(path)).split(b"\n"):
            for identity in identities_in(line) - seen:
                seen.add(identity)
                if pseudonym(identity.decode("utf-8", "replace"), key) == cid:
                    found.add(identity)
    return found


def _pattern(identities: set[bytes]) -> re.Pattern:
    """Any of the identities as a whole (``39333000001`` is not inside ``393330000012``)."""
    alternatives = b"|".join(re.escape(i) for i in sorted(identities, key=len, reverse=True))
    return re.compile(rb"(?<![0-9A-Za-z.])(?:" + alternatives + rb")(?![0-9A-Za-z])")


def scrub(data: bytes, identities: set[bytes], *, whole_lines: bool = False) -> tuple[
        bytes, int, int]:
    """``data`` without the lines of ``identities``: (data, lines removed, lines
    rewritten). ``whole_lines`` (the outbox: one recipient per line) never rewrites."""
    if not identities:
        return data, 0, 0
    pattern = _pattern(identities)
    out, removed, rewritten = [], 0, 0
    for line in data.split(b"\n"):
        if not pattern.search(line):
            out.append(line)
            continue
        kept = None if whole_lines else _without(line, identities, pattern)
        if kept is None:
            removed += 1
        else:
            out.append(kept)
            rewritten += 1
    return b"\n".join(out), removed, rewritten


def _without(line: bytes, identities: set[bytes], pattern: re.Pattern) -> bytes | None:
    """A webhook line with the citizen's items taken out, or None if nothing else is
    left (or the line is not even JSON: unusable, and it names the citizen)."""
    try:
        body = json.loads(line)
    except ValueError:
        return None
    ids = {i.decode("utf-8", "replace") for i in identities}
    left = 0
    for entry in body.get("entry") or [] if isinstance(body, dict) else []:
        for change in entry.get("changes") or []:
            value = change.get("value") or {}
            for name, fields in _MESSAGE_KEYS.items():
                if isinstance(value.get(name), list):
                    value[name] = [item for item in value[name]
                                   if not {str(item.get(f, "")).lstrip("+") for f in fields} & ids]
                    left += len(value[name]) if name != "contacts" else 0
            left += len(value.get("errors") or [])
    if not left:
        return None
    body["banditore_reserialised"] = True
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    # Still named, in what someone else wrote ("my husband's number is ..."): masked there.
    return pattern.sub(b"[erased]", text)


def erase_file(path: Path, identities: set[bytes], *, whole_lines: bool = False) -> Erased:
    """Rewrite one file (plain or gzip) without the citizen's lines, atomically."""
    result = Erased()
    try:
        fd = open_locked(path, os.O_RDWR | os.O_CLOEXEC)  # the receiver appends under it
    except FileNotFoundError:
        return result
    except OSError as exc:
        result.failed.append(f"{path}: {exc}")
        return result
    try:
        raw = _read(path)
        new, result.removed, result.rewritten = scrub(raw, identities, whole_lines=whole_lines)
        if result.removed or result.rewritten:
            data = gzip.compress(new, mtime=0) if path.name.endswith(".gz") else new
            replace_durably(path, data, os.fstat(fd).st_mode & 0o7777)
            result.files.append(str(path))
    except (OSError, zlib.error, EOFError) as exc:
        result.failed.append(f"{path}: {exc}")
    finally:
        os.close(fd)
    return result


def erase_lines(paths: list[str], identities: set[bytes], *,
                whole_lines: bool = False) -> Erased:
    result = Erased()
    if identities:
        for path in paths:
            result.add(erase_file(Path(path), identities, whole_lines=whole_lines))
    return result


def erase_everywhere(webhook_logs: str, outbox: Path, cid: str, key: bytes | None,
                     known: Collection[str] = frozenset()) -> tuple[Erased, Erased]:
    """The citizen's lines out of every local webhook log and the outbox:
    (logs, outbox)."""
    paths = logs.log_files(webhook_logs).files
    outboxes = [str(outbox)] if Path(outbox).exists() else []
    identities = find_identities(paths + outboxes, cid, key, known)
    return (erase_lines(paths, identities),
            erase_lines(outboxes, identities, whole_lines=True))


def erase_copy(settings: Settings, cid: str, paths: list[str],
               confirm: Callable[[str], bool] | None = None) -> Erased:
    """``subscribers erase-lines``: the citizen's lines out of the given files or folders
    of webhook logs (a copy: the receiver's, a bucket's), or, with none given, out of
    the logs and outbox of the database's repository (:mod:`..repository`), once
    ``confirm`` (None: no question) agrees. Raises :class:`ErasureError` naming what
    failed, :class:`~runner.subscribers.lifecycle.decisions.DecisionError` when not
    confirmed."""
    where = [str(beside_database(settings, settings.webhook_logs)),
             str(beside_database(settings, settings.outbox))]
    if confirm is not None and not confirm(t("rights.confirm-erase-lines", citizen_id=cid,
                                             paths=", ".join(paths or where))):
        raise DecisionError(t("rights.not-confirmed"))
    if paths:
        files = sorted({f for path in paths for f in logs.log_files(path).files})
        result = erase_lines(files, find_identities(files, cid, pseudonym_key(settings)))
    else:
        result, outbox = erase_everywhere(where[0], Path(where[1]), cid,
                                          pseudonym_key(settings))
        result.add(outbox)
    if result.failed:
        raise ErasureError(t("rights.erase-failed", detail="\n  ".join(result.failed)))
    return result


def _read(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.name.endswith(".gz") else data
