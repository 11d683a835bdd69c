"""One spelling of a body's length, read from the raw header lines.

Both servers of the receiver (gunicorn, through :mod:`.gunicorn_length`, and
``webhook serve``) and the admin server of ``cms`` hold requests to it: a proxy
in front then has nothing to read differently from us about where a body ends.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler

_LENGTH_LINE = re.compile(rb"content-length: ?[0-9]+", re.IGNORECASE)


def length_lines_ok(lines: Iterable[bytes]) -> bool:
    """Whether a request's raw header lines (without their CRLF) frame its body
    one way only: at most one ``Content-Length`` line, spelt ``Content-Length:``,
    at most one space, ASCII digits and nothing after (no line folded onto it),
    and no bare CR in any line (some parsers end a line there, hiding a length
    from others).

    RFC 9112 lets a server strip the whitespace around a value, and both
    servers do (gunicorn on both sides, the built-in one before it), so the value the
    application gets cannot show it: they call this on the raw lines. One
    spelling of a length, the same on both servers, leaves a proxy in front
    nothing to read differently from us about where a body ends.
    """
    seen, is_length = 0, False
    for line in lines:
        if b"\r" in line or (is_length and line[:1] in (b" ", b"\t")):
            return False
        name, colon, _ = line.partition(b":")
        is_length = bool(colon) and name.rstrip(b" \t").lower() == b"content-length"
        if is_length:
            seen += 1
            if seen > 1 or not _LENGTH_LINE.fullmatch(line):
                return False
    return True


class HeadLines:
    """The connection's reader while the headers are read: keeps their raw lines."""

    def __init__(self, rfile: io.BufferedIOBase) -> None:
        self.rfile = rfile
        self.lines: list[bytes] = []

    def readline(self, limit: int = -1) -> bytes:
        line = self.rfile.readline(limit)
        self.lines.append(line.removesuffix(b"\n").removesuffix(b"\r"))
        return line


class StrictLength(BaseHTTPRequestHandler):
    """A standard-library handler that answers 400 to any other spelling of a length.

    The base class hands the header lines to the email parser, which strips a
    value's leading whitespace (" 5" would read as 5) and also ends a line at a
    bare CR: the raw lines, kept in ``head_lines``, decide.
    """

    head_lines: list[bytes]  # set by parse_request, read by handle_expect_100 too

    def parse_request(self) -> bool:
        head = HeadLines(self.rfile)
        # The parser calls only readline, which HeadLines has; typeshed wants a
        # whole BufferedIOBase.
        self.rfile = head  # type: ignore[assignment]
        self.head_lines = head.lines
        try:
            if not super().parse_request():
                return False
        finally:
            self.rfile = head.rfile
        if not length_lines_ok(self.head_lines):
            self.close_connection = True
            self.send_error(400, "bad Content-Length")
            return False
        return True


__all__ = ["HeadLines", "StrictLength", "length_lines_ok"]
