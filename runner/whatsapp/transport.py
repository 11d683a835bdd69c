"""Where messages go: the Cloud API with a token, the local outbox without one."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ..errors import BanditoreError
from ..messages import t
from .answers import Result
from .client import CloudTransport
from .outbox import OutboxTransport

if TYPE_CHECKING:
    from ..config import Settings


class Transport(Protocol):
    """What the send engine needs of a transport."""

    name: str  # "cloud" | "outbox": shown in the summary, scopes cached media ids
    concurrent: bool  # False: one request at a time, unpaced (a local file)

    def post(self, body: bytes) -> Result: ...
    def upload_media(self, path: Path) -> str: ...
    def sync(self) -> None: ...  # make what was posted durable
    def close(self) -> None: ...


def make_transport(settings: Settings, pool_size: int) -> Transport:
    """The Cloud API with a token; the local outbox without one."""
    if settings.whatsapp_token is None:
        return OutboxTransport(settings.outbox)
    if not settings.whatsapp_phone_number_id:
        raise BanditoreError(t("send.no-phone-number-id"))
    return CloudTransport(settings.whatsapp_api_base, settings.whatsapp_api_version,
                          settings.whatsapp_phone_number_id,
                          settings.whatsapp_token.get_secret_value(), pool_size=pool_size)
