"""The Cloud API transport and the request bodies it sends.

A broadcast sends the same body to thousands of citizens with only ``to`` and
the delivery id changing, so each body is serialised once into a ``Payload``
and per message only two strings are spliced in: no per-message json.dumps.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import requests
from requests.adapters import HTTPAdapter

from . import http1
from .meta_errors import CONNECTION_ERROR, ApiError, parse_error

# biz_opaque_callback_data = CALLBACK_PREFIX + delivery_id: status webhooks echo
# it, which is how sync, settling and reports find the delivery again.
CALLBACK_PREFIX = "banditore:"


def callback_delivery_id_sql(column: str) -> str:
    """SQL for the delivery id carried in a callback column (NULL when not ours)."""
    return (f"CASE WHEN starts_with({column}, '{CALLBACK_PREFIX}') "
            f"THEN substr({column}, {len(CALLBACK_PREFIX) + 1}) END")
_TO = "\x00TO\x00"
_ID = "\x00ID\x00"


@dataclass(frozen=True, slots=True)
class Payload:
    """A request body serialised once, with holes for the recipient and the delivery id."""

    head: bytes
    middle: bytes
    tail: bytes

    def body(self, wa_id: str, delivery_id: str) -> bytes:
        # wa_id is digits; the delivery id is made of slugs and hex, escaped only if it must be.
        did = delivery_id if delivery_id.isascii() and '"' not in delivery_id \
            and "\\" not in delivery_id else json.dumps(delivery_id)[1:-1]
        return b"".join((self.head, wa_id.encode(), self.middle, did.encode(), self.tail))


def compile_payload(message: dict) -> Payload:
    """``message`` is the type part (``{"type": "template", "template": {...}}``)."""
    body = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        # Always "+" and the country code: without "+" Meta prefixes the business
        # number's own country code (cloud-api.md section 4).
        "to": "+" + _TO,
        "biz_opaque_callback_data": CALLBACK_PREFIX + _ID,
        **message,
    }
    text = json.dumps(body, separators=(",", ":"))
    head, rest = text.split(json.dumps(_TO)[1:-1])
    middle, tail = rest.split(json.dumps(_ID)[1:-1])
    return Payload(head.encode(), middle.encode(), tail.encode())


def text_message(text: str) -> dict:
    return {"type": "text", "text": {"body": text, "preview_url": True}}


def template_message(name: str, language: str, parameters: list[str],
                     parameter_names: list[str] | None = None,
                     header: tuple[str, dict] | None = None) -> dict:
    """A template send: body parameters (named when the template has names) and a media header.

    ``header`` is ``(media type, {"id": ...} or {"link": ...})`` or ``("text", value)``.
    """
    components = []
    if header is not None:
        kind, ref = header
        components.append({"type": "header", "parameters": [{"type": kind, kind: ref}]})
    if parameters:
        names = parameter_names or []
        params = []
        for i, value in enumerate(parameters):
            param = {"type": "text", "text": value}
            if i < len(names):
                param = {"type": "text", "parameter_name": names[i], "text": value}
            params.append(param)
        components.append({"type": "body", "parameters": params})
    template: dict = {"name": name, "language": {"code": language}}
    if components:
        template["components"] = components
    return {"type": "template", "template": template}


def reply_template_message(name: str, config, text: str, settings) -> dict:
    """A welcome/goodbye as an approved template (outside the 24-hour window).

    Each body parameter is the town's name where the template asks for ``town``,
    otherwise the reply text on one line (a parameter may hold no newline).
    """
    flat = " ".join(text.split())
    params = [settings.town if src == "town" else flat for src in config.body]
    return template_message(name, config.language, params, list(config.parameter_names))


def announcement_message(rendered, media: dict | None) -> dict:
    """The message part for a rendered announcement (runner.render.Rendered).

    ``media`` is the header/attachment reference, ``{"id": ...}`` or ``{"link": ...}``.
    """
    header = rendered.header
    if rendered.template is not None:
        head = (header.kind, media) if header is not None and media is not None else None
        if rendered.header_text is not None:
            head = ("text", rendered.header_text)
        return template_message(rendered.template, rendered.language, rendered.parameters,
                                rendered.parameter_names, head)
    if header is not None and media is not None:
        # No template: the media with the text as its caption (inside the 24-hour window).
        obj = {**media, "caption": rendered.text}
        if header.kind == "document":
            obj["filename"] = Path(header.source.split("?", 1)[0]).name
        return {"type": header.kind, header.kind: obj}
    return text_message(rendered.text)


def media_id(con, transport, path: Path, settings) -> str:
    """The id of a repo file uploaded through /media, uploading it only the first time.

    Meta keeps uploaded media 30 days; the cached id is reused for 29.
    """
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    scope = f"{transport.name}:{settings.whatsapp_phone_number_id}"
    now = settings.current_time()
    row = con.execute(
        "SELECT media_id FROM media_uploads WHERE sha256 = ? AND scope = ? AND uploaded_at > ?",
        [digest, scope, now - timedelta(days=29)],
    ).fetchone()
    if row:
        return row[0]
    media = transport.upload_media(Path(path))
    con.execute(
        "INSERT OR REPLACE INTO media_uploads VALUES (?, ?, ?, ?, ?)",
        [digest, scope, str(path), media, now],
    )
    return media


@dataclass(frozen=True, slots=True)
class Result:
    wamid: str | None = None
    error: ApiError | None = None


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
        # The hot path, one POST per citizen, goes through runner.http1: at 80 msg/s
        # it costs 0.1-0.25 ms of CPU per message, urllib3 alone 0.45-0.75 ms and
        # session.post more. A proxy, which only requests speaks, takes the Session.
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
