"""Atom feeds (RFC 4287), written by feedgen: the whole service (``feed.xml``), one
per category (``categorie/<category>.xml``) and the CAP index (``cap/index.xml``,
one entry per alert, linked as ``application/cap+xml``, as alert aggregators read).

Each feed holds the latest ``site_feed_entries`` (50); the archive holds them all.
Entry ids are ``tag:`` URIs of the town's site and the announcement id, so they
never change when the site moves. A withdrawn announcement stays in its feeds
with ``updated`` moved to the withdrawal and the title marked, so readers that
already have it see the change.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from feedgen.feed import FeedGenerator
from lxml import etree

from ..messages import t
from .selection import Entry
from .site import page_path

if TYPE_CHECKING:
    from ..config import Settings

ATOM = "http://www.w3.org/2005/Atom"
MIME_CAP = "application/cap+xml"


class Links:
    """Absolute URLs under ``site_url`` when it is set, else paths relative to the
    folder of the document that holds them (a feed, an alert)."""

    def __init__(self, settings: Settings) -> None:
        base = settings.site_url.strip()
        self.base = base.rstrip("/") + "/" if base else ""

    def url(self, path: str, from_dir: str = "") -> str:
        if self.base:
            return self.base + path
        return posixpath.relpath(path, from_dir or ".")


def entry_tag(settings: Settings, entry_id: str, published: datetime, kind: str = "") -> str:
    """A stable Atom id: ``tag:comune.esempio.it,2024-04-03:avvisi/<id>``."""
    domain = (settings.town_site or "banditore.invalid").split("/")[0]
    return f"tag:{domain},{published.date().isoformat()}:{kind or 'avvisi'}/{entry_id}"


def _updated(entry: Entry, by_id: dict[str, Entry]) -> datetime:
    later = [by_id[i].published for i in [entry.withdrawn_by or "", *entry.updated_by]
             if i in by_id]
    return max([entry.published, *later])


def latest(entries: list[Entry], by_id: dict[str, Entry], n: int) -> list[Entry]:
    """The ``n`` entries a feed lists: the most recently changed first."""
    return sorted(entries, key=lambda e: (_updated(e, by_id), e.id), reverse=True)[:n]


def listed(settings: Settings, entries: list[Entry], *more: list[Entry]) -> set[str]:
    """The ids that some feed lists (their content is needed once each); ``more``: other
    lists with a feed of their own (the CAP index)."""
    by_id = {e.id: e for e in entries}
    groups: dict[str, list[Entry]] = {}
    for entry in entries:
        groups.setdefault(entry.category, []).append(entry)
    n = settings.site_feed_entries
    return {e.id for group in [entries, *groups.values(), *more]
            for e in latest(group, by_id, n)}


def feed(settings: Settings, path: str, title: str, entries: list[Entry],
         by_id: dict[str, Entry], content: Callable[[Entry], str],
         links: Links, *, cap: bool = False) -> bytes:
    """One Atom feed at ``path`` (from the site's root) listing ``entries``, newest first.

    ``content`` gives an entry's HTML (the page body); ``cap`` makes it the CAP index:
    each entry links its alert (``cap/<id>.xml``) as well as its page."""
    here = posixpath.dirname(path)
    chosen = latest(entries, by_id, settings.site_feed_entries)
    fg = FeedGenerator()
    # A fixed date: a feed's id must never change, whatever it lists.
    fg.id(entry_tag(settings, path.removesuffix(".xml"), datetime(2000, 1, 1), kind="feed"))
    fg.title(title)
    fg.author({"name": settings.town})
    fg.language(settings.language)
    fg.link(href=links.url(path, here), rel="self", type="application/atom+xml")
    fg.link(href=links.url("index.html", here), rel="alternate", type="text/html")
    fg.generator("Banditore")
    fg.updated(_updated(chosen[0], by_id) if chosen else datetime(2000, 1, 1).astimezone())
    withdrawn = t("site.withdrawn", settings.language)
    links_of: list[list[dict]] = []  # per entry, newest first: the links as meant
    for entry in reversed(chosen):  # feedgen prepends: the newest ends up first
        fe = fg.add_entry()
        fe.id(entry_tag(settings, entry.id, entry.published, "cap" if cap else ""))
        fe.title(f"{withdrawn} {entry.title}" if entry.withdrawn else entry.title)
        page = {"href": links.url(page_path(entry.id), here), "type": "text/html"}
        wanted = ([{"href": links.url(f"cap/{entry.id}.xml", here), "rel": "alternate",
                    "type": MIME_CAP}, {**page, "rel": "related"}] if cap
                  else [{**page, "rel": "alternate"}])
        for link in wanted:
            fe.link(**link)
        links_of.insert(0, wanted)
        fe.published(entry.published)
        fe.updated(_updated(entry, by_id))
        fe.category(term=entry.category, label=settings.category_labels.of(entry.category))
        fe.content(content(entry), type="html")
    return _with_link_attributes(fg.atom_str(pretty=True), links_of)


def _with_link_attributes(xml: bytes, links_of: list[list[dict]]) -> bytes:
    """feedgen 1.0.0 writes an entry's links with ``href`` only (the loop that adds
    ``rel`` and ``type`` reads them from the element it just made): put them back, or
    the CAP index would not say which link is the alert."""
    root = etree.fromstring(xml)
    for entry, wanted in zip(root.iterfind(f"{{{ATOM}}}entry"), links_of, strict=True):
        for element, link in zip(entry.iterfind(f"{{{ATOM}}}link"), wanted, strict=True):
            element.attrib.update({k: v for k, v in link.items() if k != "href"})
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def feeds(settings: Settings, entries: list[Entry], content: Callable[[Entry], str],
          links: Links, *, cap: list[Entry] | None) -> dict[str, bytes]:
    """Every feed of the site, by path from the root; ``cap``: the entries with a CAP
    alert, listed in the CAP index (None: the town has no CAP)."""
    by_id = {e.id: e for e in entries}
    town, lang = settings.town, settings.language
    out = {"feed.xml": feed(settings, "feed.xml", t("site.feed-title", lang, town=town),
                            entries, by_id, content, links)}
    for category in sorted({e.category for e in entries}):
        out[f"categorie/{category}.xml"] = feed(
            settings, f"categorie/{category}.xml",
            t("site.feed-category", lang, town=town,
              category=settings.category_labels.of(category)),
            [e for e in entries if e.category == category], by_id, content, links)
    if cap is not None:
        out["cap/index.xml"] = feed(settings, "cap/index.xml",
                                    t("site.cap-feed-title", lang, town=town),
                                    cap, by_id, content, links, cap=True)
    return out
