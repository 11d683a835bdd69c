"""The Atom feeds, read back by a real feed parser."""

from __future__ import annotations

import feedparser
import pytest

from runner.channels.site_build import publish
from tests.support.sent_town import PUBLISHED, SENT, WARNED, sent_town


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("town")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        settings = sent_town(root, site_url="https://comune-prova.github.io/sito")
        publish(settings, root / "site")
    return root / "site"


def parse(path):
    feed = feedparser.parse(path.read_bytes())
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    return feed


def slug(entry) -> str:
    return entry.id.rsplit("/", 1)[1]


def test_the_whole_service_lists_everything_that_went_out_newest_first(site):
    feed = parse(site / "feed.xml")
    assert feed.feed.title == "Avvisi del Comune di Prova"
    assert {slug(e) for e in feed.entries} == PUBLISHED
    published = [e.published_parsed for e in feed.entries if slug(e) != "2024-04-03-fiera"]
    assert published == sorted(published, reverse=True)
    for entry in feed.entries:
        assert entry.link == f"https://comune-prova.github.io/sito/avvisi/{slug(entry)}.html"
        assert entry.id.startswith("tag:comune.prova.it,2024-04-")
    [fair] = [e for e in feed.entries if slug(e) == "2024-04-03-fiera"]
    assert fair.title.startswith("Avviso ritirato.")
    [tari] = [e for e in feed.entries if slug(e) == "2024-04-02-tari"]
    assert "<em>prima rata</em>" in tari.content[0].value
    assert tari.tags[0].term == "scadenze"
    [road] = [e for e in feed.entries if slug(e) == "2024-04-01-via-roma"]
    assert road.tags[0].label == "Viabilità"  # the settings' label, with its accent


def test_one_feed_per_category_with_only_its_entries(site):
    categories = {SENT[s]["category"] for s in SENT} | {"eventi"}
    assert {p.stem for p in (site / "categorie").glob("*.xml")} == categories
    for category in categories:
        feed = parse(site / "categorie" / f"{category}.xml")
        assert feed.entries, category
        assert {e.tags[0].term for e in feed.entries} == {category}
        wanted = {s for s in PUBLISHED if SENT.get(s, {"category": "eventi"})["category"]
                  == category}
        assert {slug(e) for e in feed.entries} == wanted


def test_the_cap_index_links_each_alert_as_cap_xml(site):
    feed = parse(site / "cap" / "index.xml")
    assert {slug(e) for e in feed.entries} == WARNED  # warnings only
    for entry in feed.entries:
        cap = [link for link in entry.links if link.type == "application/cap+xml"]
        assert [link.rel for link in cap] == ["alternate"]
        assert cap[0].href == f"https://comune-prova.github.io/sito/cap/{slug(entry)}.xml"
        assert (site / "cap" / f"{slug(entry)}.xml").exists()


def test_a_feed_holds_the_latest_n(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = sent_town(tmp_path, site_feed_entries=2, site_url="", istat_code="")
    publish(settings, tmp_path / "site")
    feed = parse(tmp_path / "site" / "feed.xml")
    # The newest two: the fair (09:30, withdrawn since) and the water (09:00)...
    assert [slug(e) for e in feed.entries] == ["2024-04-03-fiera", "2024-04-03-acqua"]
    # ...and without site_url the links are relative to the feed.
    assert feed.entries[1].link == "avvisi/2024-04-03-acqua.html"
