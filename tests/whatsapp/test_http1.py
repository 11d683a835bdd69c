"""runner.http1 against real sockets on 127.0.0.1.

A tiny raw-socket server answers each request with bytes the test scripts, so
every framing case (Content-Length, chunked, close-delimited, 1xx, cut short,
garbage) is exact; it counts the connections and requests it sees.
"""

from __future__ import annotations

import os
import resource
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections import deque
from contextlib import closing
from dataclasses import dataclass

import pytest

from runner.whatsapp import http1
from runner.whatsapp.bodies import compile_payload, text_message
from runner.whatsapp.client import CloudTransport

PATH = "/v21.0/1234/messages"


# --- a scripted raw-socket server --------------------------------------------------------------

@dataclass(frozen=True)
class Answer:
    raw: bytes  # sent as is; b"" sends nothing (the request goes unanswered)
    close: bool = False  # close the connection after sending
    gate: threading.Event | None = None  # answer only once the test sets it


def ok(body: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)


@dataclass(frozen=True)
class Request:
    head: bytes  # request line and headers, up to and including the blank line
    headers: dict[str, str]  # names in lower case
    body: bytes
    connection: int  # 1 for the first connection the server accepted, and so on


class RawServer:
    """Reads one request head + Content-Length body at a time; answers the next scripted
    Answer, or echoes the body in a 200 when the script is empty."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.tls = tls
        self.script: deque[Answer] = deque()
        self.requests: list[Request] = []
        self.connections = 0  # accepted so far
        self.closed = 0  # connections ended (by either side)
        self._open: set[socket.socket] = set()
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.02)  # how often the accept loop looks at _stop
        self.port = self._listener.getsockname()[1]
        self._threads = [threading.Thread(target=self._accept_loop)]
        self._threads[0].start()

    def wait_closed(self, n: int) -> None:
        with self._changed:
            done = self._changed.wait_for(lambda: self.closed >= n, timeout=2)
        assert done, f"{self.closed} of {n} connections closed"

    def wait_requests(self, n: int) -> None:
        with self._changed:
            done = self._changed.wait_for(lambda: len(self.requests) >= n, timeout=2)
        assert done, f"{len(self.requests)} of {n} requests arrived"

    def close(self) -> None:
        self._stop.set()
        self._threads[0].join()
        with self._changed:  # wake the connection threads still reading
            for sock in self._open:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        for thread in self._threads[1:]:
            thread.join(timeout=5)
        self._listener.close()

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            with self._changed:
                self.connections += 1
                self._open.add(sock)
                thread = threading.Thread(target=self._serve, args=(sock, self.connections))
            self._threads.append(thread)
            thread.start()

    def _serve(self, sock: socket.socket, number: int) -> None:
        reader = None
        try:
            if self.tls is not None:
                raw = sock
                sock = self.tls.wrap_socket(sock, server_side=True)
                with self._changed:
                    self._open.discard(raw)
                    self._open.add(sock)
            reader = sock.makefile("rb")
            while self._exchange(sock, reader, number):
                pass
        except OSError:
            pass  # the client went away, or refused our certificate
        finally:
            with self._changed:
                self._open.discard(sock)
            if reader is not None:
                reader.close()
            sock.close()
            with self._changed:
                self.closed += 1
                self._changed.notify_all()

    def _exchange(self, sock, reader, number: int) -> bool:
        lines = [reader.readline()]
        if not lines[0]:
            return False  # the client closed the connection
        while lines[-1] not in (b"\r\n", b""):
            lines.append(reader.readline())
        headers = {}
        for line in lines[1:-1]:
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        body = reader.read(int(headers.get("content-length", 0)))
        with self._changed:
            self.requests.append(Request(b"".join(lines), headers, body, number))
            self._changed.notify_all()
            answer = self.script.popleft() if self.script else Answer(ok(body))
        if answer.gate is not None:
            answer.gate.wait(timeout=5)
        sock.sendall(answer.raw)
        return not answer.close


@pytest.fixture
def server():
    srv = RawServer()
    yield srv
    srv.close()


@pytest.fixture
def connect():
    """``connect(port, **options)`` -> an http1.Client, closed after the test."""
    clients = []

    def make(port: int, *, scheme: str = "http", headers: dict | None = None, **options):
        client = http1.Client(f"{scheme}://127.0.0.1:{port}{PATH}", headers or {}, **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture(autouse=True)
def _no_proxy_env(monkeypatch):
    """CloudTransport picks its path from the proxy variables: none from the developer's shell."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def connections_of(server: RawServer) -> list[int]:
    return [r.connection for r in server.requests]


# --- framing ----------------------------------------------------------------------------------

def test_content_length_answer_and_the_request_on_the_wire(server, connect):
    server.script.append(Answer(b"HTTP/1.1 201 Created\r\nX-Trace-Id: AbC\r\n"
                                b"Content-Type: application/json\r\nContent-Length: 9\r\n\r\n"
                                b'{"id":42}'))
    client = connect(server.port, headers={"Authorization": "Bearer s3cret",
                                           "Content-Type": "application/json"})

    response = client.post(b'{"to":"+39"}')

    assert response.status == 201
    assert response.headers == {"x-trace-id": "AbC", "content-type": "application/json",
                                "content-length": "9"}
    assert response.body == b'{"id":42}'
    (request,) = server.requests
    assert request.head == (f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
                            "Authorization: Bearer s3cret\r\nContent-Type: application/json\r\n"
                            "Content-Length: 12\r\n\r\n").encode()
    assert request.body == b'{"to":"+39"}'


def test_keep_alive_reuses_one_connection(server, connect):
    client = connect(server.port)

    bodies = [client.post(b"message %d" % i).body for i in range(5)]

    assert bodies == [b"message %d" % i for i in range(5)]
    assert server.connections == 1
    assert connections_of(server) == [1] * 5


def test_chunked_answer_with_extension_and_trailer(server, connect):
    server.script.append(Answer(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                b"5;name=value\r\nhello\r\n"
                                b"7\r\n, world\r\n"
                                b"0\r\nX-Checksum: abc\r\n\r\n"))
    client = connect(server.port)

    assert client.post(b"x").body == b"hello, world"
    assert client.post(b"again").body == b"again"
    assert connections_of(server) == [1, 1]


@pytest.mark.parametrize("answer", [
    b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 4\r\n\r\nbody",
    b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nbody until the close",
], ids=["connection-close", "http10-until-close"])
def test_answer_that_ends_the_connection_is_not_reused(server, connect, answer):
    server.script.append(Answer(answer, close=True))
    client = connect(server.port)

    assert client.post(b"first").body == answer.split(b"\r\n\r\n", 1)[1]
    assert client.post(b"second").body == b"second"
    assert connections_of(server) == [1, 2]


def test_100_continue_then_the_real_answer(server, connect):
    server.script.append(Answer(b"HTTP/1.1 100 Continue\r\n\r\n" + ok(b"done")))
    client = connect(server.port)

    response = client.post(b"x")

    assert (response.status, response.body) == (200, b"done")
    assert client.post(b"next").body == b"next"
    assert connections_of(server) == [1, 1]


@pytest.mark.parametrize("answer", [
    Answer(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this", close=True),
    Answer(b"SSH-2.0-OpenSSH_9.2\r\n\r\n"),
    Answer(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nshort", close=True),
    Answer(b"", close=True),
], ids=["body-cut-short", "garbage-status-line", "chunk-cut-short", "closed-before-answer"])
def test_unreadable_answer_raises_protocol_error_then_a_fresh_connection(
        server, connect, answer):
    server.script.append(answer)
    client = connect(server.port)

    with pytest.raises(http1.ProtocolError):
        client.post(b"x")

    assert issubclass(http1.ProtocolError, OSError)  # callers catch OSError
    assert client.post(b"y").body == b"y"
    assert connections_of(server) == [1, 2]


def test_idle_connection_closed_by_the_server_is_replaced_transparently(server, connect):
    # The server answers as if keeping the connection, then closes it while it is idle.
    server.script.append(Answer(ok(b"first"), close=True))
    client = connect(server.port)
    assert client.post(b"x").body == b"first"
    server.wait_closed(1)

    assert client.post(b"second").body == b"second"
    assert connections_of(server) == [1, 2]


def test_read_timeout_when_the_server_never_answers(server, connect):
    server.script.append(Answer(b""))
    client = connect(server.port, read_timeout=0.2)

    start = time.monotonic()
    with pytest.raises(TimeoutError):  # an OSError
        client.post(b"x")
    elapsed = time.monotonic() - start

    assert 0.15 < elapsed < 1.0
    assert client.post(b"y").body == b"y"  # the timed-out connection is not reused
    assert connections_of(server) == [1, 2]


def test_threads_share_one_client(server, connect):
    client = connect(server.port, pool_size=8)
    failures = []

    def work(t: int) -> None:
        for i in range(10):
            body = b"thread %d post %d" % (t, i)
            try:
                if client.post(body).body != body:
                    failures.append(body)
            except OSError as exc:
                failures.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert len(server.requests) == 200
    # 20 threads hold at most 20 connections at once; pool_size only caps the idle ones,
    # so one may be closed and another opened when more than 8 come back together.
    assert server.connections <= 24


def test_keep_alive_on_a_socket_numbered_above_1023(server, connect):
    """select() refuses descriptors above 1023; a busy process gets there."""
    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < 1100:
        pytest.skip("needs more than 1100 open files")
    filler = []
    try:
        while not filler or filler[-1] < 1024:
            filler.append(os.open(os.devnull, os.O_RDONLY))
        client = connect(server.port)
        assert client.post(b"x").body == b"x"
        assert client.post(b"y").body == b"y"  # the idle socket is checked before reuse
        assert server.connections == 1
    finally:
        for fd in filler:
            os.close(fd)


# --- TLS --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 and localhost: (cert path, key path)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("needs the openssl command to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert),
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


@pytest.fixture
def tls_server(certificate):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    srv = RawServer(tls=context)
    yield srv
    srv.close()


def test_tls_verified_against_requests_ca_bundle(tls_server, connect, certificate, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificate[0]))
    client = connect(tls_server.port, scheme="https")

    assert client.post(b"secret").body == b"secret"
    assert client.post(b"again").body == b"again"
    assert connections_of(tls_server) == [1, 1]


def test_tls_refuses_an_unknown_certificate(tls_server, connect, monkeypatch):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    client = connect(tls_server.port, scheme="https")

    with pytest.raises(ssl.SSLCertVerificationError):  # an OSError
        client.post(b"secret")
    assert tls_server.requests == []


# --- close ------------------------------------------------------------------------------------

def test_close_closes_idle_connections(server, connect):
    client = connect(server.port)
    client.post(b"x")

    client.close()

    server.wait_closed(1)


def test_connection_given_back_after_close_is_closed(server, connect):
    answer_now = threading.Event()
    server.script.append(Answer(ok(b"late"), gate=answer_now))
    client = connect(server.port)
    results = []
    poster = threading.Thread(target=lambda: results.append(client.post(b"x").body))
    poster.start()
    server.wait_requests(1)  # the request is in flight before the client closes

    client.close()
    answer_now.set()
    poster.join()

    assert results == [b"late"]
    server.wait_closed(1)


# --- CloudTransport, both paths ---------------------------------------------------------------

TO = "393330000001"
BODY = compile_payload(text_message("Avviso di prova")).body(TO, "a:prova:c1")


def transport(api) -> CloudTransport:
    return CloudTransport(api.base, "v21.0", "1234", "test-token")


def via_proxy(monkeypatch, api) -> None:
    # The test server is its own proxy: it matches the absolute-form path on "/messages".
    monkeypatch.setenv("HTTP_PROXY", api.base)
    monkeypatch.setenv("http_proxy", api.base)


def test_cloud_transport_sends_through_the_lean_client(api):
    with closing(transport(api)) as cloud:
        assert cloud._http is not None
        result = cloud.post(BODY)

    assert result.wamid == api.accepted[0].wamid
    assert api.accepted[0].callback == "banditore:a:prova:c1"


def test_cloud_transport_takes_requests_when_a_proxy_is_set(api, monkeypatch):
    via_proxy(monkeypatch, api)
    with closing(transport(api)) as cloud:
        assert cloud._http is None
        result = cloud.post(BODY)

    assert result.wamid == api.accepted[0].wamid


def test_cloud_transport_error_body_is_read_the_same_on_both_paths(api, monkeypatch):
    api.fail("+" + TO, 131026, 131026)
    with closing(transport(api)) as cloud:
        lean = cloud.post(BODY).error
    via_proxy(monkeypatch, api)
    with closing(transport(api)) as cloud:
        assert cloud._http is None
        proxied = cloud.post(BODY).error

    assert (lean.code, lean.title, lean.http_status) == (131026, "(#131026) Message Undeliverable",
                                                          400)
    assert (proxied.code, proxied.title, proxied.http_status) == (
        lean.code, lean.title, lean.http_status)
    assert api.accepted == []
