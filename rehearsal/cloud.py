"""The loopback Cloud API, and Meta's side of delivery: status webhooks back to the receiver.

Sends are answered by the project's own loopback Cloud API
(``tests/support/cloud_api_server.py``: Meta's bodies, codes and throttling). For every
message it accepts, this module then plays Meta: ``sent`` at once, ``delivered``
and, for most citizens, ``read`` a moment later, each as a webhook POSTed to the
receiver signed with the app secret as Meta signs (``X-Hub-Signature-256``,
HMAC-SHA256 of the raw body). A citizen whose phone cannot get messages gets
``sent`` then ``failed`` (131026). Some webhooks are delivered twice, as Meta
does. A webhook the receiver does not answer with 200 (it is restarting) is
sent again with backoff, as Meta retries: none is dropped.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from urllib.parse import urlsplit

from runner.webhook.app import sign
from tests.support.cloud_api_server import CloudApiServer

META = {"display_phone_number": "390000000000", "phone_number_id": "109876543210987"}


def envelope(value: dict) -> bytes:
    return json.dumps({"object": "whatsapp_business_account", "entry": [{
        "id": "102345678901234", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp", "metadata": META, **value}}]}]},
        separators=(",", ":"), ensure_ascii=True).encode()


def status_body(wamid: str, state: str, ts: int, to: str, callback: str | None,
                code: int | None = None) -> bytes:
    status = {"id": wamid, "status": state, "timestamp": str(ts), "recipient_id": to}
    if callback:
        status["biz_opaque_callback_data"] = callback
    if state in ("sent", "delivered"):
        status["pricing"] = {"billable": True, "pricing_model": "PMP", "type": "regular",
                             "category": "utility"}
    if code:
        status["errors"] = [{"code": code, "title": "Message Undeliverable",
                             "message": "Message Undeliverable",
                             "error_data": {"details": "Message Undeliverable."}}]
    return envelope({"statuses": [status]})


class Poster:
    """Signed webhooks to the receiver, retried until each gets its 200."""

    def __init__(self, receiver: Callable[[], str], app_secret: str):
        self.receiver = receiver
        self.app_secret = app_secret
        self.queue: deque[tuple[float, bytes, int]] = deque()  # (not before, body, tries)
        self.delivered = 0
        self.retries = 0
        self.last_refusal = ""  # the receiver's last answer other than 200, for the report
        self.posts: list[tuple[float, int]] = []  # (time.monotonic() sent, status; 0: none)
        self.lock = threading.Condition()

    def post_now(self, body: bytes) -> int:
        parts = urlsplit(self.receiver())
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        at, status = time.monotonic(), 0
        try:
            connection.request("POST", parts.path or "/", body, {
                "Content-Type": "application/json",
                "X-Hub-Signature-256": sign(body, self.app_secret)})
            answer = connection.getresponse()
            answer.read()
            status = answer.status
        except OSError:
            pass
        finally:
            connection.close()
            self.posts.append((at, status))
        return status

    def during(self, start: float, end: float) -> tuple[int, int]:
        """Webhooks posted between ``start`` and ``end``: (answered 200, not)."""
        inside = [status for at, status in self.posts if start <= at <= end]
        return inside.count(200), len(inside) - inside.count(200)

    def send(self, body: bytes, after: float = 0.0) -> None:
        with self.lock:
            self.queue.append((time.monotonic() + after, body, 0))
            self.lock.notify()

    def step(self) -> None:
        with self.lock:
            ready = [item for item in self.queue if item[0] <= time.monotonic()]
            for item in ready:
                self.queue.remove(item)
        for _, body, tries in ready:
            status = self.post_now(body)
            if status == 200:
                self.delivered += 1
            else:
                self.retries += 1
                self.last_refusal = f"HTTP {status}" if status else "no connection"
                with self.lock:  # Meta: retried with decreasing frequency
                    self.queue.append((time.monotonic() + min(0.25 * 2 ** tries, 5.0), body,
                                       tries + 1))

    def pending(self) -> int:
        with self.lock:
            return len(self.queue)


class CloudApi:
    """The loopback Cloud API plus Meta's status webhooks. ``with CloudApi(...) as api:``."""

    def __init__(self, token: str, poster: Poster, clock: Callable[[], int],
                 unreachable: Callable[[str], bool], reads: Callable[[str], bool]):
        self.server = CloudApiServer(token=token, latency=(0.01, 0.04))
        self.poster = poster
        self.clock = clock
        self.unreachable = unreachable
        self.reads = reads
        self.seen = 0
        self.first_accepted: dict[str, float] = {}  # callback prefix -> time.monotonic()
        self.throttle_at: tuple[int, int] | None = None
        self.throttled_once = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    @property
    def base(self) -> str:
        return self.server.base

    @property
    def accepted(self):
        return self.server.accepted

    def throttle_after(self, accepted: int, answers: int) -> None:
        """Meta throttling mid-broadcast: 130429 for ``answers`` requests once
        ``accepted`` more messages have been accepted."""
        self.throttle_at = (len(self.accepted) + accepted, answers)

    def _loop(self) -> None:
        while not self._stop.wait(0.02):
            accepted = self.accepted
            while self.seen < len(accepted):
                self._statuses(accepted[self.seen])
                self.seen += 1
            if self.throttle_at and len(accepted) >= self.throttle_at[0]:
                self.server.fail_all(*[130429] * self.throttle_at[1])
                self.throttle_at, self.throttled_once = None, True
            self.poster.step()

    def _statuses(self, message) -> None:
        now = self.clock()
        self.first_accepted.setdefault(message.callback or "", message.at)
        to, wamid, callback = message.to.lstrip("+"), message.wamid, message.callback
        self.poster.send(status_body(wamid, "sent", now, to, callback))
        if self.unreachable(to):
            self.poster.send(status_body(wamid, "failed", now + 1, to, callback, 131026), 0.1)
            return
        delivered = status_body(wamid, "delivered", now + 1, to, callback)
        self.poster.send(delivered, 0.1)
        if self.seen % 7 == 0:
            self.poster.send(delivered, 0.2)  # Meta delivers some webhooks twice
        if self.reads(to):
            self.poster.send(status_body(wamid, "read", now + 5, to, callback), 0.3)

    def drain(self, timeout: float = 60.0) -> bool:
        """Wait until every status webhook for what was accepted has its 200."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.seen == len(self.accepted) and not self.poster.pending():
                return True
            time.sleep(0.05)
        return False

    def __enter__(self) -> CloudApi:
        self.server.__enter__()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(5)
        self.server.__exit__(*exc)
