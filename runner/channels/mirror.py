"""The Telegram mirror: each announcement that has gone out on WhatsApp is posted to
the town's channel once, journaled like WhatsApp's sends.

Off unless both ``telegram_chat_id`` and the ``BANDITORE_TELEGRAM_TOKEN`` secret
are set. What is posted: what has gone out (:mod:`.selection`) and is still
current (not expired, not withdrawn), oldest first, so switching the mirror on
never floods the channel with the archive. An image goes as ``sendPhoto`` with
the text as its caption (or, past Telegram's 1,024 characters, the text as a
second message: part 1); everything else as ``sendMessage``.

Exactly once, across kill -9: each part's ``posting`` is committed before its
request leaves (:class:`~.store.PostJournal`). A run that dies mid-request leaves
it ``posting``; the next run cannot ask Telegram whether it arrived (the Bot
API has no idempotency key and no way to read a channel's history), so it
becomes ``unknown``, is never posted again by itself, and is listed for staff
at every run until they look at the channel: ``telegram --repost ID`` posts it
again when it is missing. Everything else is certain: a 429 waits
``retry_after`` and tries again; a connection that never opened is pending.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from .. import db
from ..announcements.validate import check
from ..errors import BanditoreError
from ..messages import t
from .bubble_text import BubbleTexts, telegram_html
from .selection import Entry, select
from .site import media_file
from .store import PostJournal, records_of
from .telegram import CAPTION_LIMIT, Ambiguous, BotApi, NotSent, TelegramError, configured

if TYPE_CHECKING:
    from ..announcements.model import Announcement
    from ..config import Settings

ATTEMPTS = 5  # per part, for 429s and Telegram's own 5xx


@dataclass
class MirrorSummary:
    enabled: bool = True
    posted: list[str] = field(default_factory=list)  # announcement ids posted now
    already: int = 0  # parts posted by earlier runs
    unknown: list[str] = field(default_factory=list)  # died mid-request in this run
    failed: list[tuple[str, str]] = field(default_factory=list)  # (id, Telegram's words)
    unresolved: list[str] = field(default_factory=list)  # unknown or failed in an earlier run
    pending: list[str] = field(default_factory=list)  # not sent this time, certain
    stopped: str | None = None  # why this run stopped posting, for staff
    waits: list[float] = field(default_factory=list)  # retry_after honoured, seconds

    @property
    def exit_code(self) -> int:
        """1 when something went wrong in this run; earlier unresolved posts are listed
        as reminders but do not turn every later run red."""
        return 1 if (self.unknown or self.failed or self.stopped or self.pending) else 0

    def lines(self) -> list[str]:
        if not self.enabled:
            return [t("telegram.off")]
        out = [t("telegram.summary", posted=len(self.posted), already=self.already)]
        out += [t("telegram.unknown", id=i) for i in self.unknown]
        out += [t("telegram.failed", id=i, detail=d) for i, d in self.failed]
        out += [t("telegram.unresolved", id=i) for i in self.unresolved]
        out += [t("telegram.pending", id=i) for i in self.pending]
        if self.stopped:
            out.append(self.stopped)
        return out


@dataclass(frozen=True)
class Part:
    number: int
    method: str  # sendMessage | sendPhoto
    text: str | None
    photo: Path | str | None = None  # a Path in the repository or an https URL


def parts(entry: Entry, texts: BubbleTexts) -> list[Part]:
    """What one announcement becomes on Telegram, in order."""
    text = telegram_html(texts.of(entry))
    media = entry.media()
    photo = None
    if media is not None and media.kind == "image":
        photo = media.url or media_file(media.source)
    if photo is None:
        return [Part(0, "sendMessage", text)]
    if _shown_length(text) <= CAPTION_LIMIT:
        return [Part(0, "sendPhoto", text, photo)]
    return [Part(0, "sendPhoto", None, photo), Part(1, "sendMessage", text)]


def _shown_length(markup: str) -> int:
    return len(html.unescape(re.sub(r"<[^>]+>", "", markup)))


def mirror(settings: Settings, announcements: list[Announcement] | None = None, *,
           api: BotApi | None = None, sleep: Callable[[float], None] = time.sleep,
           repost: str | None = None) -> MirrorSummary:
    """Post what has gone out and is current to the channel; ``repost``: an id whose
    ``unknown`` post staff found missing from the channel."""
    if not configured(settings):
        return MirrorSummary(enabled=False)
    if announcements is None:
        announcements = check(settings).valid
    now = settings.current_time()
    con = db.connect(settings.database)
    own_api = api is None
    if api is None:
        assert settings.telegram_token is not None  # configured(settings) says so
        api = BotApi(settings.telegram_api_base, settings.telegram_token.get_secret_value())
    try:
        journal = PostJournal(con)
        journal.settle_killed(now)
        if repost and not journal.forget(repost, now):
            # A typo would otherwise print the usual summary and exit 0, as if done.
            unresolved = sorted({a for (a, _), (s, _) in journal.states().items()
                                 if s in ("unknown", "failed")})
            raise BanditoreError(t("telegram.repost-unknown", id=repost,
                                   unresolved=", ".join(unresolved) or "-"))
        entries = select(settings, announcements, now, records_of(con))
        current = [e for e in entries
                   if not e.withdrawn and (e.expires is None or e.expires > now)]
        return _Poster(settings, journal, api, sleep, now).run(current)
    finally:
        if own_api:
            api.close()
        con.close()


class _Poster:
    def __init__(self, settings: Settings, journal: PostJournal, api: BotApi,
                 sleep: Callable[[float], None], now: datetime) -> None:
        self.settings, self.journal, self.api, self.sleep = settings, journal, api, sleep
        self.now = now
        self.summary = MirrorSummary()
        self.texts = BubbleTexts(settings)

    def run(self, entries: list[Entry]) -> MirrorSummary:
        states = self.journal.states()
        for entry in entries:
            self._entry(entry, states)
        return self.summary

    def _entry(self, entry: Entry, states: dict) -> None:
        posted_now = False
        for part in parts(entry, self.texts):
            state = states.get((entry.id, part.number), (None, None))[0]
            if state == "posted":
                self.summary.already += 1
                continue
            if state in ("unknown", "failed"):  # staff decide: `telegram --repost ID`
                self.summary.unresolved.append(entry.id)
                return
            if self.summary.stopped:  # nothing more is tried in this run
                self.summary.pending.append(entry.id)
                return
            if self._post(entry.id, part) != "posted":
                return  # a later part never goes before an earlier one
            posted_now = True
        if posted_now:
            self.summary.posted.append(entry.id)

    def _post(self, entry_id: str, part: Part) -> str:
        """Post one part, journaled around the request; its resulting state."""
        chat = self.settings.telegram_chat_id

        def attempt() -> int:
            self.journal.mark(entry_id, part.number, "posting", self.now, attempt=True)
            try:
                if part.method == "sendPhoto":
                    assert part.photo is not None  # parts() gives each photo part its photo
                    return self.api.send_photo(chat, part.photo, part.text)
                assert part.text is not None  # ...and each message part its text
                return self.api.send_message(chat, part.text)
            except (TelegramError, NotSent) as exc:  # certainly not posted
                self.journal.mark(entry_id, part.number, "pending", self.now,
                                  error=_words(exc))
                raise

        def wait(state: RetryCallState) -> float:
            assert state.outcome is not None  # tenacity waits only after an attempt
            exc = state.outcome.exception()
            seconds = float(getattr(exc, "retry_after", None) or 2 ** state.attempt_number)
            self.summary.waits.append(seconds)
            return seconds

        retrying = Retrying(
            retry=retry_if_exception(lambda e: isinstance(e, TelegramError) and e.transient),
            wait=wait, stop=stop_after_attempt(ATTEMPTS), sleep=self.sleep, reraise=True)
        try:
            message_id = retrying(attempt)
        except Ambiguous as exc:
            self.journal.mark(entry_id, part.number, "unknown", self.now, error=str(exc))
            self.summary.unknown.append(entry_id)
            return "unknown"
        except NotSent:  # no connection: the next posts would not get one either
            self.summary.stopped = t("telegram.no-connection", base=_host(self.settings))
            self.summary.pending.append(entry_id)
            return "pending"
        except TelegramError as exc:
            if exc.about_the_setup or exc.transient:
                self.summary.stopped = t("telegram.stopped", detail=_words(exc))
                self.summary.pending.append(entry_id)
                return "pending"
            self.journal.mark(entry_id, part.number, "failed", self.now, error=_words(exc))
            self.summary.failed.append((entry_id, _words(exc)))
            return "failed"
        self.journal.mark(entry_id, part.number, "posted", self.now, message_id=message_id)
        return "posted"


def _host(settings: Settings) -> str:
    """The API's address without the token (which only ever travels in the path)."""
    return settings.telegram_api_base.split("://", 1)[-1].split("/", 1)[0]


def _words(exc: Exception) -> str:
    if isinstance(exc, TelegramError):
        return f"{exc.code} {exc.description}".strip()
    return type(exc).__name__
