"""The public archive: static HTML pages, readable without JavaScript and on a phone.

``index.html`` (the latest, the categories, the months), ``archivio/YYYY-MM.html``
(a month, by day), ``categorie/<category>.html`` (by month), ``avvisi/<id>.html``
(one announcement: the message as citizens received it on WhatsApp, framed as that
message, footer included; its media, its withdrawal or corrections), ``style.css``.
Every page says how to join (:mod:`.join`), and, when the site was built without the
send stage's records, that it lists what was due rather than what went out.
Category names are the settings' labels. Every link is relative, so the same folder
works on GitHub Pages under a sub-path, on any web server, or opened from disk.
Templates are Jinja2's, autoescaped; the body's HTML comes from :mod:`.bubble_text`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from jinja2 import Environment, PackageLoader, Template, select_autoescape
from markupsafe import Markup

from ..messages import t
from .bubble_text import BubbleTexts, page_html
from .join import QR_FILE, join
from .selection import Entry

if TYPE_CHECKING:
    from ..config import Settings

LATEST = 20  # on the home page
_TEXTS = ("skip", "nav", "latest", "categories", "by-date", "feed", "feeds", "feed-all",
          "feed-this", "cap-feed", "cap", "footer", "withdrawn", "updated", "expires", "empty",
          "message", "due-only", "join-title", "join-open", "join-privacy", "join-qr-note")


def page_path(entry_id: str) -> str:
    """Where an announcement's page is, from the site's root."""
    return f"avvisi/{entry_id}.html"


@dataclass(frozen=True)
class MediaView:
    kind: str  # image | video | document
    src: str
    alt: str


class Calendar:
    """Dates in the town's language, without the machine's locale."""

    def __init__(self, language: str) -> None:
        self.language = language
        self.months = t("site.months", language).split(",")
        self.weekdays = t("site.weekdays", language).split(",")

    def day(self, moment: datetime) -> str:
        return t("site.day", self.language, weekday=self.weekdays[moment.weekday()],
                 day=moment.day, month=self.months[moment.month - 1], year=moment.year)

    def when(self, moment: datetime) -> str:
        return t("site.when", self.language, weekday=self.weekdays[moment.weekday()],
                 day=moment.day, month=self.months[moment.month - 1], year=moment.year,
                 time=moment.strftime("%H:%M"))

    def month(self, moment: datetime) -> str:
        return f"{self.months[moment.month - 1]} {moment.year}"


class Site:
    """Renders the archive's pages for ``entries`` (everything that has gone out)."""

    def __init__(self, settings: Settings, entries: list[Entry], *, cap: set[str] | None = None,
                 due_only: bool = False) -> None:
        self.settings = settings
        self.entries = entries
        self.by_id = {e.id: e for e in entries}
        self.cap = cap  # the ids that have a CAP alert; None: the town has no CAP
        self.lang = settings.language
        self.calendar = Calendar(self.lang)
        self.env = Environment(loader=PackageLoader("runner.channels", "templates"),
                               autoescape=select_autoescape(["html"]), trim_blocks=False)
        self.text = {key.replace("-", "_"): t(f"site.{key}", self.lang) for key in _TEXTS}
        self.join = join(settings)
        self.common = {"lang": self.lang, "town": settings.town, "text": self.text,
                       "join": self.join, "join_lines": self._join_lines(),
                       "qr": QR_FILE, "due_only": due_only}
        self.texts = BubbleTexts(settings)

    def _join_lines(self) -> dict[str, str]:
        found = self.join
        if found is None:
            return {}
        how = "site.join-how-name" if found.with_name else "site.join-how"
        return {"how": t(how, self.lang, keyword=found.keyword, number=found.number),
                "leave": t("site.join-leave", self.lang, keyword=found.unsubscribe),
                "qr_alt": t("site.join-qr-alt", self.lang, keyword=found.keyword,
                            number=found.number)}

    @cached_property
    def _page(self) -> Template:
        return self.env.get_template("announcement.html")

    def page(self, entry: Entry, body: str | None = None) -> str:
        """One announcement's page (``body``: its text as HTML, when already made)."""
        body = page_html(self.texts.of(entry)) if body is None else body
        related = [self.by_id[i] for i in entry.updated_by if i in self.by_id]
        refers = [{"id": ref, "title": self.by_id[ref].title,
                   "label": self.text_for("cancels" if entry.msg_type == "Cancel" else "updates")}
                  for ref in entry.references if ref in self.by_id]
        urgency = (t(f"site.urgency-{entry.urgency}", self.lang)
                   if entry.urgency != "normal" else "")
        return self._page.render(
            **self.common, root="../", page_title=entry.title, e=entry,
            when=self.calendar.when(entry.published), category=self.label(entry.category),
            urgency=urgency, withdrawn_by=self.by_id.get(entry.withdrawn_by or ""),
            updated_by=related, refers=refers, media=self.media(entry),
            body=Markup(body), cap=entry.id in (self.cap or ()),
            expires=self.calendar.when(entry.expires) if entry.expires else "")

    def label(self, category: str) -> str:
        return self.settings.category_labels.of(category)

    def text_for(self, key: str) -> str:
        return t(f"site.{key}", self.lang)

    def media(self, entry: Entry) -> MediaView | None:
        media = entry.media()
        if media is None or media.kind is None:
            return None
        if media.url is not None:
            src = media.url
        elif media_file(media.source) is None:
            return None
        else:
            src = "../" + media.source
        key = {"image": "image-alt", "video": "video"}.get(media.kind)
        alt = (t(f"site.{key}", self.lang, title=entry.title) if key
               else t("site.document", self.lang, kind=Path(media.source).suffix[1:].upper()))
        return MediaView(media.kind, src, alt)

    # --- listings ---------------------------------------------------------------
    def _item(self, entry: Entry) -> dict:
        return {"id": entry.id, "title": entry.title, "withdrawn": entry.withdrawn,
                "when": self.calendar.when(entry.published),
                "datetime": entry.published.isoformat(),
                "category": self.label(entry.category)}

    def listings(self) -> dict[str, str]:
        """Every page that lists announcements, by path from the root: the home page,
        one per month, one per category."""
        newest = sorted(self.entries, key=lambda e: (e.published, e.id), reverse=True)
        months: dict[str, list[Entry]] = defaultdict(list)
        categories: dict[str, list[Entry]] = defaultdict(list)
        for entry in newest:
            months[entry.published.strftime("%Y-%m")].append(entry)
            categories[entry.category].append(entry)
        listing = self.env.get_template("listing.html")
        pages = {"index.html": self._home(newest, months, categories)}
        for key, found in months.items():
            days: dict[str, list[Entry]] = defaultdict(list)
            for entry in found:
                days[self.calendar.day(entry.published)].append(entry)
            title = t("site.month-title", self.lang, month=self.calendar.months[
                found[0].published.month - 1], year=found[0].published.year)
            pages[f"archivio/{key}.html"] = listing.render(
                **self.common, root="../", page_title=title, feed=None,
                groups=[{"label": day, "items": [self._item(e) for e in items]}
                        for day, items in days.items()])
        for name, found in categories.items():
            by_month: dict[str, list[Entry]] = defaultdict(list)
            for entry in found:
                by_month[self.calendar.month(entry.published)].append(entry)
            pages[f"categorie/{name}.html"] = listing.render(
                **self.common, root="../", feed=f"{name}.xml",
                page_title=t("site.category-title", self.lang, category=self.label(name)),
                groups=[{"label": month, "items": [self._item(e) for e in items]}
                        for month, items in by_month.items()])
        return pages

    def _home(self, newest: list[Entry], months: dict, categories: dict) -> str:
        counts = Counter(e.category for e in newest)
        order = [c for c in self.settings.categories if c in counts]
        order += sorted(set(counts) - set(order))
        years: dict[int, list[dict]] = defaultdict(list)
        for key, found in months.items():
            years[found[0].published.year].append(
                {"key": key, "label": self.calendar.month(found[0].published),
                 "count": len(found)})
        return self.env.get_template("index.html").render(
            **self.common, root="", cap=self.cap is not None,
            page_title=t("site.title", self.lang, town=self.settings.town),
            latest=[self._item(e) for e in newest[:LATEST]],
            categories=[{"name": c, "label": self.label(c), "count": counts[c]}
                        for c in order],
            years=[{"label": year, "months": items} for year, items in years.items()])

    def stylesheet(self) -> bytes:
        return (Path(__file__).parent / "templates" / "style.css").read_bytes()


def media_file(source: str) -> Path | None:
    """A repository media file that exists, inside the repository; else None."""
    path = Path(source)
    if path.is_absolute() or ".." in path.parts or not path.is_file():
        return None
    return path
