"""The small built-in server behind ``python -m runner webhook serve``."""

from __future__ import annotations

import logging
import signal
import socketserver
import sys
from collections.abc import Callable
from types import FrameType
from urllib.parse import urlsplit
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer
from wsgiref.types import WSGIApplication

from ..config import Settings
from .app import MAX_BODY, create_app
from .body import BODY_SECONDS
from .framing import StrictLength, length_lines_ok

log = logging.getLogger("banditore.webhook")


class ThreadingServer(socketserver.ThreadingMixIn, WSGIServer):
    """wsgiref's server with one thread per connection: enough for a small town."""

    # On SIGTERM (a restart), wait for the requests in progress to be answered
    # rather than drop them; each is bounded by the handler's timeout.
    daemon_threads = False
    block_on_close = True
    # Meta sends webhooks concurrently: a burst must queue, not be refused.
    request_queue_size = 512
    allow_reuse_address = True


class QuietHandler(StrictLength, WSGIRequestHandler):
    """An access log without query strings, client addresses or bodies."""

    # A stalled client must not hold a thread for ever: each read of its headers
    # or its body gives up after this long without a byte (runner.webhook.body).
    timeout = BODY_SECONDS
    # HTTP/1.1 so that a client sending "Expect: 100-continue" (curl does for
    # large bodies) gets its "100 Continue" at once instead of waiting a second
    # before sending. wsgiref still serves one request per connection.
    protocol_version = "HTTP/1.1"

    def handle_expect_100(self) -> bool:
        # Called by the base class's parse_request, before the check above.
        if (not length_lines_ok(self.head_lines)
                or int(self.headers.get("Content-Length", "0")) > MAX_BODY):
            # No "100 Continue": the final answer (400, 413) comes at once.
            return True
        return super().handle_expect_100()

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # The query string of the handshake carries the verify token.
        path = urlsplit(self.path).path if hasattr(self, "path") else "-"
        log.info("%s %s %s", getattr(self, "command", "-"), path, code)

    def log_error(self, format: str, *args: object) -> None:  # noqa: A002 (the base class's)
        # The base class puts the raw request line (token included) in the message.
        code = args[0] if args and isinstance(args[0], int) else "-"
        log.warning("request refused by the HTTP layer: %s", code)


def make_server(app: WSGIApplication, host: str, port: int) -> ThreadingServer:
    server = ThreadingServer((host, port), QuietHandler)
    server.set_app(app)
    return server


def serve(settings: Settings, host: str, port: int,
          on_ready: Callable[[str], None] | None = None) -> None:
    """Run the receiver until interrupted (Ctrl-C or SIGTERM)."""
    app = create_app(settings)
    if not logging.getLogger().handlers:
        logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                            format="%(asctime)s %(levelname)s %(message)s")
    server = make_server(app, host, port)
    bound_host, bound_port = server.socket.getsockname()[:2]
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        if on_ready:
            on_ready(f"http://{bound_host}:{bound_port}/")
        server.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.server_close()


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt
