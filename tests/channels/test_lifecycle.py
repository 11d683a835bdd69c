"""Corrections, withdrawals and drills on every channel: an Update and a Cancel
carry CAP references to their original, the withdrawn one is marked, drills stay
with the staff."""

from __future__ import annotations

from datetime import timedelta

import feedparser
import pytest
from lxml import etree
from pydantic import SecretStr

from runner.announcements.validate import check
from runner.channels.mirror import mirror
from runner.channels.site_build import publish
from runner.send import send
from tests.support.announcement_repo import write_announcement
from tests.support.cap import NS, assert_valid, text
from tests.support.clock import FakeClock
from tests.support.cloud_api_server import CloudApiServer
from tests.support.sent_town import AFTER, PUBLISHED, cloud_api, sent_town
from tests.support.telegram_api_server import CHAT, TOKEN, TelegramApiServer

UPDATE, CANCEL, DRILL = ("2024-04-03-acqua-rettifica", "2024-04-03-via-roma-revoca",
                         "2024-04-03-prova")


@pytest.fixture(scope="module")
def corrected(tmp_path_factory):
    """The town, then a second send run with a correction of the water notice, a
    withdrawal of the road one and a drill; published ten minutes later."""
    root = tmp_path_factory.mktemp("town")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        settings = sent_town(root).model_copy(update={"test_recipients": ["393330009999"]})
        ann = settings.announcements_dir
        write_announcement(ann, UPDATE, title="Acqua, si riprende alle 12",
                           category="disservizi", publish_at="2024-04-03T10:40:00+02:00",
                           extra="updates: 2024-04-03-acqua\n",
                           body="L'acqua torna alle 12, non alle 13.")
        write_announcement(ann, CANCEL, title="Via Roma, avviso ritirato", category="viabilita",
                           publish_at="2024-04-03T10:45:00+02:00",
                           extra="cancels: 2024-04-01-via-roma\n",
                           body="L'avviso su via Roma conteneva un errore: ignoratelo.")
        write_announcement(ann, DRILL, title="Esercitazione", category="protezione-civile",
                           publish_at="2024-04-03T10:50:00+02:00", extra="status: exercise\n")
        result = check(settings)
        assert {UPDATE, CANCEL, DRILL} <= {a.id for a in result.valid}, [
            (p.file, p.message) for p in result.errors if "rotto" not in p.file]
        fake = FakeClock()
        with CloudApiServer() as api:
            send(settings.model_copy(update=cloud_api(api)), result.valid,
                 clock=fake.clock, sleep=fake.sleep)
        later = settings.model_copy(update={"now": AFTER + timedelta(minutes=10)})
        publish(later, root / "site")
        yield root / "site", later


def cap_of(site, slug):
    xml = (site / "cap" / f"{slug}.xml").read_bytes()
    assert_valid(xml, slug)
    return etree.fromstring(xml)


def test_an_update_and_a_cancel_reference_their_originals(site):
    update, cancel = cap_of(site, UPDATE), cap_of(site, CANCEL)
    assert text(update, "cap:msgType") == "Update"
    # An original is named by its sender, identifier and sent, as its own alert says.
    original = cap_of(site, "2024-04-03-acqua")
    assert text(update, "cap:references") == \
        f"comune.prova.it,comune.prova.it.2024-04-03-acqua,{text(original, 'cap:sent')}"
    assert text(cancel, "cap:msgType") == "Cancel"
    road = cap_of(site, "2024-04-01-via-roma")
    assert text(cancel, "cap:references") == \
        f"comune.prova.it,comune.prova.it.2024-04-01-via-roma,{text(road, 'cap:sent')}"
    assert (text(original, "cap:msgType"), original.find("cap:references", NS)) == ("Alert", None)


def test_the_withdrawn_and_the_corrected_pages_say_so_and_link_each_other(site):
    road = (site / "avvisi" / "2024-04-01-via-roma.html").read_text()
    assert f'Avviso ritirato.</strong> <a href="{CANCEL}.html">' in road
    water = (site / "avvisi" / "2024-04-03-acqua.html").read_text()
    assert 'Aggiornato da:</strong> <a href="2024-04-03-acqua-rettifica.html">' in water
    update = (site / "avvisi" / f"{UPDATE}.html").read_text()
    assert "Aggiorna l&#39;avviso: <a href=\"2024-04-03-acqua.html\">" in update
    assert "Avviso ritirato." not in water


def test_drills_never_reach_the_public(site):
    assert not (site / "avvisi" / f"{DRILL}.html").exists()
    assert not (site / "cap" / f"{DRILL}.xml").exists()
    assert {p.stem for p in (site / "avvisi").glob("*.html")} == \
        PUBLISHED | {UPDATE, CANCEL, "2024-04-03-nuovo"}


def test_the_feed_moves_the_withdrawn_one_to_its_withdrawal(site):
    feed = feedparser.parse((site / "feed.xml").read_bytes())
    [road] = [e for e in feed.entries if e.id.endswith("/2024-04-01-via-roma")]
    assert road.title == "Avviso ritirato. Avviso via-roma"
    assert road.updated == "2024-04-03T10:45:00+02:00"
    assert not [e for e in feed.entries if e.id.endswith(DRILL)]



def test_telegram_posts_the_correction_and_the_withdrawal_not_the_withdrawn_or_the_drill(
        corrected, site):
    settings = corrected[1]
    with TelegramApiServer() as api:
        posted = mirror(settings.model_copy(update={
            "telegram_token": SecretStr(TOKEN), "telegram_chat_id": CHAT,
            "telegram_api_base": api.base})).posted
    assert {UPDATE, CANCEL} <= set(posted)
    assert "2024-04-01-via-roma" not in posted and DRILL not in posted


@pytest.fixture
def site(corrected):
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(corrected[0].parent)
        yield corrected[0]
