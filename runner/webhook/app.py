"""The webhook receiver: the public endpoint Meta delivers citizens' messages to.

A plain WSGI application (stdlib only), so it runs under any WSGI server; the
documented one::

    gunicorn -c python:runner.webhook.gunicorn_conf 'runner.webhook:create_app()'

or, for a small deployment, ``python -m runner webhook serve`` (:mod:`.server`).
Both servers check the raw ``Content-Length`` lines (:mod:`.framing`).

- ``GET`` answers Meta's verification handshake: ``hub.mode=subscribe`` and the
  right ``hub.verify_token`` get ``200`` with ``hub.challenge`` as the body;
  anything else ``403``. ``GET .../healthz`` is for monitoring: ``200`` while a
  real write and fsync in the logs folder succeed (a full disk fails it), ``503``
  otherwise.
- ``POST`` checks, in this order: a ``Content-Length`` (411 without, 413 above
  3 MB, Meta's maximum, before reading a byte of the body; 400 unless it is
  plain digits; both servers refuse any line but ``Content-Length: <digits>``
  before the application runs), room for the body among those being read and
  its arrival in time (503, 408: :mod:`.body`), the
  ``X-Hub-Signature-256`` HMAC of the raw body with the app secret (401 when
  missing or wrong), JSON in UTF-8 that Python can parse (400; nesting deeper
  than its recursion limit included). Nothing is written for a rejected
  request. An accepted body goes to the :class:`~runner.webhook.logwriter.LogWriter` and
  the ``200`` is sent only once its line is on disk. Once that answer is sent,
  a citizen's message pokes the :class:`~runner.webhook.dispatch.Dispatcher`, if
  GitHub dispatch is configured, which asks GitHub for a run on a thread of its own.

What a line holds: the raw body bytes exactly as Meta sent them, whenever they
are one line (Meta's bodies are compact JSON, so in practice always): the
signature can be verified again later only on those bytes. A body that spans
several lines cannot be one JSONL line as it is; it is re-serialised compactly
(ASCII-escaped, as Meta itself escapes) and marked with a top-level key
``"banditore_reserialised": true`` (a body that is not a JSON object is wrapped
as ``{"body": ..., "banditore_reserialised": true}``). Readers that look only
at Meta's keys read both forms alike.

Logging names the method, the path without its query string (the verify token
travels there), the status and the reason; never a body, a number or a secret.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs
from wsgiref.types import WSGIApplication

from ..config import Settings, load_settings
from ..errors import ConfigError
from ..messages import t
from .body import MAX_BODY, BodyReader, Rejected, content_length
from .logwriter import LogWriter, logs_folder
from .oauth import with_oauth

if TYPE_CHECKING:
    from pydantic import SecretStr

    from .dispatch import Dispatcher

log = logging.getLogger("banditore.webhook")

RESERIALISED_KEY = "banditore_reserialised"
HEALTH_PATH = "/healthz"
_POKE = "banditore.dispatch"  # environ key: this request's message asks for a run


class WebhookApp:
    """The WSGI application. Build it with :func:`create_app`."""

    def __init__(self, app_secret: bytes, verify_token: bytes, log: LogWriter,
                 dispatcher: Dispatcher | None = None, bodies: BodyReader | None = None):
        if not app_secret or not verify_token:
            raise ValueError("the app secret and the verify token must not be empty")
        self._secret = app_secret
        self._verify_token = verify_token
        self.log = log
        self.dispatcher = dispatcher
        self.bodies = bodies or BodyReader()

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "")
        headers = [("Content-Type", "text/plain; charset=utf-8"),
                   ("X-Content-Type-Options", "nosniff"),
                   ("Cache-Control", "no-store")]
        try:
            if method == "GET" and environ.get("PATH_INFO", "").endswith(HEALTH_PATH):
                body = self._health()
            elif method == "GET":
                body = self._handshake(environ.get("QUERY_STRING", ""))
            elif method == "POST":
                body = self._receive(environ)
            else:
                headers.append(("Allow", "GET, POST"))
                raise Rejected("405 Method Not Allowed", "method")
            status = "200 OK"
        except Rejected as exc:
            status, body = exc.status, exc.status.encode()
            # No path: it is decoded, and could carry a forged line into the log.
            log.info("%s rejected (%s): %s", method, exc.status[:3], exc.reason)
        headers.append(("Content-Length", str(len(body))))
        start_response(status, headers)
        if environ.get(_POKE) and self.dispatcher is not None:
            return _ThenPoke(body, self.dispatcher)
        return [body]

    def _health(self) -> bytes:
        # For the town's monitoring: up, and able to write where the logs go. A
        # writable folder on a full disk still fails every POST, so the check
        # is a real write (see LogWriter.probe).
        problem = self.log.probe()
        if problem:
            raise Rejected("503 Service Unavailable", f"log not writable: {problem}")
        return b"OK"

    def _handshake(self, query: str) -> bytes:
        params = parse_qs(query, keep_blank_values=True)
        mode = params.get("hub.mode", [""])[0]
        token = params.get("hub.verify_token", [""])[0].encode("utf-8", "surrogateescape")
        challenge = params.get("hub.challenge", [None])[0]
        if mode != "subscribe" or challenge is None:
            raise Rejected("403 Forbidden", "not a subscribe handshake")
        if not hmac.compare_digest(token, self._verify_token):
            raise Rejected("403 Forbidden", "wrong verify token")
        return challenge.encode("utf-8", "surrogateescape")

    def _receive(self, environ: dict) -> bytes:
        raw = self.bodies.read(environ)
        if not self._signed(raw, environ.get("HTTP_X_HUB_SIGNATURE_256")):
            raise Rejected("401 Unauthorized", "missing or wrong X-Hub-Signature-256")
        parsed = _parse(raw)
        try:
            self.log.append(_line(raw, parsed))
        except OSError as exc:
            # Not acknowledged: Meta retries, and nothing is lost.
            raise Rejected("503 Service Unavailable", f"log: {exc.strerror}") from None
        if self.dispatcher is not None and self.dispatcher.wants_run(parsed):
            environ[_POKE] = True
        return b"OK"

    def _signed(self, raw: bytes | bytearray, header: str | None) -> bool:
        if not header:
            return False
        expected = "sha256=" + hmac.new(self._secret, raw, hashlib.sha256).hexdigest()
        # WSGI gives header values as latin-1 strings; compare bytes in constant time.
        given = header.strip().lower().encode("latin-1", "replace")
        return hmac.compare_digest(expected.encode(), given)


class _ThenPoke:
    """The answer's body; closing it, which a WSGI server does once the answer is
    sent, pokes the dispatcher: Meta gets its 200 first, and the dispatcher's
    thread (memory only, then GitHub) never competes with the answer."""

    def __init__(self, body: bytes, dispatcher: Dispatcher):
        self._body = body
        self._dispatcher = dispatcher

    def __iter__(self) -> Iterator[bytes]:
        yield self._body

    def close(self) -> None:
        self._dispatcher.poke()


def _no_constants(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def log_line(raw: bytes) -> bytes:
    """The log line for an accepted body: its raw bytes if they are one line.

    Raises :class:`Rejected` (400) when the body is not JSON in UTF-8.
    """
    return _line(raw, _parse(raw))


def _parse(raw: bytes | bytearray) -> Any:
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_no_constants)
    except (UnicodeDecodeError, ValueError):
        raise Rejected("400 Bad Request", "not JSON in UTF-8") from None
    except RecursionError:
        # Nested deeper than Python's parser goes (Meta nests five levels).
        raise Rejected("400 Bad Request", "JSON nested too deep") from None


def _line(raw: bytes | bytearray, parsed: Any) -> bytes:
    if b"\n" not in raw and b"\r" not in raw:
        return b"".join((raw, b"\n"))  # bytes in one copy (raw is the reader's bytearray)
    record = dict(parsed) if isinstance(parsed, dict) else {"body": parsed}
    record[RESERIALISED_KEY] = True
    return json.dumps(record, separators=(",", ":"), ensure_ascii=True).encode() + b"\n"


def create_app(settings: Settings | None = None) -> WSGIApplication:
    """The receiver configured from the settings (environment, .env, pyproject.toml).

    Refuses to start without the app secret and the verify token, without
    a logs folder it can write to, and with only half of GitHub dispatch's
    settings (a repository without a token, or the reverse).
    """
    settings = settings or load_settings()
    secret = _secret_value(settings.whatsapp_app_secret)
    token = _secret_value(settings.whatsapp_verify_token)
    missing = [name for name, value in (("BANDITORE_WHATSAPP_APP_SECRET", secret),
                                        ("BANDITORE_WHATSAPP_VERIFY_TOKEN", token)) if not value]
    if missing:
        raise ConfigError(t("webhook.missing-secrets", settings.language,
                            names=", ".join(missing)))
    folder = logs_folder(settings.webhook_logs)
    _check_writable(folder, settings.language)
    dispatcher = None
    if settings.github_repository or settings.github_dispatch_token is not None:
        # Imported only then: its HTTPS client and tenacity cost every worker
        # memory (docs/measurements.md).
        from .dispatch import dispatcher_for

        dispatcher = dispatcher_for(settings, folder)
        dispatcher.start()  # the daily heartbeat runs even if nobody writes
    else:
        log.info("no GitHub dispatch configured: replies wait for the scheduled run")
    # The staff form's GitHub login (/auth, /callback) when the town set it up.
    return with_oauth(WebhookApp(secret, token, LogWriter(folder), dispatcher), settings)


def _secret_value(secret: SecretStr | None) -> bytes:
    return secret.get_secret_value().encode() if secret is not None else b""


def _check_writable(folder: Path, language: str) -> None:
    probe = folder / ".banditore-write-test"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(t("webhook.logs-folder-unusable", language,
                            folder=folder, detail=exc.strerror)) from None


def sign(body: bytes, app_secret: str | bytes) -> str:
    """The ``X-Hub-Signature-256`` value Meta sends for ``body`` (tests, benchmarks)."""
    key = app_secret.encode() if isinstance(app_secret, str) else app_secret
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


__all__ = ["MAX_BODY", "RESERIALISED_KEY", "WebhookApp", "content_length", "create_app",
           "log_line", "sign"]
