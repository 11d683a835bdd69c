"""Reading a POST's body before anyone knows who sent it: bounded in size, in bytes
held at once, and in time.

The signature can only be checked on the whole body, so up to 3 MB (Meta's
maximum) of an unauthenticated body is read first. Unbounded, a few clients each
sending 3 MB slowly hold the receiver's memory several times over
(docs/whatsapp-webhook-measurements.md). So, per process:

- a body announcing more than :data:`MAX_BODY` is refused (413) unread;
- the large bodies being read (over :data:`SMALL_BODY`) may hold
  :data:`IN_FLIGHT` bytes together: one that does not fit is refused at once with
  503 (Meta sends it again later), unread, so a crowd of large slow bodies costs
  at most that much memory. Small bodies, nearly every webhook Meta sends, are not
  counted, so a crowd of large ones cannot keep them out; each costs at most
  :data:`SMALL_BODY` for at most the time below;
- a body must arrive within :data:`BODY_SECONDS` (408 otherwise). Each read of
  the connection also gives up after that long without a byte: the built-in
  server sets it on its sockets, and :func:`install_read_timeout` on gunicorn's,
  whose gevent workers would otherwise wait for ever.

Meta's webhooks are a few kilobytes, and up to 3 MB for a batch: from Meta's
network a body arrives in well under a second. ``bench/receiver.py --big``
measures the memory with and without these caps.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

MAX_BODY = 3 * 1024 * 1024  # Meta's webhook payloads are at most 3 MB
SMALL_BODY = 64 * 1024  # a status or a message; Meta's batches are the large ones
IN_FLIGHT = 4 * MAX_BODY  # bytes of large unauthenticated bodies held at once, per process
BODY_SECONDS = 10.0
_READ_CHUNK = 64 * 1024


class Rejected(Exception):
    """A request that is refused with ``status``; ``reason`` is for the log only."""

    def __init__(self, status: str, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


def content_length(value: str) -> int:
    """The body size a Content-Length value announces: ASCII digits only.

    ``int()`` alone would also take ``1_0``, ``+2``, `` 2 `` or ``٢``, which
    other HTTP parsers (a proxy in front) read differently or refuse: two
    readings of one request's length are how requests get smuggled.
    Raises :class:`Rejected` (400).
    """
    if not (value.isascii() and value.isdigit()):
        raise Rejected("400 Bad Request", "bad Content-Length")
    return int(value)


class BodyReader:
    """Reads request bodies within a shared byte budget and a deadline each."""

    def __init__(self, in_flight: int = IN_FLIGHT, seconds: float = BODY_SECONDS,
                 clock: Callable[[], float] = time.monotonic):
        self.in_flight = in_flight
        self.seconds = seconds
        self._clock = clock
        self._lock = threading.Lock()
        self.held = 0  # bytes reserved by the large bodies being read

    def read(self, environ: dict) -> bytearray:
        length = environ.get("CONTENT_LENGTH", "")
        if not length:
            raise Rejected("411 Length Required", "no Content-Length")
        size = content_length(length)
        if size > MAX_BODY:
            raise Rejected("413 Content Too Large", f"body of {size} bytes")
        counted = size if size > SMALL_BODY else 0
        with self._lock:
            if self.held + counted > self.in_flight:
                raise Rejected("503 Service Unavailable", "too many large bodies in flight")
            self.held += counted
        try:
            return self._read(environ["wsgi.input"], size)
        finally:
            with self._lock:
                self.held -= counted

    def _read(self, stream, size: int) -> bytearray:
        # One buffer of the announced size, filled in place: no list of chunks
        # to join into a second copy.
        body = bytearray(size)
        view, done = memoryview(body), 0
        deadline = self._clock() + self.seconds
        try:
            while done < size:
                chunk = stream.read(min(size - done, _READ_CHUNK))
                if not chunk:
                    raise Rejected("400 Bad Request", "body shorter than Content-Length")
                view[done:done + len(chunk)] = chunk
                done += len(chunk)
                if done < size and self._clock() > deadline:
                    raise Rejected("408 Request Timeout", f"body not sent in {self.seconds:g} s")
        except OSError:  # the connection's own read timeout
            raise Rejected("408 Request Timeout", "body stalled") from None
        finally:
            view.release()
        return body


def install_read_timeout(worker, seconds: float = BODY_SECONDS) -> None:
    """Give every connection of this gunicorn worker a read timeout of ``seconds``.

    gunicorn's gevent workers time only the wait for a request's headers
    (``keepalive``); a client that stops in the middle of its body would hold its
    connection and its buffer for ever.
    """
    handle = worker.handle

    def handle_with_timeout(listener, client, addr):
        client.settimeout(seconds)
        return handle(listener, client, addr)

    worker.handle = handle_with_timeout


__all__ = ["BODY_SECONDS", "IN_FLIGHT", "MAX_BODY", "SMALL_BODY", "BodyReader", "Rejected",
           "content_length", "install_read_timeout"]
