"""publish: only what has gone out, withdrawn ones marked, the site replaced whole."""

from __future__ import annotations

import html5lib
import pytest

from runner.announcements.validate import check
from runner.channels.join import join, qr_svg
from runner.channels.site_build import MARKER, publish
from runner.channels.store import send_records
from runner.cli import main
from runner.errors import ConfigError
from runner.send import send
from tests.support.announcement_repo import write_announcement
from tests.support.sent_town import AFTER, PUBLISHED, WARNED, WITHDRAWN


def pages(site) -> set[str]:
    return {p.stem for p in (site / "avvisi").glob("*.html")}


def test_only_what_has_gone_out_is_published(town, tmp_path):
    result = publish(town, tmp_path / "site")
    site = tmp_path / "site"
    # Not: cancelled before sending, merged after the run, in the future, broken.
    assert pages(site) == PUBLISHED
    assert {p.stem for p in (site / "cap").glob("2024-*.xml")} == WARNED
    assert (result.pages, result.alerts, result.left_out) == (5, 3, 1)
    assert result.database and result.cap


def test_withdrawn_is_marked_on_its_page_and_in_the_lists(town, tmp_path):
    publish(town, tmp_path / "site")
    site = tmp_path / "site"
    for slug in PUBLISHED:
        page = (site / "avvisi" / f"{slug}.html").read_text()
        assert ("Avviso ritirato." in page) == (slug in WITHDRAWN), slug
    index = (site / "index.html").read_text()
    assert 'class="withdrawn"><a href="avvisi/2024-04-03-fiera.html"' in index


def test_the_page_holds_the_text_citizens_received(town, tmp_path):
    publish(town, tmp_path / "site")
    page = (tmp_path / "site" / "avvisi" / "2024-04-01-via-roma.html").read_text()
    # The template's text with its parameters, as WhatsApp showed it (flat: Meta
    # allows no line break in a parameter), its footer, and no Markdown left.
    # The footer is inside the message's frame, under the caption that says this is
    # the WhatsApp message: part of what citizens received, not advice to the reader.
    assert ('<figure class="message">\n'
            "<figcaption>Il messaggio come è arrivato su WhatsApp:</figcaption>\n"
            '<div class="text">\n'
            "<p>Avviso del Comune di Prova: <strong>Avviso via-roma</strong></p>\n"
            "<p>Via Roma è <strong>chiusa</strong>. Deviazione: via Manzoni; "
            "bus in piazza Garibaldi.</p>\n"
            '<p class="footer">Per cancellarti scrivi MI CANCELLO</p>\n</div>\n</figure>') in page
    assert '<a href="../categorie/viabilita.html">Viabilità</a>' in page
    tari = (tmp_path / "site" / "avvisi" / "2024-04-02-tari.html").read_text()
    assert ('<em>prima rata</em> scade il 16 aprile: come pagare (<a href='
            '"https://www.comune.prova.it/tari">https://www.comune.prova.it/tari</a>).') in tari
    wind = (tmp_path / "site" / "avvisi" / "2024-04-03-vento.html").read_text()
    assert '<img src="../announcements/media/vento.png" alt="Immagine dell&#39;avviso: ' in wind
    assert "Allerta arancione per vento forte. «Restate in casa.»" in wind
    assert (tmp_path / "site" / "announcements" / "media" / "vento.png").exists()


def test_every_page_is_valid_html_with_lang_and_ordered_headings(town, tmp_path):
    publish(town, tmp_path / "site")
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    files = sorted((tmp_path / "site").rglob("*.html"))
    assert len(files) > len(PUBLISHED)
    for path in files:
        doc = parser.parse(path.read_bytes())  # strict: any parse error raises
        assert doc.get("lang") == "it", path
        levels = [int(el.tag[1]) for el in doc.iter() if el.tag in {"h1", "h2", "h3", "h4"}]
        assert levels[0] == 1 and levels.count(1) == 1, path
        assert all(b <= a + 1 for a, b in zip(levels, levels[1:], strict=False)), path
        assert all(img.get("alt") for img in doc.iter("img")), path
        assert not list(doc.iter("script")), path


def test_strict_parsing_does_catch_broken_html():
    with pytest.raises(html5lib.html5parser.ParseError):
        html5lib.HTMLParser(strict=True).parse("<!doctype html><p>a</b>")


def test_without_a_database_the_clock_decides(town, tmp_path):
    town.database.unlink()
    result = publish(town, tmp_path / "site")
    # Everything past its publish time and not cancelled: the fair now says cancelled
    # (nothing tells it went out), the late one is in.
    assert pages(tmp_path / "site") == (PUBLISHED - WITHDRAWN) | {"2024-04-03-nuovo"}
    assert not result.database
    assert "Nessun database" in "\n".join(result.lines(town))
    # Every page says so to its reader.
    for path in (tmp_path / "site").rglob("*.html"):
        assert "il registro degli invii non era disponibile" in path.read_text(), path


def test_with_a_database_every_page_lists_what_went_out_without_a_caveat(town, tmp_path):
    publish(town, tmp_path / "site")
    for path in (tmp_path / "site").rglob("*.html"):
        assert "registro degli invii" not in path.read_text(), path


def test_no_deliveries_is_not_gone_out(town, tmp_path):
    """An announcement merged after it expired: the send run records it and sends
    nothing, so it has no deliveries at all. It never went out, and is not published
    (it was, read as an announcement with no audience)."""
    write_announcement(town.announcements_dir, "2024-03-20-vecchio", title="Mai partito",
                       publish_at="2024-03-20T09:00:00+02:00")
    send(town, check(town).valid)
    assert send_records(town.database)["2024-03-20-vecchio"].total == 0
    publish(town, tmp_path / "site")
    assert "2024-03-20-vecchio" not in pages(tmp_path / "site")


def test_publishing_again_replaces_the_site_whole(town, tmp_path):
    site = tmp_path / "site"
    publish(town, site)
    (town.announcements_dir / "2024" / "2024-04-03-acqua.md").unlink()
    publish(town, site)
    assert pages(site) == PUBLISHED - {"2024-04-03-acqua"}
    assert (site / MARKER).exists() and not (tmp_path / "site.new").exists()


def test_the_staff_form_in_the_site_is_kept(town, tmp_path):
    form = tmp_path / "site" / "admin" / "index.html"  # what `make cms-site` writes
    form.parent.mkdir(parents=True)
    form.write_text("<!doctype html><title>Decap</title>", encoding="utf-8")
    publish(town, tmp_path / "site")
    publish(town, tmp_path / "site")
    assert form.read_text(encoding="utf-8").endswith("Decap</title>")
    assert pages(tmp_path / "site") == PUBLISHED


def test_a_folder_publish_did_not_write_is_never_replaced(town, tmp_path):
    with pytest.raises(ConfigError, match="non è un sito"):
        publish(town, tmp_path / "announcements")
    assert (tmp_path / "announcements" / "2024").is_dir()


def test_cap_without_site_url_is_refused_saying_what_to_set(town, tmp_path, monkeypatch,
                                                           capsys):
    with pytest.raises(ConfigError, match="site_url"):
        publish(town.model_copy(update={"site_url": ""}), tmp_path / "site")
    monkeypatch.setenv("BANDITORE_SITE_URL", "")  # unset, as GitHub passes an empty secret
    (tmp_path / "pyproject.toml").write_text(
        (tmp_path / "pyproject.toml").read_text().replace('site_url = "https://comune-prova'
                                                          '.github.io/sito/"\n', ""))
    monkeypatch.setenv("BANDITORE_NOW", AFTER.isoformat())
    assert main(["validate"]) == 2
    err = capsys.readouterr().err
    assert "site_url" in err and "pyproject.toml" in err and "istat_code" in err


def test_every_page_says_how_to_join_with_a_qr_code(town, tmp_path):
    publish(town, tmp_path / "site")
    site = tmp_path / "site"
    link = "https://wa.me/390372123456?text=MI%20ISCRIVO"
    files = sorted(site.rglob("*.html"))
    for path in files:
        page = path.read_text()
        assert "Scrivi MI ISCRIVO su WhatsApp al numero +39 0372 123456." in page, path
        assert f'href="{link}"' in page, path
        assert "iscriviti.svg" in page and "privacy-whatsapp" in page, path
    qr = (site / "iscriviti.svg").read_text()
    assert qr.startswith("<?xml") and "<svg" in qr and "MI ISCRIVO" in qr
    # The code holds the link: the same matrix segno makes for it.
    assert qr.encode() == qr_svg(join(town), "it") and join(town).link == link


def test_no_public_number_means_no_box_and_a_note(town, tmp_path):
    result = publish(town.model_copy(update={"public_number": ""}), tmp_path / "site")
    assert "wa.me" not in (tmp_path / "site" / "index.html").read_text()
    assert "public_number" in "\n".join(result.lines(town))


def test_no_istat_code_means_no_cap_and_a_note(town, tmp_path):
    result = publish(town.model_copy(update={"istat_code": ""}), tmp_path / "site")
    assert not (tmp_path / "site" / "cap").exists()
    assert "istat_code" in "\n".join(result.lines(town))


def test_the_command(town, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("BANDITORE_NOW", AFTER.isoformat())
    assert main(["publish", "--out", "public"]) == 0
    assert "5 avvisi" in capsys.readouterr().out
    assert pages(tmp_path / "public") == PUBLISHED
