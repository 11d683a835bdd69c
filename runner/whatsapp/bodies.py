"""The request bodies the Cloud API takes, serialised once per broadcast.

A broadcast sends the same body to thousands of citizens with only ``to`` and
the delivery id changing, so each body is serialised once into a ``Payload``
and per message only two strings are spliced in: no per-message json.dumps.

A citizen known only by a business-scoped user id (BSUID, ``CC.`` and letters
and digits; no number: they adopted a username) is addressed with ``recipient``
instead of ``to`` (cloud-api.md, section 1).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ..vocabulary import CALLBACK_PREFIX

if TYPE_CHECKING:
    from ..config import Settings, TemplateConfig

# biz_opaque_callback_data = CALLBACK_PREFIX + delivery_id: status webhooks echo
# it, which is how sync, settling and reports find the delivery again.


def callback_delivery_id_sql(column: str) -> str:
    """SQL for the delivery id carried in a callback column (NULL when not ours)."""
    return (f"CASE WHEN starts_with({column}, '{CALLBACK_PREFIX}') "
            f"THEN substr({column}, {len(CALLBACK_PREFIX) + 1}) END")
_TO = "\x00TO\x00"
_ID = "\x00ID\x00"
_QUOTE = "\x00QUOTE\x00"
_TO_KEY = b'"to":"+'
_RECIPIENT_KEY = b'"recipient":"'


@dataclass(frozen=True, slots=True)
class Payload:
    """A request body serialised once, with holes for the recipient and the delivery id."""

    head: bytes  # ends with '"to":"+'
    middle: bytes
    tail: bytes

    def body(self, address: str, delivery_id: str, quote: str | None = None) -> bytes:
        """The body for one citizen, at their number (``to``) or business-scoped id
        (``recipient``); ``quote`` is :class:`QuotingPayload`'s: a plain payload quotes
        nothing."""
        # The delivery id is made of slugs and hex, escaped only if it must be.
        did = delivery_id if delivery_id.isascii() and '"' not in delivery_id \
            and "\\" not in delivery_id else json.dumps(delivery_id)[1:-1]
        if address.isdigit():  # a number (a business-scoped id has "CC." and letters)
            head, to = self.head, address.encode()
        else:
            head = self.head[:-len(_TO_KEY)] + _RECIPIENT_KEY
            to = json.dumps(address)[1:-1].encode()
        return b"".join((head, to, self.middle, did.encode(), self.tail))


class QuotingPayload:
    """A body that quotes, for each citizen, the message they received before
    (``context.message_id``): a correction or a withdrawal shows the original above it.

    The wamid to quote comes with each delivery (``deliveries.reply_to``); a delivery
    without one goes out as ``plain``, without a quote.
    """

    __slots__ = ("start", "tail", "plain")

    def __init__(self, message: dict) -> None:
        quoted = compile_payload({"context": {"message_id": _QUOTE}, **message})
        before, self.tail = quoted.tail.split(json.dumps(_QUOTE)[1:-1].encode())
        self.start = Payload(quoted.head, quoted.middle, before)  # up to the quoted wamid
        self.plain = compile_payload(message)

    def body(self, address: str, delivery_id: str, quote: str | None = None) -> bytes:
        if quote is None:
            return self.plain.body(address, delivery_id)
        return b"".join((self.start.body(address, delivery_id),
                         json.dumps(quote)[1:-1].encode(), self.tail))


# What a send is made from: one body per citizen, quoting or not.
AnyPayload = Payload | QuotingPayload


def compile_payload(message: dict) -> Payload:
    """``message`` is the type part (``{"type": "template", "template": {...}}``)."""
    body = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        # Always "+" and the country code: without "+" Meta prefixes the business
        # number's own country code.
        "to": "+" + _TO,
        "biz_opaque_callback_data": CALLBACK_PREFIX + _ID,
        **message,
    }
    text = json.dumps(body, separators=(",", ":"))
    head, rest = text.split(json.dumps(_TO)[1:-1])
    middle, tail = rest.split(json.dumps(_ID)[1:-1])
    return Payload(head.encode(), middle.encode(), tail.encode())


def text_message(text: str) -> dict:
    return {"type": "text", "text": {"body": text, "preview_url": True}}


LIST_TEXT_LIMIT = 1024  # the text of an interactive message


def list_message(text: str, button: str, section: str,
                 rows: list[tuple[str, str]]) -> dict:
    """An interactive list (inside the 24-hour window only): ``text`` above a button
    that opens one section of ``rows`` (id, title). The citizen taps one row; it
    comes back as an inbound ``interactive.list_reply`` with that id."""
    return {"type": "interactive", "interactive": {
        "type": "list",
        "body": {"text": text},
        "action": {"button": button, "sections": [
            {"title": section, "rows": [{"id": i, "title": title} for i, title in rows]}]},
    }}


def template_message(name: str, language: str, parameters: list[str],
                     parameter_names: list[str] | None = None,
                     header: tuple[str, dict | str] | None = None) -> dict:
    """A template send: body parameters (named when the template has names) and a media header.

    ``header`` is ``(media type, {"id": ...} or {"link": ...})`` or ``("text", value)``.
    """
    components = []
    if header is not None:
        kind, ref = header
        components.append({"type": "header", "parameters": [{"type": kind, kind: ref}]})
    if parameters:
        names = parameter_names or []
        params = []
        for i, value in enumerate(parameters):
            param = {"type": "text", "text": value}
            if i < len(names):
                param = {"type": "text", "parameter_name": names[i], "text": value}
            params.append(param)
        components.append({"type": "body", "parameters": params})
    # "deterministic" is the only language policy there is, and Meta's OpenAPI
    # description requires it (tests/whatsapp/test_conformance.py).
    template: dict = {"name": name, "language": {"policy": "deterministic", "code": language}}
    if components:
        template["components"] = components
    return {"type": "template", "template": template}


def reply_template_message(name: str, config: TemplateConfig, text: str,
                           settings: Settings) -> dict:
    """A welcome/goodbye as an approved template (outside the 24-hour window).

    Each body parameter is the town's name where the template asks for ``town``,
    otherwise the reply text on one line (a parameter may hold no newline).
    """
    flat = " ".join(text.split())
    params = [settings.town if src == "town" else flat for src in config.body]
    return template_message(name, config.language, params, list(config.parameter_names))


class _Header(Protocol):
    @property
    def kind(self) -> str | None: ...
    @property
    def source(self) -> str: ...


class RenderedMessage(Protocol):
    """What :func:`announcement_message` reads of a rendered announcement
    (:class:`runner.announcements.render.Rendered`, a layer above this one)."""

    text: str
    template: str | None
    language: str
    parameters: list[str]
    parameter_names: list[str]
    header_text: str | None

    @property
    def header(self) -> _Header | None: ...


def announcement_message(rendered: RenderedMessage, media: dict | None) -> dict:
    """The message part for a rendered announcement (runner.announcements.render.Rendered).

    ``media`` is the header/attachment reference, ``{"id": ...}`` or ``{"link": ...}``.
    """
    header = rendered.header
    if rendered.template is not None:
        head: tuple[str, dict | str] | None = None
        if header is not None and header.kind is not None and media is not None:
            head = (header.kind, media)  # (a kind WhatsApp has no type for never passes validate)
        if rendered.header_text is not None:
            head = ("text", rendered.header_text)
        return template_message(rendered.template, rendered.language, rendered.parameters,
                                rendered.parameter_names, head)
    if header is not None and media is not None:
        # No template: the media with the text as its caption (inside the 24-hour window).
        obj = {**media, "caption": rendered.text}
        if header.kind == "document":
            obj["filename"] = Path(header.source.split("?", 1)[0]).name
        return {"type": header.kind, header.kind: obj}
    return text_message(rendered.text)
