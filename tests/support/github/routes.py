"""What an API area of the fake GitHub is made of: its routes, each one small function
that reads the request and the fake's state and returns an answer."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

LEVELS = {"none": 0, "read": 1, "write": 2}


@dataclass
class Answer:
    status: int
    body: object = None  # JSON, or bytes as they are
    content_type: str = "application/json"
    headers: dict = field(default_factory=dict)


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: dict
    raw: bytes
    token: str | None
    accept: str = ""


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern
    kind: str
    needs: tuple[str, str] | None  # (permission, level); "a|b" where either will do
    public: bool  # answered without a token (the OAuth app's pages)
    answer: Callable


class Routes(list):
    """An API area's endpoints, one small function each."""

    def __call__(self, method: str, pattern: str, kind: str,
                 needs: tuple[str, str] | None = None, public: bool = False):
        def register(fn):
            regex = re.compile(pattern.replace("{repo}", r"/repos/(?P<repo>[^/]+/[^/]+)") + r"\Z")
            self.append(Route(method, regex, kind, needs, public, fn))
            return fn
        return register


def not_found() -> Answer:
    return Answer(404, {"message": "Not Found"})
