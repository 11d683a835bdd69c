"""Where a database's repository is: the staff decisions and the local copies a staff
command changes belong to it, never to whatever repository the command runs in.

A database may be a copy (``BANDITORE_DATABASE=/tmp/copia/subscribers.duckdb``, to
try something out). A decision made against the copy must not land in the real
repository's ``subscribers/decisions.txt``, where the next sync of the real
database would apply it; forgetting someone in the copy must not rewrite the real
logs. So a relative ``decisions_file``, ``webhook_logs`` or ``outbox`` is read
against the repository that holds the database: the nearest folder above it with a
``.git``, else the database's own folder. For the usual layout (the database in
the repository's root, git-ignored) that is where they always were.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..config import Settings


def repository_of(database: str | Path) -> Path:
    """The git working tree holding ``database``, else the database's folder."""
    folder = Path(database).absolute().parent
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    return folder


def beside_database(settings: Settings, path: str | Path) -> Path:
    """``path`` as the database's repository reads it (an absolute path as it is)."""
    path = Path(path)
    if path.is_absolute():
        return path
    base = repository_of(settings.database)
    # Where the command runs: the path as written, as sync records it in log_files.
    return path if base == Path.cwd().absolute() else base / path


def decisions_path(settings: Settings) -> Path:
    """The decisions file of the database's repository: read by sync, written by staff."""
    return beside_database(settings, settings.decisions_file)


def shown(path: Path) -> str:
    """A path as staff read it: relative to where they are when it is under it."""
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(path)
