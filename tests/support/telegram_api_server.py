"""A real HTTP server on 127.0.0.1 that answers like the Telegram Bot API.

- ``POST /bot<token>/sendMessage`` and ``/sendPhoto`` (form or multipart, as Telegram
  takes them): ``{"ok": true, "result": {"message_id": N, ...}}``, message ids
  counting up per chat, as in a channel;
- a wrong token answers 401 ``Unauthorized``, an unknown chat 400 ``chat not found``,
  HTML that does not parse 400 ``can't parse entities``, as Telegram does;
- scripted answers, in order, for the next requests: ``(429, seconds)`` (Too Many
  Requests with ``parameters.retry_after``), ``HANG`` (the message *is* posted,
  then the answer never comes: what a client killed mid-request leaves behind),
  ``DROP`` (the connection closes before anything is posted).

Every posted message is recorded in ``state.posted``.
"""

from __future__ import annotations

import email.parser
import email.policy
import itertools
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

TOKEN = "123:test-token"  # the bot's
CHAT = "@comuneprova"  # the town's channel
HANG = "hang"
DROP = "drop"
TELEGRAM_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code",
                 "pre", "blockquote", "tg-spoiler", "span"}


@dataclass
class State:
    token: str = TOKEN
    chats: set[str] = field(default_factory=lambda: {CHAT})
    script: deque = field(default_factory=deque)
    posted: list[dict] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)  # method of every request
    ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    lock: threading.Lock = field(default_factory=threading.Lock)
    release: threading.Event = field(default_factory=threading.Event)


class _TagCheck(HTMLParser):
    """Telegram accepts only its own tags, properly nested."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.bad = False

    def handle_starttag(self, tag, attrs):
        self.bad |= tag not in TELEGRAM_TAGS
        self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack.pop() != tag:
            self.bad = True


def parses(text: str) -> bool:
    check = _TagCheck()
    check.feed(text)
    check.close()
    return not check.bad and not check.stack


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state: State

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        st = self.state
        token, _, method = self.path.removeprefix("/bot").partition("/")
        with st.lock:
            st.requests.append(method)
            step = st.script.popleft() if st.script else None
        if token != st.token:
            return self._answer(401, {"ok": False, "error_code": 401,
                                      "description": "Unauthorized"})
        if method not in ("sendMessage", "sendPhoto"):
            return self._answer(404, {"ok": False, "error_code": 404,
                                      "description": "Not Found"})
        if step == DROP:
            self.close_connection = True
            return
        if isinstance(step, tuple) and step[0] == 429:
            return self._answer(429, {"ok": False, "error_code": 429,
                                      "description": f"Too Many Requests: retry after {step[1]}",
                                      "parameters": {"retry_after": step[1]}})
        fields = self._fields(raw)
        if fields.get("chat_id") not in st.chats:
            return self._answer(400, {"ok": False, "error_code": 400,
                                      "description": "Bad Request: chat not found"})
        text = fields.get("text") or fields.get("caption") or ""
        if fields.get("parse_mode") == "HTML" and not parses(text):
            return self._answer(400, {"ok": False, "error_code": 400, "description":
                                      "Bad Request: can't parse entities"})
        with st.lock:
            message = {"message_id": next(st.ids), "method": method, **fields}
            st.posted.append(message)
        if step == HANG:  # posted, and the answer never comes
            st.release.wait(30)
            self.close_connection = True
            return
        result = {"message_id": message["message_id"], "date": int(time.time()),
                  "chat": {"id": -1001234567890, "type": "channel"}}
        return self._answer(200, {"ok": True, "result": result})

    def _fields(self, raw: bytes) -> dict:
        kind = self.headers.get("Content-Type", "")
        if kind.startswith("multipart/form-data"):
            message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                f"Content-Type: {kind}\r\n\r\n".encode() + raw)
            fields = {}
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                payload = part.get_payload(decode=True)
                fields[name] = (payload if part.get_filename() else payload.decode())
            return fields
        return {k: v[0] for k, v in parse_qs(raw.decode()).items()}

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class TelegramApiServer:
    """``with TelegramApiServer() as api:`` serves on 127.0.0.1; ``api.base`` is the URL."""

    def __init__(self, state: State | None = None) -> None:
        self.state = state or State()
        handler = type("BoundHandler", (Handler,), {"state": self.state})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> TelegramApiServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.state.release.set()
        self.server.shutdown()
        self.server.server_close()
