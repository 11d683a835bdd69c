"""The town's WhatsApp templates as Meta has them, text included: the catalogue.

The catalogue is a committed TOML file (``templates_file``, ``templates.toml``):
``templates sync`` writes it from ``GET /{waba_id}/message_templates``, and a town
without API access writes the same file by hand. One ``[[template]]`` table per
(name, language)::

    [[template]]
    name = "avviso_comune"
    language = "it"
    status = "APPROVED"          # APPROVED | PENDING | REJECTED | PAUSED | DISABLED ...
    category = "UTILITY"         # UTILITY | MARKETING | AUTHENTICATION
    header = "TEXT"              # NONE | TEXT | IMAGE | VIDEO | DOCUMENT | LOCATION
    header_text = "{{1}}"
    body = "📢 *{{1}}*\\n\\n{{2}}"
    footer = "Per cancellarti scrivi MI CANCELLO"
    buttons = ["Sito del Comune"]

What fills each ``{{n}}`` is Banditore's business, not Meta's: it stays in the
settings (``[tool.banditore.templates.NAME].body``). Status and category changes
Meta announces by webhook after the sync are applied on top with :func:`updated`.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import asdict, dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import requests
import tomli_w

from ..errors import BanditoreError, ConfigError
from ..files import replace_durably
from ..messages import t
from .answers import parse_error

if TYPE_CHECKING:
    from ..config import Settings

HEADER_FORMATS = ("NONE", "TEXT", "IMAGE", "VIDEO", "DOCUMENT", "LOCATION")
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
PAGE_SIZE = 100  # templates per page asked of the API (its maximum)


@dataclass(frozen=True)
class Template:
    """One template in one language, with its fixed text."""

    name: str
    language: str
    status: str = "APPROVED"
    category: str = "UTILITY"
    header: str = "NONE"
    header_text: str = ""
    body: str = ""
    footer: str = ""
    buttons: tuple[str, ...] = ()

    @property
    def approved(self) -> bool:
        # FLAGGED: quality dropped, still sendable until Meta pauses it.
        return self.status in ("APPROVED", "FLAGGED")

    def body_placeholders(self) -> list[str]:
        """The body's placeholders in order of appearance, each once: ["1", "2"] or names."""
        return list(dict.fromkeys(PLACEHOLDER.findall(self.body)))

    def header_placeholders(self) -> list[str]:
        return list(dict.fromkeys(PLACEHOLDER.findall(self.header_text)))

    def fill_body(self, values: list[str], names: list[str] | None = None) -> str:
        return fill(self.body, values, names)

    def fill_header(self, value: str | None) -> str:
        return fill(self.header_text, [value or ""])


def fill(text: str, values: list[str], names: list[str] | None = None) -> str:
    """``text`` with ``{{1}}``/``{{name}}`` replaced; an unknown placeholder stays as written."""
    by_key = {str(i): v for i, v in enumerate(values, 1)}
    by_key.update(zip(names or [], values, strict=False))
    return PLACEHOLDER.sub(lambda m: by_key.get(m.group(1), m.group(0)), text)


@dataclass
class Catalogue:
    templates: list[Template] = field(default_factory=list)
    path: Path | None = None
    found: bool = False  # the file exists

    def get(self, name: str, language: str | None = None) -> Template | None:
        """The template ``name`` in ``language`` (any language when there is only one)."""
        same = [tpl for tpl in self.templates if tpl.name == name]
        exact = [tpl for tpl in same if tpl.language == language]
        found = exact or (same if len(same) == 1 or language is None else [])
        return found[0] if found else None


# --- the committed file ----------------------------------------------------------------
def read_catalogue(path: Path) -> Catalogue:
    """The catalogue in ``path``; an empty one when the file does not exist."""
    path = Path(path)
    if not path.is_file():
        return Catalogue(path=path)
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(t("templates.file-invalid", path=path, detail=exc)) from None
    templates = []
    for i, entry in enumerate(data.get("template", []), 1):
        try:
            templates.append(_from_table(entry))
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(t("templates.entry-invalid", path=path, n=i, detail=exc)) from None
    return Catalogue(templates, path, True)


def _from_table(entry: dict) -> Template:
    unknown = set(entry) - set(Template.__dataclass_fields__)
    if unknown:
        raise ValueError(", ".join(sorted(unknown)))
    tpl = Template(**{**entry, "buttons": tuple(entry.get("buttons", ()))})
    if not isinstance(tpl.name, str) or not isinstance(tpl.language, str):
        raise TypeError("name, language")
    if tpl.header not in HEADER_FORMATS:
        raise ValueError(f"header = {tpl.header!r} ({' | '.join(HEADER_FORMATS)})")
    return tpl


@cache
def _cached(path: str, mtime_ns: int, size: int) -> Catalogue:
    return read_catalogue(Path(path))


def load_catalogue(settings: Settings) -> Catalogue:
    """The settings' catalogue file, read once per version of the file."""
    path = Path(settings.templates_file)
    try:
        st = path.stat()
    except OSError:
        return Catalogue(path=path)
    return _cached(str(path.resolve()), st.st_mtime_ns, st.st_size)


HEADER_COMMENT = """\
# The town's WhatsApp templates as Meta has them (name, language, status,
# category, text). Written by `banditore templates sync`; a town without access
# to the API writes the same file by hand. What fills each {{n}} is configured
# in [tool.banditore.templates.NAME] in pyproject.toml.
"""


def write_catalogue(catalogue: Catalogue, path: Path) -> None:
    """Write ``catalogue`` sorted by name and language, so a re-sync diffs only changes."""
    rows = []
    for tpl in sorted(catalogue.templates, key=lambda x: (x.name, x.language)):
        row = {k: v for k, v in asdict(tpl).items() if v not in ("", (), [])}
        if tpl.buttons:
            row["buttons"] = list(tpl.buttons)
        rows.append(row)
    text = HEADER_COMMENT + "\n" + tomli_w.dumps({"template": rows}, multiline_strings=True)
    replace_durably(Path(path), text.encode("utf-8"), mode=0o644)  # committed: readable


# --- from Meta -------------------------------------------------------------------------
def from_api(item: dict) -> Template:
    """One element of ``message_templates``' ``data`` as a Template."""
    header, header_text, body, footer, buttons = "NONE", "", "", "", []
    for comp in item.get("components") or []:
        kind = str(comp.get("type", "")).upper()
        if kind == "HEADER":
            header = str(comp.get("format", "TEXT")).upper()
            header_text = comp.get("text") or ""
        elif kind == "BODY":
            body = comp.get("text") or ""
        elif kind == "FOOTER":
            footer = comp.get("text") or ""
        elif kind == "BUTTONS":
            buttons = [str(b.get("text", "")) for b in comp.get("buttons") or []]
    return Template(name=str(item["name"]), language=str(item.get("language", "")),
                    status=str(item.get("status", "")).upper(),
                    category=str(item.get("category", "")).upper(),
                    header=header if header in HEADER_FORMATS else "NONE",
                    header_text=header_text, body=body, footer=footer, buttons=tuple(buttons))


@dataclass
class SyncResult:
    path: Path
    templates: list[Template]
    pages: int

    def text(self) -> str:
        by_status: dict[str, int] = {}
        for tpl in self.templates:
            by_status[tpl.status] = by_status.get(tpl.status, 0) + 1
        detail = ", ".join(f"{k} {v}" for k, v in sorted(by_status.items())) or "-"
        return t("templates.synced", count=len(self.templates), path=self.path,
                 pages=self.pages, detail=detail)


def sync_catalogue(settings: Settings, session: requests.Session | None = None,
                   timeout: float = 30.0) -> SyncResult:
    """Read every template of the WhatsApp Business Account into the catalogue file.

    Pages are followed through ``paging.cursors.after`` while ``paging.next`` is
    present; the next URL is built here, never taken from the answer, so the token
    only ever goes to ``whatsapp_api_base``.
    """
    if settings.whatsapp_token is None or not settings.whatsapp_waba_id:
        raise ConfigError(t("templates.no-access"))
    url = (f"{settings.whatsapp_api_base.rstrip('/')}/{settings.whatsapp_api_version}/"
           f"{settings.whatsapp_waba_id}/message_templates")
    headers = {"Authorization": f"Bearer {settings.whatsapp_token.get_secret_value()}"}
    params: dict[str, str | int] = {"fields": "name,language,status,category,components",
                                    "limit": PAGE_SIZE}
    own = session is None
    session = session or requests.Session()
    templates: list[Template] = []
    pages = 0
    try:
        while True:
            try:
                resp = session.get(url, params=params, headers=headers, timeout=timeout)
                answer = resp.json()
            except (requests.RequestException, ValueError) as exc:
                raise BanditoreError(t("templates.api-failed", detail=type(exc).__name__,
                                       url=url)) from None
            if resp.status_code != 200 or not isinstance(answer, dict):
                err = parse_error(resp.status_code, answer if isinstance(answer, dict) else None)
                raise BanditoreError(t("templates.api-error", code=err.code, title=err.title))
            pages += 1
            templates += [from_api(item) for item in answer.get("data") or []]
            paging = answer.get("paging") or {}
            after = (paging.get("cursors") or {}).get("after")
            if not paging.get("next") or not after:
                break
            params = {**params, "after": after}
    finally:
        if own:
            session.close()
    path = Path(settings.templates_file)
    write_catalogue(Catalogue(templates), path)
    return SyncResult(path, templates, pages)


def updated(catalogue: Catalogue, changes: dict[str, dict[str, str]]) -> Catalogue:
    """The catalogue with the status/category Meta announced since (webhooks), by
    ``name`` or ``name:language``: ``{"avviso": {"status": "PAUSED"}}``."""
    if not changes:
        return catalogue
    out = []
    for tpl in catalogue.templates:
        change = changes.get(f"{tpl.name}:{tpl.language}") or changes.get(tpl.name) or {}
        out.append(replace(tpl, status=change.get("status") or tpl.status,
                           category=change.get("category") or tpl.category))
    return replace(catalogue, templates=out)
