"""GitHub Actions' ``${{ }}`` expressions: parsed and evaluated as GitHub does.

The language of https://docs.github.com/actions/reference/evaluate-expressions:
literals (``'text'`` with ``''`` for a quote, numbers, ``true``/``false``/``null``),
context look-ups (``github.event.pull_request.number``, ``steps.cache.outputs['cache-hit']``;
names may hold ``-``), ``!``, ``<``/``<=``/``>``/``>=``, ``==``/``!=``
(loose: strings compared without case, other types through numbers), ``&&`` and ``||``
(which return an operand, as in JavaScript), and the functions below.

Whatever the rehearsal does not know is an :class:`ExpressionError`, never a guess:
an unknown function, an unknown context, object filters (``.*``), a syntax error.
A property missing from a known context is ``null``, as on GitHub (``vars.UNSET``).
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

CONTEXTS = frozenset({"github", "env", "vars", "secrets", "inputs", "steps", "needs", "job",
                      "runner", "strategy", "matrix", "jobs"})
STATUS_FUNCTIONS = frozenset({"always", "success", "failure", "cancelled"})


class ExpressionError(ValueError):
    """An expression the rehearsal cannot evaluate (the caller adds file, job and step)."""


_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<string>'(?:[^']|'')*')
  | (?P<number>-?(?:0x[0-9a-fA-F]+|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?))
  | (?P<op>&&|\|\||==|!=|<=|>=|[<>!()\[\].,*])
  | (?P<name>[A-Za-z_][A-Za-z0-9_-]*)
""", re.VERBOSE)


@dataclass(frozen=True)
class Token:
    kind: str
    text: str


def tokenize(text: str) -> list[Token]:
    tokens, at = [], 0
    while at < len(text):
        match = _TOKEN.match(text, at)
        if not match:
            raise ExpressionError(f"unexpected character {text[at]!r} in {text!r}")
        at = match.end()
        if match.lastgroup != "space":
            tokens.append(Token(match.lastgroup, match.group()))
    return tokens


# --- parsing: a small precedence-climbing parser into tuples ------------------------------

_BINARY = [("||",), ("&&",), ("==", "!="), ("<", "<=", ">", ">=")]


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = tokenize(text)
        self.at = 0

    def peek(self) -> Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self, text: str | None = None) -> Token:
        token = self.peek()
        if token is None or (text is not None and token.text != text):
            raise ExpressionError(f"expected {text or 'more'} in {self.text!r}")
        self.at += 1
        return token

    def parse(self):
        node = self.binary(0)
        if self.peek() is not None:
            raise ExpressionError(f"unexpected {self.peek().text!r} in {self.text!r}")
        return node

    def binary(self, level: int):
        if level == len(_BINARY):
            return self.unary()
        node = self.binary(level + 1)
        while (token := self.peek()) is not None and token.kind == "op" \
                and token.text in _BINARY[level]:
            self.take()
            node = ("op", token.text, node, self.binary(level + 1))
        return node

    def unary(self):
        token = self.peek()
        if token is not None and token.text == "!":
            self.take()
            return ("not", self.unary())
        return self.postfix(self.primary())

    def primary(self):
        token = self.take()
        if token.kind == "string":
            return ("lit", token.text[1:-1].replace("''", "'"))
        if token.kind == "number":
            text = token.text
            return ("lit", float(int(text, 16)) if "0x" in text.lower() else float(text))
        if token.text == "(":
            node = self.binary(0)
            self.take(")")
            return node
        if token.kind != "name":
            raise ExpressionError(f"unexpected {token.text!r} in {self.text!r}")
        word = token.text
        if word in ("true", "false"):
            return ("lit", word == "true")
        if word == "null":
            return ("lit", None)
        if self.peek() is not None and self.peek().text == "(":
            self.take("(")
            args = []
            while self.peek() is not None and self.peek().text != ")":
                args.append(self.binary(0))
                if self.peek() is not None and self.peek().text == ",":
                    self.take(",")
            self.take(")")
            if word.lower() not in FUNCTIONS and word.lower() not in STATUS_FUNCTIONS:
                raise ExpressionError(f"unknown function {word}() in {self.text!r}")
            return ("call", word.lower(), args)
        if word not in CONTEXTS:
            raise ExpressionError(f"unknown context {word!r} in {self.text!r}")
        return ("ctx", word)

    def postfix(self, node):
        while (token := self.peek()) is not None and token.text in (".", "["):
            self.take()
            if token.text == ".":
                name = self.take()
                if name.text == "*":
                    raise ExpressionError(f"object filters (.*) are not supported: {self.text!r}")
                if name.kind != "name":
                    raise ExpressionError(f"expected a property name in {self.text!r}")
                node = ("get", node, ("lit", name.text))
            else:
                index = self.binary(0)
                self.take("]")
                node = ("get", node, index)
        return node


def parse(text: str):
    return _Parser(text).parse()


# --- values ------------------------------------------------------------------------------


def truthy(value) -> bool:
    if isinstance(value, float) and math.isnan(value):
        return False
    return value not in (None, False, 0, "") or isinstance(value, (dict, list))


def to_number(value) -> float:
    if value is None or value is False:
        return 0.0
    if value is True:
        return 1.0
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return 0.0
        try:
            return float(int(text, 16)) if text.lower().startswith("0x") else float(text)
        except ValueError:
            return math.nan
    return math.nan


def to_string(value) -> str:
    """How GitHub writes a value into a string (``env:``, ``with:``, a step's name)."""
    if value is None:
        return ""
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, indent=2)
    return str(value)


def _equal(a, b) -> bool:
    if type(a) is type(b) or (isinstance(a, (int, float)) and isinstance(b, (int, float))
                              and not isinstance(a, bool) and not isinstance(b, bool)):
        if isinstance(a, str):
            return a.lower() == b.lower()
        if isinstance(a, (dict, list)):
            return a is b
        return a == b
    if isinstance(a, (dict, list)) or isinstance(b, (dict, list)):
        return False
    return to_number(a) == to_number(b)


def _compare(op: str, a, b) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        a, b = a.lower(), b.lower()
    else:
        a, b = to_number(a), to_number(b)
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


# --- functions -----------------------------------------------------------------------------


def _contains(search, item) -> bool:
    if isinstance(search, list):
        return any(_equal(element, item) for element in search)
    return to_string(item).lower() in to_string(search).lower()


def _format(template, *args) -> str:
    text, out, at = to_string(template), [], 0
    while at < len(text):
        if text.startswith("{{", at) or text.startswith("}}", at):
            out.append(text[at])
            at += 2
        elif text[at] == "{":
            end = text.index("}", at)
            out.append(to_string(args[int(text[at + 1:end])]))
            at = end + 1
        else:
            out.append(text[at])
            at += 1
    return "".join(out)


def _from_json(text):
    try:
        return json.loads(to_string(text))
    except ValueError as exc:
        raise ExpressionError(f"fromJSON: {exc}") from None


def _join(items, separator=",") -> str:
    if isinstance(items, list):
        return to_string(separator).join(to_string(i) for i in items)
    return to_string(items)


FUNCTIONS: dict[str, Callable] = {
    "contains": _contains,
    "startswith": lambda s, p: to_string(s).lower().startswith(to_string(p).lower()),
    "endswith": lambda s, p: to_string(s).lower().endswith(to_string(p).lower()),
    "format": _format,
    "join": _join,
    "tojson": lambda v: json.dumps(v, indent=2),
    "fromjson": _from_json,
    "hashfiles": None,  # needs the workspace: see Evaluator
}


def hash_files(workspace: Path, *patterns: str) -> str:
    """hashFiles(): SHA-256 over the SHA-256 of each matching file, '' when none match."""
    include = [p for p in patterns if not p.startswith("!")]
    exclude = [p[1:] for p in patterns if p.startswith("!")]
    files = sorted(
        path for path in workspace.rglob("*") if path.is_file() and ".git" not in path.parts
        and any(fnmatch.fnmatch(str(path.relative_to(workspace)), p) for p in include)
        and not any(fnmatch.fnmatch(str(path.relative_to(workspace)), p) for p in exclude))
    if not files:
        return ""
    outer = hashlib.sha256()
    for path in files:
        outer.update(hashlib.sha256(path.read_bytes()).digest())
    return outer.hexdigest()


class Evaluator:
    """Evaluates parsed expressions against the contexts of one step.

    ``status`` tells the status functions how the job went so far: "success",
    "failure" or "cancelled".
    """

    def __init__(self, contexts: Mapping[str, object], *, status: str = "success",
                 workspace: Path | None = None):
        self.contexts = contexts
        self.status = status
        self.workspace = workspace

    def evaluate(self, text: str):
        return self.node(parse(text))

    def node(self, node):
        kind = node[0]
        if kind == "lit":
            return node[1]
        if kind == "ctx":
            return self.contexts.get(node[1], {})
        if kind == "get":
            return _property(self.node(node[1]), self.node(node[2]))
        if kind == "not":
            return not truthy(self.node(node[1]))
        if kind == "op":
            return self._op(node[1], node[2], node[3])
        return self._call(node[1], node[2])

    def _op(self, op: str, left, right):
        a = self.node(left)
        if op == "&&":
            return self.node(right) if truthy(a) else a
        if op == "||":
            return a if truthy(a) else self.node(right)
        b = self.node(right)
        if op == "==":
            return _equal(a, b)
        if op == "!=":
            return not _equal(a, b)
        return _compare(op, a, b)

    def _call(self, name: str, args: list):
        if name in STATUS_FUNCTIONS:
            return {"always": True, "success": self.status == "success",
                    "failure": self.status == "failure",
                    "cancelled": self.status == "cancelled"}[name]
        values = [self.node(a) for a in args]
        if name == "hashfiles":
            if self.workspace is None:
                raise ExpressionError("hashFiles() outside a job's workspace")
            return hash_files(self.workspace, *map(to_string, values))
        return FUNCTIONS[name](*values)


def _property(value, key):
    if isinstance(value, dict):
        if isinstance(key, str):
            for name, item in value.items():  # property names are not case-sensitive
                if name.lower() == key.lower():
                    return item
        return None
    if isinstance(value, list) and isinstance(key, (int, float)) and not isinstance(key, bool):
        index = int(key)
        return value[index] if 0 <= index < len(value) else None
    return None


_TEMPLATE = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)


def expressions_in(text: str) -> list[str]:
    """The expressions written in a string as ``${{ ... }}``."""
    return [m.group(1).strip() for m in _TEMPLATE.finditer(text)]


def _only_expression(text: str) -> str | None:
    """The expression when ``text`` is one ``${{ }}`` and nothing else."""
    found = list(_TEMPLATE.finditer(text))
    if len(found) == 1 and found[0].span() == (0, len(text)):
        return found[0].group(1).strip()
    return None


def interpolate(text: str, evaluator: Evaluator):
    """A string with ``${{ }}`` parts: the value itself when the string is one
    expression and nothing else, otherwise the string with each part written in."""
    whole = _only_expression(text)
    if whole is not None:
        return evaluator.evaluate(whole)
    return _TEMPLATE.sub(lambda m: to_string(evaluator.evaluate(m.group(1).strip())), text)


def condition(text: str | bool | None, evaluator: Evaluator) -> bool:
    """An ``if:``: no ${{ }} needed; without a status function it means ``success() && (...)``."""
    if text is None:
        return evaluator.status == "success"
    if isinstance(text, bool):
        return text and evaluator.status == "success"
    source = str(text).strip()
    tree = parse(_only_expression(source) or source)
    if not _uses_status(tree):
        return evaluator.status == "success" and truthy(evaluator.node(tree))
    return truthy(evaluator.node(tree))


def _uses_status(node) -> bool:
    if node[0] == "call" and node[1] in STATUS_FUNCTIONS:
        return True
    return any(_uses_status(part) for part in node[1:] if isinstance(part, tuple)) or any(
        _uses_status(arg) for part in node[1:] if isinstance(part, list) for arg in part)
