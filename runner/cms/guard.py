"""What the local form's server lets in: a security review wrote ``.git/config`` through it.

decap-server has no authentication and writes wherever a request says (its path
check only keeps writes inside the repository, and ``.git/config`` is inside: a
``core.fsmonitor`` there ran a command on the next ``git add``). So nothing reaches
it but through the admin server, and the admin server lets through only:

* requests whose ``Host`` is the server's own (``127.0.0.1:<port>`` or
  ``localhost:<port>``): a DNS-rebound name is refused;
* with an ``Origin``, only the server's own: a page of any other site, or of another
  ``localhost`` port, is refused;
* carrying the session's random token, which the address ``make cms`` prints hands to
  the browser once as a cookie (``HttpOnly``, ``SameSite=Strict``): another local user
  or process that does not have that address is refused;
* to decap-server, only its known actions, on the configured branch and collection,
  with every path under the announcements folder (the media folder is inside it) and
  no ``..`` nor ``.git`` segment anywhere.

Each check answers with the reason, for the terminal and the tests.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterable
from http.cookies import CookieError, SimpleCookie
from pathlib import PurePosixPath

COOKIE = "banditore_cms"
TOKEN_PARAM = "token"
_LENGTH = re.compile(r"[0-9]{1,12}")

# decap-server's actions (its joi schema) and where each one names a path.
ACTIONS = {
    "info": (), "entriesByFolder": ("folder",), "entriesByFiles": ("files[].path",),
    "getEntry": ("path",), "unpublishedEntries": (), "unpublishedEntry": (),
    "unpublishedEntryDataFile": ("path",), "unpublishedEntryMediaFile": ("path",),
    "deleteUnpublishedEntry": (), "updateUnpublishedEntryStatus": (),
    "publishUnpublishedEntry": (),
    "persistEntry": ("entry.path", "entry.newPath", "dataFiles[].path",
                     "dataFiles[].newPath", "assets[].path"),
    "getMedia": ("mediaFolder",), "getMediaFile": ("path",), "persistMedia": ("asset.path",),
    "deleteFile": ("path",), "deleteFiles": ("paths[]",), "getDeployPreview": (),
}
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/ ()+-]*")


class Refused(Exception):
    """A request the admin server does not let through: ``status`` and why."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


def content_length(value: str | None) -> int:
    """A body's announced size: ASCII digits only (``int()`` would also take ``-1``,
    ``+2``, `` 2`` or ``٢``)."""
    if value is None:
        raise Refused(411, "no Content-Length")
    if not _LENGTH.fullmatch(value):
        raise Refused(400, "Content-Length is not plain digits")
    return int(value)


class Guard:
    """The checks of one session: its port, its token, its repository's folders."""

    def __init__(self, port: int, token: str, branch: str, folder: str,
                 collection: str = "announcements"):
        self.hosts = {f"127.0.0.1:{port}", f"localhost:{port}"}
        self.origins = {f"http://{host}" for host in self.hosts}
        self.token = token
        self.branch = branch
        self.folder = PurePosixPath(folder.strip("/"))
        self.collection = collection

    def check_request(self, host: str | None, origin: str | None, cookie: str | None) -> None:
        """Host, Origin and the session's token (Refused when one is wrong)."""
        self.check_host(host, origin)
        if not self.has_token(cookie):
            raise Refused(403, "no session token: open the address `make cms` printed")

    def check_host(self, host: str | None, origin: str | None) -> None:
        if (host or "").lower() not in self.hosts:
            raise Refused(403, f"foreign Host {host!r}")
        if origin is not None and origin.lower() not in self.origins:
            raise Refused(403, f"foreign Origin {origin!r}")

    def has_token(self, cookie: str | None) -> bool:
        try:
            jar = SimpleCookie(cookie or "")
        except CookieError:
            return False
        given = jar[COOKIE].value if COOKIE in jar else ""
        return hmac.compare_digest(given.encode(), self.token.encode())

    def token_matches(self, given: str) -> bool:
        return hmac.compare_digest(given.encode(), self.token.encode())

    def cookie(self) -> str:
        return f"{COOKIE}={self.token}; Path=/; HttpOnly; SameSite=Strict"

    # --- what may reach decap-server ----------------------------------------------
    def check_proxy(self, body: object) -> None:
        """One decap-server request, parsed: a known action, on our branch and
        collection, every path under the announcements folder and clean."""
        if not isinstance(body, dict) or body.get("action") not in ACTIONS:
            raise Refused(422, "unknown decap-server action")
        params = body.get("params")
        if params is None:
            return
        if not isinstance(params, dict):
            raise Refused(422, "params is not an object")
        if "branch" in params and params["branch"] != self.branch:
            raise Refused(403, f"branch {params['branch']!r} is not {self.branch!r}")
        if "collection" in params and params["collection"] != self.collection:
            raise Refused(403, f"collection {params['collection']!r}")
        if "slug" in params and not self._clean_name(params["slug"]):
            raise Refused(403, f"slug {params['slug']!r}")
        for path in _paths(params, ACTIONS[body["action"]]):
            self.check_path(path)

    def check_path(self, path: object) -> None:
        if not isinstance(path, str) or not self._clean_name(path.lstrip("/")):
            raise Refused(403, f"path {path!r} is not a plain repository path")
        inside = PurePosixPath(path.lstrip("/"))
        if inside != self.folder and self.folder not in inside.parents:
            raise Refused(403, f"path {path!r} is outside {self.folder}/")

    @staticmethod
    def _clean_name(value: object) -> bool:
        if not isinstance(value, str) or not _NAME.fullmatch(value):
            return False
        parts = value.strip("/").split("/")
        return not any(p in ("", ".", "..") or p.lower() == ".git" for p in parts)


def _paths(params: dict, where: Iterable[str]) -> Iterable[object]:
    """The values at ``where`` (``a.b``, ``list[].key``) that are present."""
    for spec in where:
        values: list[object] = [params]
        for step in spec.split("."):
            many = step.endswith("[]")
            key = step.removesuffix("[]")
            found = []
            for value in values:
                item = value.get(key) if isinstance(value, dict) else None
                if item is None:
                    continue
                if many:
                    if not isinstance(item, list):
                        raise Refused(422, f"{key} is not a list")
                    found.extend(item)
                else:
                    found.append(item)
            values = found
        yield from values
