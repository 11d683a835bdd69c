"""The Telegram Bot API, as much as the mirror needs: ``sendMessage`` and ``sendPhoto``.

Every answer is sorted into what it means for the one question the journal asks,
*did it reach the channel?*

- a JSON answer with ``"ok": true``: yes, with its ``message_id``;
- ``"ok": false``: no. 429 carries ``parameters.retry_after`` (seconds to wait);
  401, 403 and "chat not found" concern the bot or the channel, not the message;
- no connection at all (refused, DNS, connect timeout): no;
- anything after the request may have left (read timeout, connection reset, an
  answer that is not the Bot API's JSON): *unknown* (:class:`Ambiguous`).

The token is part of every URL (``/bot<token>/method``), so no URL and no
exception text of ``requests`` ever reaches a message: only the method and the
exception's class name.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import requests

if TYPE_CHECKING:
    from ..config import Settings

# Telegram's limits (characters after the HTML is parsed).
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024


def configured(settings: Settings) -> bool:
    """The mirror is on when the channel and the token (a secret) are both set."""
    return settings.telegram_token is not None and bool(settings.telegram_chat_id)


class TelegramError(Exception):
    """Telegram answered ``"ok": false``: the message was not posted."""

    def __init__(self, code: int, description: str, retry_after: float | None = None):
        super().__init__(code, description)
        self.code, self.description, self.retry_after = code, description, retry_after

    @property
    def about_the_setup(self) -> bool:
        """The token, the bot's rights or the chat: every other post would fail too."""
        return self.code in (401, 403, 404) or "chat not found" in self.description.lower()

    @property
    def transient(self) -> bool:
        return self.code == 429 or self.code >= 500


class NotSent(Exception):
    """No connection could be made: the request never left."""


class Ambiguous(Exception):
    """The request may have reached Telegram, and no answer says whether it did."""


class BotApi:
    """One bot's client (a requests session, keep-alive)."""

    def __init__(self, base: str, token: str, *, timeout: float = 30.0) -> None:
        self._base = f"{base.rstrip('/')}/bot{token}"
        self.timeout = timeout
        self.session = requests.Session()

    def close(self) -> None:
        self.session.close()

    def call(self, method: str, data: dict, files: dict | None = None) -> dict:
        """The ``result`` of a Bot API method, or NotSent / Ambiguous / TelegramError."""
        try:
            answer = self.session.post(f"{self._base}/{method}", data=data, files=files,
                                       timeout=(10.0, self.timeout))
        except requests.exceptions.ConnectTimeout:
            raise NotSent(method) from None
        except requests.exceptions.ConnectionError as exc:
            if _never_connected(exc):
                raise NotSent(method) from None
            raise Ambiguous(f"{method}: {type(exc).__name__}") from None
        except requests.exceptions.RequestException as exc:  # read timeout and the like
            raise Ambiguous(f"{method}: {type(exc).__name__}") from None
        try:
            body = answer.json()
        except ValueError:
            raise Ambiguous(f"{method}: HTTP {answer.status_code}, not the Bot API") from None
        if not isinstance(body, dict) or "ok" not in body:
            raise Ambiguous(f"{method}: HTTP {answer.status_code}, not the Bot API")
        if body["ok"]:
            return body.get("result") or {}
        params = body.get("parameters") or {}
        raise TelegramError(int(body.get("error_code") or answer.status_code),
                            str(body.get("description") or ""), params.get("retry_after"))

    def send_message(self, chat_id: str, text: str) -> int:
        result = self.call("sendMessage", {
            "chat_id": chat_id, "text": text, "parse_mode": "HTML",
            "link_preview_options": json.dumps({"is_disabled": True})})
        return int(result["message_id"])

    def send_photo(self, chat_id: str, photo: Path | str, caption: str | None) -> int:
        """A repository file (uploaded) or an https URL (Telegram fetches it)."""
        data = {"chat_id": chat_id}
        if caption:
            data |= {"caption": caption, "parse_mode": "HTML"}
        if isinstance(photo, Path):
            with photo.open("rb") as fh:
                result = self.call("sendPhoto", data, files={"photo": (photo.name, fh)})
        else:
            result = self.call("sendPhoto", {**data, "photo": photo})
        return int(result["message_id"])


def _never_connected(exc: BaseException) -> bool:
    """True when the connection itself failed (nothing was written to a socket):
    requests wraps urllib3's MaxRetryError, whose ``reason`` says why."""
    seen: BaseException | None = exc
    for _ in range(6):
        if seen is None:
            return False
        if type(seen).__name__ in {"NewConnectionError", "NameResolutionError",
                                   "ConnectTimeoutError", "ConnectionRefusedError"}:
            return True
        first = seen.args[0] if seen.args and isinstance(seen.args[0], BaseException) else None
        seen = getattr(seen, "reason", None) or first or seen.__context__
    return False
