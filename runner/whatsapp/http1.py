"""A lean keep-alive HTTP/1.1 client for the one request a broadcast repeats.

requests, urllib3 and http.client together spend more CPU per POST (header dicts
merged per call, the email parser for the answer's headers, a Response object)
than the send engine's whole budget per message. Here the request head is built
once, each message goes out in one write, and the answer is parsed with a
buffered reader: a fraction of that (docs/whatsapp-webhook-measurements.md).

It speaks what the Cloud API answers and no more: bodies with Content-Length
or chunked, keep-alive or ``Connection: close``, plain HTTP or TLS verified
against the same CA bundle requests uses. Everything else (media uploads, a
proxy) goes through requests.
"""

from __future__ import annotations

import os
import select
import socket
import ssl
from collections import deque
from dataclasses import dataclass
from urllib.parse import urlsplit

_MAX_LINE = 65_536
_MAX_HEADERS = 100


class ProtocolError(OSError):
    """The server's answer is not HTTP/1.1 we can read: the connection is dropped."""


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes


def tls_context() -> ssl.SSLContext:
    """Certificates verified against requests' bundle (or the one its variables name)."""
    import certifi  # requests' own dependency

    bundle = (os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
              or certifi.where())
    context = ssl.create_default_context(cafile=bundle)
    context.set_alpn_protocols(["http/1.1"])
    return context


class Connection:
    """One keep-alive connection: a request in, its answer out, one at a time."""

    def __init__(self, host: str, port: int, context: ssl.SSLContext | None,
                 connect_timeout: float, read_timeout: float) -> None:
        sock = socket.create_connection((host, port), timeout=connect_timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if context is not None:
                sock = context.wrap_socket(sock, server_hostname=host)
            sock.settimeout(read_timeout)
        except BaseException:
            sock.close()
            raise
        self.sock = sock
        self.reader = sock.makefile("rb")
        self.reusable = True

    def dropped(self) -> bool:
        """An idle keep-alive connection with something to read has been closed by the server."""
        if isinstance(self.sock, ssl.SSLSocket) and self.sock.pending():
            return True
        poller = select.poll()  # not select(): it refuses descriptors above 1023
        poller.register(self.sock, select.POLLIN)
        return bool(poller.poll(0))

    def exchange(self, request: bytes) -> Response:
        self.sock.sendall(request)
        reader = self.reader
        while True:
            version, status = _status_line(reader.readline(_MAX_LINE))
            headers = _headers(reader)
            if status >= 200:
                break  # a 1xx interim answer is followed by the real one
        if status in (204, 304):
            body = b""
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            body = _chunked(reader)
        elif "content-length" in headers:
            body = _exactly(reader, _length(headers["content-length"]))
        else:  # delimited by the server closing the connection
            body = reader.read()
            self.reusable = False
        if version != b"HTTP/1.1" or headers.get("connection", "").lower() == "close":
            self.reusable = False
        return Response(status, headers, body)

    def close(self) -> None:
        self.reusable = False
        self.reader.close()
        self.sock.close()


class Client:
    """POSTs to one URL over a pool of keep-alive connections, safe to share between threads.

    Each call takes an idle connection (or opens one) and gives it back after the
    answer; a failed exchange closes its connection and raises OSError, and the
    caller decides about retrying: a request may have reached the server.
    """

    def __init__(self, url: str, headers: dict[str, str], *, connect_timeout: float = 5.0,
                 read_timeout: float = 30.0, pool_size: int = 10) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url}")
        tls = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if tls else 80)
        self.context = tls_context() if tls else None
        self.timeouts = (connect_timeout, read_timeout)
        self.pool_size = pool_size
        host = f"[{self.host}]" if ":" in self.host else self.host  # IPv6
        netloc = host if parts.port is None else f"{host}:{self.port}"
        lines = [f"POST {parts.path or '/'}{'?' + parts.query if parts.query else ''} HTTP/1.1",
                 f"Host: {netloc}", *(f"{k}: {v}" for k, v in headers.items())]
        self._head = ("\r\n".join(lines) + "\r\nContent-Length: ").encode("latin-1")
        self._idle: deque[Connection] = deque()
        self._closed = False

    def post(self, body: bytes) -> Response:
        conn = self._take()
        try:
            response = conn.exchange(
                b"".join((self._head, str(len(body)).encode(), b"\r\n\r\n", body)))
        except BaseException:
            conn.close()
            raise
        self._give_back(conn)
        return response

    def _take(self) -> Connection:
        while True:
            try:
                conn = self._idle.pop()  # the most recently used: least likely to have timed out
            except IndexError:
                return Connection(self.host, self.port, self.context, *self.timeouts)
            try:
                if not conn.dropped():
                    return conn
            except (OSError, ValueError):
                pass
            conn.close()

    def _give_back(self, conn: Connection) -> None:
        if conn.reusable and len(self._idle) < self.pool_size:
            self._idle.append(conn)
            if self._closed:  # close() ran meanwhile: do not leave this one open
                self._close_idle()
        else:
            conn.close()

    def close(self) -> None:
        self._closed = True
        self._close_idle()

    def _close_idle(self) -> None:
        while True:
            try:
                conn = self._idle.pop()  # atomic: another thread may take the last one
            except IndexError:
                return
            conn.close()


def _status_line(line: bytes) -> tuple[bytes, int]:
    parts = line.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
        raise ProtocolError(f"bad status line {line[:40]!r}" if line else "connection closed")
    return parts[0], int(parts[1])


def _headers(reader) -> dict[str, str]:
    headers: dict[str, str] = {}
    for _ in range(_MAX_HEADERS):
        line = reader.readline(_MAX_LINE)
        if line in (b"\r\n", b"\n"):
            return headers
        name, sep, value = line.decode("latin-1").partition(":")
        if not sep:
            raise ProtocolError(f"bad header line {line[:40]!r}")
        headers[name.strip().lower()] = value.strip()
    raise ProtocolError("too many header lines")


def _length(value: str) -> int:
    if not value.isdigit():
        raise ProtocolError(f"bad Content-Length {value[:20]!r}")
    return int(value)


def _exactly(reader, n: int) -> bytes:
    data = reader.read(n)
    if len(data) != n:
        raise ProtocolError(f"body cut short: {len(data)} of {n} bytes")
    return data


def _chunked(reader) -> bytes:
    parts = []
    while True:
        size_line = reader.readline(_MAX_LINE).split(b";", 1)[0].strip()
        try:
            size = int(size_line, 16)
        except ValueError:
            raise ProtocolError(f"bad chunk size {size_line[:20]!r}") from None
        if size == 0:
            _headers(reader)  # trailers, up to the blank line
            return b"".join(parts)
        parts.append(_exactly(reader, size))
        if _exactly(reader, 2) != b"\r\n":
            raise ProtocolError("chunk not followed by CRLF")
