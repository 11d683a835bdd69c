"""gunicorn's request parser held to the built-in server's rule for Content-Length.

gunicorn strips spaces and tabs around every header value before the
application sees it (RFC 9112 allows a server to), so ``Content-Length:  2 ``
or ``Content-Length:<TAB>2`` reached the receiver as ``2``. We refuse them
instead: the receiver accepts exactly one spelling of a length, the same under
gunicorn and ``webhook serve`` (:func:`.framing.length_lines_ok` decides for both),
and a proxy in front cannot disagree with us about where a body ends.

gunicorn has no setting nor hook that sees raw header lines; its parser makes
one ``mesg_class`` per request, which :func:`install` replaces in each worker
(``post_worker_init`` in :mod:`.gunicorn_conf`). Only the Python parser calls
``parse_headers``: gunicorn_h1c's C parser would skip the check, so
:func:`install` refuses to run with any other. Importable only where gunicorn
is installed (the ``receiver`` extra).
"""

from __future__ import annotations

from gunicorn.http.errors import InvalidHeader
from gunicorn.http.message import Request
from gunicorn.http.parser import RequestParser
from gunicorn.workers.base import Worker

from .framing import length_lines_ok


class StrictLengthRequest(Request):
    """A request whose Content-Length lines are checked before gunicorn strips them."""

    def parse_headers(self, data: bytes, from_trailer: bool = False) -> list[tuple[str, str]]:
        # ``data`` is the raw header block (or trailer block) without its final CRLF.
        if not length_lines_ok(data.split(b"\r\n")):
            # gunicorn's own error: it answers 400 and closes the connection.
            raise InvalidHeader("CONTENT-LENGTH", req=self)
        return super().parse_headers(data, from_trailer)


def install(worker: Worker) -> None:
    """Make this worker parse requests as :class:`StrictLengthRequest`."""
    if worker.cfg.http_parser != "python":
        raise RuntimeError("the receiver needs http_parser = 'python' "
                           "(gunicorn_h1c would skip its Content-Length check)")
    RequestParser.mesg_class = StrictLengthRequest
