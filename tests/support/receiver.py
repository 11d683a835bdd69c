"""The webhook receiver as the tests talk to it: its secrets, Meta's webhooks as bytes,
requests over real HTTP (well framed, misframed, byte by byte), and its journal's lines."""

from __future__ import annotations

import http.client
import json
import socket
from pathlib import Path
from urllib.parse import urlsplit

from runner.webhook.app import sign

SECRET = "app-secret-for-tests"
TOKEN = "verify-token-for-tests"


def meta_body(i: int, text: str = "MI ISCRIVO città", pad: int = 0) -> bytes:
    """A message webhook shaped like Meta's (compact, unicode escaped), invented number."""
    number = f"3933300{i % 100000:05d}"
    return json.dumps({
        "object": "whatsapp_business_account",
        "entry": [{"id": "111222333444555", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "390000000000", "phone_number_id": "999"},
            "contacts": [{"profile": {"name": "Prova"}, "wa_id": number}],
            "messages": [{"from": number, "id": f"wamid.test{i}", "timestamp": "1711960000",
                          "type": "text", "text": {"body": text + " " * pad}}]}}]}],
    }, separators=(",", ":")).encode()


def wamid(line: bytes) -> str:
    return json.loads(line)["entry"][0]["changes"][0]["value"]["messages"][0]["id"]


def request(url, method="GET", path="/", body=None, headers=None, timeout=10):
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def post(url, body: bytes, signature: str | None = "auto"):
    headers = {"Content-Type": "application/json"}
    if signature == "auto":
        signature = sign(body, SECRET)
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    return request(url, "POST", body=body, headers=headers)


def log_lines(folder: Path) -> list[bytes]:
    """Every line of every journal file, split on \n only (as a JSONL reader must)."""
    return [line for f in sorted(folder.glob("*.jsonl"))
            for line in f.read_bytes().split(b"\n")[:-1]]


def raw_http(url: str, head: bytes, body: bytes = b"") -> bytes:
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(head + body)
        sock.shutdown(socket.SHUT_WR)
        return b"".join(iter(lambda: sock.recv(65536), b""))


# Header lines that frame a body other than as one "Content-Length: <digits>":
# both servers (webhook serve, and gunicorn with the shipped settings) answer 400.
MISFRAMED = {
    "underscore": [b"Content-Length: 1_0"],
    "plus": [b"Content-Length: +2"],
    "minus": [b"Content-Length: -2"],
    "hex": [b"Content-Length: 0x2"],
    "arabic-digit": ["Content-Length: \u0662".encode()],
    "spaces": [b"Content-Length:  2 "],
    "trailing-space": [b"Content-Length: 2 "],
    "two-spaces": [b"Content-Length:  2"],
    "tab": [b"Content-Length: \t2"],
    "space-before-colon": [b"Content-Length : 2"],
    "folded": [b"Content-Length: 2", b" 2"],
    "after-a-bare-cr": [b"X-Note: a\rContent-Length: 2"],
    "duplicate": [b"Content-Length: 2", b"Content-Length: 2"],
    "conflicting": [b"Content-Length: 2", b"Content-Length: 3"],
}


def post_framed(url: str, length_lines: list[bytes]) -> bytes:
    """A signed ``{}`` framed by these raw Content-Length lines; the raw answer."""
    headers = b"".join(line + b"\r\n" for line in length_lines)
    return raw_http(url, b"POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                    b"X-Hub-Signature-256: " + sign(b"{}", SECRET).encode() + b"\r\n"
                    + headers + b"\r\n", b"{}")
