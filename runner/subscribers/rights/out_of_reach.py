"""Where else a forgotten citizen's data may be, and the exact commands to erase it there.

``forget`` erases the database, the local logs and the outbox itself. The
receiver's server, the bucket or repository the logs travel through, CI's
caches and artifacts and the backups are out of its reach: staff get the
commands, filled in from the same variables CI uses to fetch the logs
(``BANDITORE_LOGS_SOURCE`` and the rest, see docs/town-setup.md) where they
are set, with a placeholder in capitals where they are not. On the copies,
``subscribers erase-lines`` finds the citizen's lines by their pseudonymous id,
so it needs the same ``BANDITORE_PSEUDONYM_KEY``: it is asked for, never typed
on a command line.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from ...messages import t

if TYPE_CHECKING:
    from ...config import Settings

RECEIVER_PYTHON = "/var/lib/banditore/venv/bin/python"  # as docs/town-setup.md installs it
RECEIVER_LOGS = "/var/lib/banditore/webhook-logs"
_ASK_KEY = "read -rsp 'BANDITORE_PSEUDONYM_KEY: ' BANDITORE_PSEUDONYM_KEY; echo; " \
           "export BANDITORE_PSEUDONYM_KEY"


def _erase(cid: str, folder: str, python: str = "python") -> str:
    return f"{python} -m runner subscribers erase-lines {cid} {folder}"


def receiver(cid: str, environ: Mapping[str, str]) -> list[str]:
    target = environ.get("BANDITORE_LOGS_SSH_TARGET", "")
    host, _, folder = target.partition(":")
    host = host.rpartition("@")[2] or "RECEIVER-SERVER"
    folder = folder.rstrip("/") or RECEIVER_LOGS
    return [f"ssh -t ADMIN@{host}",
            _ASK_KEY,
            "sudo --preserve-env=BANDITORE_PSEUDONYM_KEY -u banditore "
            + _erase(cid, folder, RECEIVER_PYTHON)]


def bucket(cid: str, environ: Mapping[str, str]) -> list[str]:
    uri = environ.get("BANDITORE_LOGS_S3_URI", "s3://BUCKET/webhook-logs").rstrip("/") + "/"
    endpoint = environ.get("BANDITORE_LOGS_S3_ENDPOINT")
    aws = "aws s3 sync" + (f" --endpoint-url {endpoint}" if endpoint else "")
    only = "--exclude '*' --include '*.jsonl' --include '*.jsonl.gz'"
    return ["mkdir -m 700 erase-copy",
            f"{aws} {only} {uri} erase-copy/",
            _ASK_KEY,
            _erase(cid, "erase-copy"),
            f"{aws} {only} erase-copy/ {uri}",
            "rm -rf erase-copy"]


def repository(cid: str, environ: Mapping[str, str]) -> list[str]:
    url = environ.get("BANDITORE_LOGS_GIT_URL", "GIT-URL-OF-THE-LOGS")
    return [f"git clone {url} erase-copy",
            _ASK_KEY,
            _erase(cid, "erase-copy"),
            "git -C erase-copy commit -qam 'Erasure of a citizen (right to erasure)'",
            "git -C erase-copy push",
            "rm -rf erase-copy"]


_CI = ["gh cache delete --all",
       "gh api --paginate 'repos/{owner}/{repo}/actions/artifacts' -q '.artifacts[].id' "
       "| xargs -I{} gh api -X DELETE 'repos/{owner}/{repo}/actions/artifacts/{}'"]


def elsewhere(settings: Settings, cid: str, environ: Mapping[str, str]) -> list[str]:
    """The copies out of reach, each with its commands, as lines to print."""
    source = environ.get("BANDITORE_LOGS_SOURCE", "")
    steps = [("receiver", receiver(cid, environ))]
    for kind, commands_for in (("s3", bucket), ("git", repository)):
        if source in ("", kind):
            steps.append((kind, commands_for(cid, environ)))
    steps.append(("ci", _CI))
    lines = [t("rights.copies.header")]
    for kind, commands in steps:
        lines.append("  - " + t(f"rights.copies.{kind}"))
        lines += [f"      {command}" for command in commands]
    lines.append("  - " + t("rights.copies.reports"))
    lines.append("  - " + t("subscribers.purge-backups", database=settings.database))
    return lines
