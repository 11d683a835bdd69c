"""Announcements as staff write them: a town repository in tmp_path for the
announcement tests (pyproject.toml + announcements/), and one announcement written
into any announcements folder for the send and channel tests."""

from __future__ import annotations

import struct
import textwrap
import zlib
from pathlib import Path

from runner.config import load_settings

PYPROJECT = """\
[tool.banditore]
town = "Comune di Prova"
town_site = "comune.prova.it"
allowed_link_domains = ["gov.it"]
allowed_phone_numbers = ["0721 123456"]
weekly_cap = 3
# The clock of these tests: every announcement dated April 2024 is still to come.
now = 2024-04-01T00:00:00+02:00
default_template = "avviso"

[tool.banditore.templates.avviso]
language = "it"
body = ["title", "body"]

[tool.banditore.templates.foto]
language = "it"
body = ["title", "body"]
header = "image"

[tool.banditore.templates.parti]
language = "it"
body = ["title", "paragraph:1", "paragraph:2"]

[tool.banditore.templates.titolo]
language = "it"
body = ["body"]
header = "text"
"""

# The templates above as Meta approved them (the committed catalogue).
CATALOGUE = """\
[[template]]
name = "avviso"
language = "it"
body = "📢 *{{1}}*\\n\\n{{2}}\\n\\nComune di Prova."
footer = "Per cancellarti scrivi MI CANCELLO"

[[template]]
name = "foto"
language = "it"
header = "IMAGE"
body = "📢 *{{1}}*\\n\\n{{2}}\\n\\nComune di Prova."
footer = "Per cancellarti scrivi MI CANCELLO"

[[template]]
name = "parti"
language = "it"
body = "📢 *{{1}}*\\n\\n{{2}}\\n\\n{{3}}\\n\\nComune di Prova."
footer = "Per cancellarti scrivi MI CANCELLO"

[[template]]
name = "titolo"
language = "it"
header = "TEXT"
header_text = "{{1}}"
body = "Avviso del Comune di Prova: {{1}}"
footer = "Per cancellarti scrivi MI CANCELLO"
"""


def image_and_text_catalogue(town: str) -> str:
    """A town's two templates (text; image header) as Meta approved them, in the
    committed catalogue's format: for the channel tests and bench/validate.py."""
    entry = ('[[template]]\nname = "{name}"\nlanguage = "it"\nstatus = "APPROVED"\n'
             'category = "UTILITY"\nheader = "{header}"\n'
             'body = "{lead} {town}: *{{{{1}}}}*\\n\\n{{{{2}}}}"\n'
             'footer = "Per cancellarti scrivi MI CANCELLO"\n')
    return "\n".join([entry.format(name="avviso", header="NONE", lead="Avviso del", town=town),
                      entry.format(name="immagine", header="IMAGE", lead="Allerta dal",
                                   town=town)])


def png(bit_depth: int = 8, color_type: int = 2) -> bytes:
    """A real 1x1 PNG (color type 2 = RGB, 6 = RGBA, 3 = palette)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[color_type]
    pixel = b"\x00" + b"\xff" * (channels * bit_depth // 8 or 1)
    chunks = chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, bit_depth, color_type, 0, 0, 0))
    if color_type == 3:
        chunks += chunk(b"PLTE", b"\xff\x00\x00")
    return (b"\x89PNG\r\n\x1a\n" + chunks + chunk(b"IDAT", zlib.compress(pixel))
            + chunk(b"IEND", b""))


PNG_RGB = png()


def announcement(title="Avviso di prova", category="info-comune", body="Testo dell'avviso.",
                 **keys) -> str:
    lines = ["---", f"title: {title}", f"category: {category}"]
    lines += [f"{key}: {value}" for key, value in keys.items()]
    return "\n".join([*lines, "---", textwrap.dedent(body).strip(), ""])


def write_announcement(root: Path, slug: str, *, title: str = "Chiusura di via Roma",
                       category: str = "viabilita", urgency: str = "normal",
                       publish_at: str = "2024-04-03T09:00:00+02:00", extra: str = "",
                       body: str = "Via Roma resta chiusa per lavori fino a venerdì.") -> Path:
    """``root``/2024/<slug>.md, due an hour before the tests' NOW unless told."""
    path = root / "2024" / f"{slug}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"---\ntitle: {title}\ncategory: {category}\nurgency: {urgency}\n"
                    f"publish_at: {publish_at}\n{extra}---\n{body}\n", encoding="utf-8")
    return path


class Repo:
    def __init__(self, root: Path):
        self.root = root
        (root / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
        (root / "templates.toml").write_text(CATALOGUE, encoding="utf-8")
        (root / "announcements" / "2024").mkdir(parents=True)

    def write(self, rel: str, content: str | bytes) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    def add(self, name: str, **fields) -> Path:
        """announcements/2024/<name>.md from ``announcement(**fields)``."""
        return self.write(f"announcements/2024/{name}.md", announcement(**fields))

    def settings(self, **overrides):
        return load_settings(**overrides)
