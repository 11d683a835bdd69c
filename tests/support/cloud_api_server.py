"""A real HTTP server on 127.0.0.1 that answers like the WhatsApp Cloud API.

Used by the tests (in a thread), by bench/chaos.py (in a thread) and by
bench/send.py (as a process: ``python tests/support/cloud_api_server.py --latency 0.15``
prints its base URL, and its counts as JSON when stopped).

- ``POST /<version>/<phone_number_id>/messages``: Meta's success body, or an
  error scripted for that recipient: Meta's error body with the HTTP status
  Meta's table gives for the code, a dropped connection, or a 5xx with no body.
- Real-world :class:`Conditions`, drawn from a seeded generator after the
  scripts: the number's real ceiling (a token bucket answering 130429 when
  empty), random 130429s, 5xx answers, dropped connections, an outage window,
  and a latency drawn between two bounds.
- ``POST /<version>/<phone_number_id>/media``: multipart upload, returns ``{"id": ...}``.
- ``GET /<version>/<waba_id>/message_templates``: the account's templates
  (``templates``), ``limit`` per page, with Meta's cursor paging
  (``paging.cursors.before/after``, ``paging.next`` on every page but the last).
- A citizen known only by a business-scoped user id is addressed with ``recipient``
  instead of ``to`` (``to`` wins when both are given); the answer then carries
  ``contacts[].user_id`` and no ``wa_id``. A body with neither is refused with 100.
- A wrong bearer token answers 401 with code 190, as Meta does.
- ``refuse_quotes``: every body quoting a message (``context``) is refused with 131009,
  as Meta might where a quote is not allowed (undocumented for templates).
- Every body is held to Meta's OpenAPI description of the send-message request
  (:mod:`tests.support.cloud_api_spec`) while messages are recorded: one it refuses is
  answered with code 100 (invalid parameter) and kept in ``nonconforming``, so any
  test that sends through this server checks what the runner builds.
- Every accepted message is recorded, with the exact bytes received (unless
  ``record=False``, for the benchmarks: then only counts are kept, in
  :class:`Counts`, and bodies are not checked). ``clock`` (time.monotonic by
  default) times the bucket, the outage and the records: tests pass their fake one.
"""

from __future__ import annotations

import argparse
import base64
import itertools
import json
import random
import sys
import threading
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

# HTTP status Meta's Dec-2025 table gives per code; everything else is 400.
_STATUS = {0: 401, 190: 401, 3: 500, 131000: 500, 131016: 500, 131045: 500, 131057: 500,
           133000: 500, 10: 403, 131005: 403, 368: 403, 131031: 403, 130497: 403,
           2: 503, 133004: 503, 132001: 404}
_TITLES = {130429: "Rate limit hit",
           131056: "(Business Account, Consumer Account) pair rate limit hit",
           190: "Access token has expired", 131049: "This message was not delivered to maintain "
           "healthy ecosystem engagement.", 131026: "Message Undeliverable",
           131000: "Something went wrong", 131048: "Spam rate limit hit"}

NONCONFORMING = "nonconforming"  # a body Meta's description refuses: answered with code 100
DROP = "drop"          # close the connection without answering; the message is NOT accepted
DROP_AFTER = "drop_after"  # accept the message, then close without answering (ambiguous)
HTTP_503 = "http_503"  # a 503 with an HTML body, as a proxy in between would answer


def meta_error(code: int) -> tuple[int, dict]:
    title = _TITLES.get(code, f"Error {code}")
    body = {"error": {"message": f"(#{code}) {title}", "type": "OAuthException", "code": code,
                      "error_data": {"messaging_product": "whatsapp", "details": title},
                      "fbtrace_id": "AbCdEfGh123"}}
    return _STATUS.get(code, 400), body


# What a Cloud API in trouble answers: Meta's 5xx codes, and a proxy's 503 with no body.
SERVER_ERRORS = (131000, 131016, 133004, HTTP_503)


@dataclass
class Conditions:
    """Trouble the server makes by itself, from a generator seeded with ``seed``."""

    ceiling: float | None = None  # msg/s the number may send: a bucket a quarter second deep
    throttle: float = 0.0         # share of answers that are a random 130429
    server_errors: float = 0.0    # share answered with one of SERVER_ERRORS
    drops: float = 0.0            # share of requests whose connection is closed unanswered
    outage: tuple[float, float] | None = None  # (from, to) s after start: every one dropped
    seed: int = 0


@dataclass
class Counts:
    """What the server saw, by second since it started (for the benchmarks)."""

    requests: Counter = field(default_factory=Counter)
    accepted: Counter = field(default_factory=Counter)
    throttled: Counter = field(default_factory=Counter)
    recipients: Counter = field(default_factory=Counter)  # accepted messages per recipient


@dataclass
class Accepted:
    to: str  # the number (with "+"), or the business-scoped id of a ``recipient`` send
    callback: str | None
    wamid: str
    body: dict
    at: float
    raw: bytes = b""  # the request body exactly as it arrived


# Keys that change from one citizen to the next in the same broadcast: a body whose
# other keys were checked already is checked again only if these change type.
_PER_MESSAGE = ("to", "recipient", "biz_opaque_callback_data", "context")


def _shape(body: dict) -> str:
    return json.dumps({k: type(v).__name__ if k in _PER_MESSAGE else v
                       for k, v in body.items()}, sort_keys=True)


def check_body(raw: bytes) -> list[str]:
    """What Meta's description of the send-message body refuses in ``raw`` ([]: none)."""
    try:
        from tests.support.cloud_api_spec import refusals
    except ModuleNotFoundError:  # run as a script: tests/support/ is the path's first entry
        from cloud_api_spec import refusals
    return refusals(raw)


@dataclass
class State:
    token: str = "test-token"
    latency: float | tuple[float, float] = 0.0  # seconds, or (low, high) drawn per request
    record: bool = True
    conditions: Conditions = field(default_factory=Conditions)
    clock: Callable[[], float] = time.monotonic
    counts: Counts = field(default_factory=Counts)
    scripts: dict[str, deque] = field(default_factory=lambda: defaultdict(deque))
    script_all: deque = field(default_factory=deque)  # applied to any recipient, first
    accepted: list[Accepted] = field(default_factory=list)
    attempts: list[tuple[float, str]] = field(default_factory=list)  # (time, to) of every POST
    uploads: list[dict] = field(default_factory=list)
    templates: list[dict] = field(default_factory=list)  # message_templates' data
    template_gets: list[str] = field(default_factory=list)  # the path of every GET
    refuse_quotes: bool = False
    nonconforming: list[tuple[bytes, list[str]]] = field(default_factory=list)
    shapes: dict[str, list[str]] = field(default_factory=dict)  # body shape -> its refusals
    count: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    ids: itertools.count = field(default_factory=itertools.count)
    random: random.Random = field(default_factory=random.Random)
    started: float = 0.0
    tokens: float = 0.0
    refilled: float = 0.0

    def delay(self) -> float:
        if isinstance(self.latency, tuple):
            with self.lock:
                return self.random.uniform(*self.latency)
        return self.latency

    def trouble(self, second: int):
        """Called holding the lock: what the conditions make of this request, if anything."""
        cond, draw, now = self.conditions, self.random.random, self.clock()
        if cond.outage and cond.outage[0] <= now - self.started < cond.outage[1]:
            return DROP
        if cond.drops and draw() < cond.drops:
            return DROP
        if cond.server_errors and draw() < cond.server_errors:
            return self.random.choice(SERVER_ERRORS)
        if cond.throttle and draw() < cond.throttle:
            return 130429
        if cond.ceiling:
            depth = max(1.0, cond.ceiling / 4)
            self.tokens = min(depth, self.tokens + (now - self.refilled) * cond.ceiling)
            self.refilled = now
            if self.tokens < 1:
                return 130429
            self.tokens -= 1
        return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Meta's edge does
    disable_nagle_algorithm = True  # headers and body in separate writes: no 40 ms stalls
    state: State  # set on the subclass made per server

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        st = self.state
        delay = st.delay()
        step = None
        if self.path.endswith("/messages") and self.headers.get(
                "Authorization") == f"Bearer {st.token}":
            body = json.loads(raw)
            to = body.get("to") or body.get("recipient") or ""
            problems = self._refusals(raw, body) if st.record else []
            if problems:
                step = (NONCONFORMING, problems)
            elif not to:
                step = 100
            elif st.refuse_quotes and "context" in body:
                step = 131009
            else:
                step = self._next_step(to)  # decided when it arrives, answered after the latency
        if delay:
            time.sleep(delay)
        if self.headers.get("Authorization") != f"Bearer {st.token}":
            return self._json(*meta_error(190))
        if self.path.endswith("/media"):
            return self._upload(raw)
        if not self.path.endswith("/messages"):
            return self._json(404, {"error": {"message": "Unknown path", "code": 100,
                                              "type": "GraphMethodException"}})
        self._messages(to, body, step, raw)

    def _refusals(self, raw: bytes, body: dict) -> list[str]:
        st = self.state
        shape = _shape(body) if isinstance(body, dict) else repr(body)
        with st.lock:
            found = st.shapes.get(shape)
        if found is None:
            found = check_body(raw)
            with st.lock:
                st.shapes[shape] = found
        if found:
            with st.lock:
                st.nonconforming.append((raw, found))
        return found

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        st = self.state
        if self.headers.get("Authorization") != f"Bearer {st.token}":
            return self._json(*meta_error(190))
        url = urlsplit(self.path)
        if not url.path.endswith("/message_templates"):
            return self._json(404, {"error": {"message": "Unknown path", "code": 100,
                                              "type": "GraphMethodException"}})
        st.template_gets.append(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        limit = int(query.get("limit", 25))
        start = _cursor_to_index(query.get("after"))
        page = st.templates[start:start + limit]
        end = start + len(page)
        paging = {"cursors": {"before": _index_to_cursor(start), "after": _index_to_cursor(end)}}
        if end < len(st.templates):
            paging["next"] = (f"https://graph.facebook.com{url.path}?limit={limit}"
                              f"&after={_index_to_cursor(end)}")
        self._json(200, {"data": page, "paging": paging})

    def _next_step(self, to: str):
        st = self.state
        with st.lock:
            now = st.clock()
            second = int(now - st.started)
            st.counts.requests[second] += 1
            if st.record:
                st.attempts.append((now, to))
            if st.script_all:
                step = st.script_all.popleft()
            elif to in st.scripts and st.scripts[to]:
                step = st.scripts[to].popleft()
            else:
                step = st.trouble(second)
            if step == 130429:
                st.counts.throttled[second] += 1
            return step

    def _messages(self, to: str, body: dict, step, raw: bytes) -> None:
        if isinstance(step, tuple) and step[0] == NONCONFORMING:
            status, answer = meta_error(100)
            answer["error"]["message"] = "(#100) Invalid parameter"
            answer["error"]["error_data"]["details"] = "; ".join(step[1])
            return self._json(status, answer)
        if step == DROP:
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if step == HTTP_503:
            return self._raw(503, b"<html>Service Unavailable</html>", "text/html")
        if isinstance(step, int):
            return self._json(*meta_error(step))
        if isinstance(step, tuple):  # (code, seconds): an error with a Retry-After header
            return self._json(*meta_error(step[0]), {"Retry-After": str(step[1])})
        wamid = self._accept(to, body, raw)
        if step == DROP_AFTER:
            self.close_connection = True
            self.connection.shutdown(2)
            return
        contact = ({"input": to, "wa_id": to.lstrip("+")} if body.get("to")
                   else {"input": to, "user_id": to})
        self._json(200, {"messaging_product": "whatsapp", "contacts": [contact],
                         "messages": [{"id": wamid, "message_status": "accepted"}]})

    def _accept(self, to: str, body: dict, raw: bytes) -> str:
        st = self.state
        with st.lock:
            n = next(st.ids)
            st.count += 1
            now = st.clock()
            st.counts.accepted[int(now - st.started)] += 1
            st.counts.recipients[to] += 1
            wamid = f"wamid.TEST{n:012d}"
            if st.record:
                st.accepted.append(Accepted(to, body.get("biz_opaque_callback_data"), wamid,
                                            body, now, raw))
        return wamid

    def _upload(self, raw: bytes) -> None:
        st = self.state
        ctype = self.headers.get("Content-Type", "")
        if not ctype.startswith("multipart/form-data") or b"messaging_product" not in raw:
            return self._json(*meta_error(100))
        with st.lock:
            step = st.script_all.popleft() if st.script_all else None
        if isinstance(step, int):
            return self._json(*meta_error(step))
        with st.lock:
            media_id = f"{9000000000 + next(st.ids)}"
            st.uploads.append({"id": media_id, "size": len(raw)})
        self._json(200, {"id": media_id})

    def _json(self, status: int, body: dict, headers: dict | None = None) -> None:
        self._raw(status, json.dumps(body).encode(), "application/json", headers)

    def _raw(self, status: int, data: bytes, ctype: str, headers: dict | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _index_to_cursor(index: int) -> str:
    """Meta's cursors are opaque base64 strings; these encode a position."""
    return base64.b64encode(f"pos:{index}".encode()).decode()


def _cursor_to_index(cursor: str | None) -> int:
    return int(base64.b64decode(cursor).decode().split(":")[1]) if cursor else 0


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # hundreds of connections arrive at once at 1,000 msg/s

    def handle_error(self, request, client_address) -> None:
        # A client killed mid-request (kill -9 tests) is expected, not worth a traceback.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class CloudApiServer:
    """Start with ``with CloudApiServer() as api:``; ``api.base`` is the URL to configure."""

    def __init__(self, *, latency: float | tuple[float, float] = 0.0, token: str = "test-token",
                 record: bool = True, port: int = 0, conditions: Conditions | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        conditions = conditions or Conditions()
        self.state = State(token=token, latency=latency, record=record, conditions=conditions,
                           clock=clock, random=random.Random(conditions.seed))
        self.state.started = self.state.refilled = clock()
        self.state.tokens = max(1.0, (conditions.ceiling or 0) / 4)
        handler = type("BoundHandler", (Handler,), {"state": self.state})
        self.httpd = _Server(("127.0.0.1", port), handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,),
                                        daemon=True)

    def fail(self, to: str, *steps) -> None:
        """Script the next answers for ``to``: an error code, DROP, DROP_AFTER or HTTP_503."""
        self.state.scripts[to].extend(steps)

    def fail_all(self, *steps) -> None:
        """Script the next answers whoever the recipient is."""
        self.state.script_all.extend(steps)

    @property
    def accepted(self) -> list[Accepted]:
        return self.state.accepted

    @property
    def nonconforming(self) -> list[tuple[bytes, list[str]]]:
        """The bodies Meta's description refused, with what it refused in each."""
        return self.state.nonconforming

    @property
    def counts(self) -> Counts:
        return self.state.counts

    def __enter__(self) -> CloudApiServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", default="0.15", help="seconds, or LOW,HIGH")
    parser.add_argument("--token", default="test-token")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ceiling", type=float, help="the number's real msg/s")
    parser.add_argument("--throttle", type=float, default=0.0, help="share of random 130429")
    parser.add_argument("--server-errors", type=float, default=0.0, help="share of 5xx")
    parser.add_argument("--drops", type=float, default=0.0, help="share of dropped connections")
    parser.add_argument("--outage", help="FROM,TO seconds after start: every request dropped")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    bounds = [float(x) for x in args.latency.split(",")]
    outage = tuple(float(x) for x in args.outage.split(",")) if args.outage else None
    conditions = Conditions(ceiling=args.ceiling, throttle=args.throttle,
                            server_errors=args.server_errors, drops=args.drops, outage=outage,
                            seed=args.seed)
    server = CloudApiServer(latency=bounds[0] if len(bounds) == 1 else (bounds[0], bounds[1]),
                            token=args.token, record=False, port=args.port,
                            conditions=conditions)
    print(server.base, flush=True)
    try:
        server.httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        counts = server.counts
        print(json.dumps({"accepted": server.state.count,
                          "requests": sum(counts.requests.values()),
                          "throttled": sum(counts.throttled.values()),
                          "duplicates": sum(c - 1 for c in counts.recipients.values())}),
              flush=True)


if __name__ == "__main__":
    main()
