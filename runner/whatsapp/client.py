"""The Cloud API client: ``POST /messages`` for each citizen, ``/media`` uploads."""

from __future__ import annotations

import json
import mimetypes
from pathlib import Path

import requests
from requests.adapters import HTTPAdapter

from . import http1
from .answers import CONNECTION_ERROR, ApiError, Result, parse_error


class CloudTransport:
    """POST /{version}/{phone_number_id}/messages through one pooled Session."""

    name = "cloud"
    concurrent = True

    def __init__(self, base: str, version: str, phone_number_id: str, token: str,
                 *, pool_size: int = 10, timeout: tuple[float, float] = (5.0, 30.0)) -> None:
        root = f"{base.rstrip('/')}/{version}/{phone_number_id}"
        self.messages_url = f"{root}/messages"
        self.media_url = f"{root}/media"
        self.timeout = timeout
        self.session = requests.Session()
        # One connection per worker thread, kept alive: no TCP/TLS handshake per message.
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size, max_retries=0)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self.session.headers.update({"Authorization": f"Bearer {token}"})
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                   "Accept": "application/json", "User-Agent": "banditore"}
        # The hot path, one POST per citizen, goes through .http1: a fraction of the
        # CPU per message of urllib3 alone, let alone session.post (measured:
        # docs/whatsapp-webhook-measurements.md). A proxy, which only requests
        # speaks, takes the Session.
        self._http = None
        if not requests.utils.get_environ_proxies(self.messages_url):
            self._http = http1.Client(self.messages_url, headers, connect_timeout=timeout[0],
                                      read_timeout=timeout[1], pool_size=pool_size)
        self._headers = headers

    def post(self, body: bytes) -> Result:
        try:
            if self._http is not None:
                resp = self._http.post(body)
                status, data, retry_after = resp.status, resp.body, resp.headers.get("retry-after")
            else:
                resp = self.session.post(self.messages_url, data=body, headers=self._headers,
                                         timeout=self.timeout, allow_redirects=False)
                status, data = resp.status_code, resp.content
                retry_after = resp.headers.get("Retry-After")
        except (OSError, requests.RequestException) as exc:
            # Timeouts and dropped connections: retried by the engine.
            return Result(error=ApiError(CONNECTION_ERROR, type(exc).__name__))
        try:
            answer = json.loads(data)
        except ValueError:
            answer = None
        if status == 200 and isinstance(answer, dict):
            try:
                return Result(wamid=answer["messages"][0]["id"])
            except (KeyError, IndexError, TypeError):
                pass
        return Result(error=parse_error(status, answer, retry_after))

    def upload_media(self, path: Path) -> str:
        """Upload a repo file once; the returned id is reused for every recipient (30 days)."""
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        with open(path, "rb") as fh:
            try:
                resp = self.session.post(
                    self.media_url, timeout=(self.timeout[0], 120),
                    data={"messaging_product": "whatsapp", "type": mime},
                    files={"file": (path.name, fh, mime)},
                )
            except requests.RequestException as exc:
                raise UploadError(ApiError(CONNECTION_ERROR, type(exc).__name__)) from None
        try:
            answer = resp.json()
        except ValueError:
            answer = None
        if resp.status_code == 200 and isinstance(answer, dict) and answer.get("id"):
            return str(answer["id"])
        raise UploadError(parse_error(resp.status_code, answer))

    def sync(self) -> None:
        """Nothing to make durable: the API has it."""

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
        self.session.close()


class UploadError(Exception):
    def __init__(self, error: ApiError) -> None:
        super().__init__(f"{error.code} {error.title}")
        self.error = error
