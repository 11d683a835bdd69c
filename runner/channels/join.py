"""How to join, on every page of the site: the town's number, the keyword, a link that
opens WhatsApp with the keyword already written, its QR code, and the privacy notice.

The link is WhatsApp's click-to-chat address, ``https://wa.me/<number>?text=<keyword>``
(the number in international form, digits only). The QR code is drawn by segno: pure
Python (nothing to compile, no imaging library), maintained, and it writes SVG
directly, which stays sharp at any zoom and prints well on a notice board. It is
written once, as ``iscriviti.svg`` at the site's root, and every page shows that file.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

import segno

from ..messages import t

if TYPE_CHECKING:
    from ..config import Settings

QR_FILE = "iscriviti.svg"


@dataclass(frozen=True)
class Join:
    """What the "how to join" box says."""

    number: str  # as printed ("+39 0165 123456")
    keyword: str  # the first subscribe keyword
    unsubscribe: str
    link: str  # https://wa.me/...?text=...
    privacy_url: str
    with_name: bool  # the keyword is followed by name and surname (capture_name)


def join(settings: Settings) -> Join | None:
    """The box's facts; None when the town has not set ``public_number``."""
    digits = "".join(c for c in settings.public_number if c.isdigit())
    if not digits or not settings.subscribe_keywords:
        return None
    keyword = settings.subscribe_keywords[0]
    prefilled = keyword + " " if settings.capture_name else keyword
    return Join(number=settings.public_number.strip(), keyword=keyword,
                unsubscribe=(settings.unsubscribe_keywords or [""])[0],
                link=f"https://wa.me/{digits}?text={quote(prefilled)}",
                privacy_url=settings.privacy_url, with_name=settings.capture_name)


def qr_svg(found: Join, language: str) -> bytes:
    """The QR code of the link, as an SVG file with its own title (read by screen
    readers when the file is opened on its own)."""
    code = segno.make(found.link, error="m")
    out = io.BytesIO()
    code.save(out, kind="svg", xmldecl=True, svgns=True, scale=4, border=4, dark="#000",
              light="#fff", title=t("site.join-qr-alt", language, keyword=found.keyword,
                                    number=found.number))
    return out.getvalue()
