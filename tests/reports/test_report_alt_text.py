"""Every chart in the rendered reports says in words what it shows (WCAG 1.1.1,
axe-core's ``image-alt``): its title and the figures a sighted reader takes from it,
in the reader's language, and never a citizen's number or words.

The town's data arrive as a town's do: citizens' messages in the receiver's logs,
sync, one announcement sent through the loopback Cloud API, its status webhooks
logged and synced; then the notebooks run and export as ``report`` runs them.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from runner.config import load_settings
from runner.messages import catalogue, set_language, t
from runner.reports import charts, data, subscriptions
from runner.reports import notebooks as report_notebooks
from runner.subscribers.sync import sync
from tests.support.announcement_repo import write_announcement
from tests.support.browser import AXE, CHROMIUM, axe_violations, launch
from tests.support.cloud_api_server import CloudApiServer
from tests.support.sending import TOKEN, number, run
from tests.support.towns import make_town
from tests.support.webhooks import T0, message, status, write

NOW = "2024-04-03T10:00:00+02:00"
DAY = 86400
PUBLISH = T0 + 4 * DAY  # 25 March 2024, 07:46 in Rome
TITLE = "Strada chiusa per lavori"
CITIZENS_SPELLINGS = ["mi iscrivo", "Mi iscrivo"]  # as written; the keyword is MI ISCRIVO
# Each chart's title, as the catalogue has it (the 48 hours' with its hours).
TITLES = [t(key, "it", hours=48, n=20) for key in catalogue() if key.startswith("reports.chart.")]


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


@pytest.fixture(scope="module")
def town(tmp_path_factory):
    """Three citizens subscribe on 21 March and a fourth on the 22nd (4 active, the
    most); one leaves on the 23rd. On the 25th an announcement reaches the three left:
    one reads it, one has it delivered, and one number turns out not to be on WhatsApp
    (131026). Both reports are then rendered in Italian."""
    root = tmp_path_factory.mktemp("alt") / "town"
    root.mkdir()
    with pytest.MonkeyPatch.context() as mp, CloudApiServer() as api:
        for name in [n for n in os.environ if n.startswith("BANDITORE_") or n == "CI"]:
            mp.delenv(name)
        make_town(root, mp, now=NOW, language="it", whatsapp_token=TOKEN,
                  whatsapp_phone_number_id="1234", whatsapp_api_base=api.base)
        write(root / "logs" / "a.jsonl", [
            message(number(1), "wamid.1", T0, "MI ISCRIVO"),
            message(number(2), "wamid.2", T0 + 60, CITIZENS_SPELLINGS[0]),
            message(number(3), "wamid.3", T0 + 120, CITIZENS_SPELLINGS[1]),
            message(number(4), "wamid.4", T0 + DAY, "MI ISCRIVO"),
            message(number(2), "wamid.5", T0 + 2 * DAY, "MI CANCELLO"),
        ])
        sync(load_settings())
        write_announcement(root / "announcements", "2024-03-25-strada", title=TITLE,
                           category="eventi", publish_at=_iso(PUBLISH))
        for hours in (3, 4):  # that morning's send runs: welcomes first, then the news
            run(load_settings(now=_iso(PUBLISH + hours * 3600)))
        sent = {a.to.lstrip("+"): a for a in api.accepted if a.callback.startswith("banditore:a:")}
        assert sorted(sent) == [number(1), number(3), number(4)]
        at = PUBLISH + 5 * 3600
        lines = []
        for who, states, code in ((1, ("sent", "delivered", "read"), None),
                                  (3, ("sent", "delivered"), None),
                                  (4, ("failed",), 131026)):
            a = sent[number(who)]
            lines += [status(a.wamid, state, at, number(who), a.callback, code) for state in states]
        write(root / "logs" / "statuses.jsonl", lines)
        sync(load_settings())
        pages = report_notebooks.render_reports(load_settings(), root / "reports",
                                                progress=lambda _: None)
    return {"root": root, **{page.stem: page for page in pages}}


def _alts(page: Path) -> list[str | None]:
    soup = BeautifulSoup(page.read_text("utf-8"), "html.parser")
    return [img.get("alt") for img in soup.find_all("img")]


@pytest.mark.parametrize("report", ["subscribers", "deliveries"])
def test_every_chart_image_names_its_chart_and_its_figures(town, report):
    alts = _alts(town[report])
    assert len(alts) >= 2
    for alt in alts:
        assert alt, "an image without alt text"
        title = next((title for title in TITLES if alt.startswith(f"{title}: ")), None)
        assert title, f"the alt text names no chart: {alt!r}"
        figures = alt[len(title) + 2:]
        assert re.search(r"\d", figures) or figures.startswith(t("reports.alt.no-data", "it")), \
            alt
        assert number(1)[:7] not in alt  # no phone number, not even a part of one
        assert not any(spelling in alt for spelling in CITIZENS_SPELLINGS)  # counted, not quoted


def test_the_subscribers_charts_say_their_figures(town):
    assert _alts(town["subscribers"]) == [
        "Iscritti attivi a fine giornata: 3 il giorno 25 marzo, al massimo 4 il giorno 22 marzo",
        "Iscrizioni (sopra) e cancellazioni (sotto) per giorno: iscrizioni: 4, "
        "cancellazioni: 1; il giorno con più iscrizioni, 21 marzo: 3",
        "Parole chiave come scritte dai cittadini: forme: 4, in 5 messaggi; "
        "con la forma più usata di MI ISCRIVO: 2",
    ]


def test_the_deliveries_charts_say_their_figures(town):
    alts = _alts(town["deliveries"])
    assert (f"Esito per avviso (quota del pubblico): avvisi: 1; il più recente, «{TITLE}», "
            "pubblico 3: letto 33%, consegnato e non letto 33%, non ancora consegnato 0%, "
            "non consegnabile 33%, non raggiunto 0%") in alts
    assert any(alt.startswith("Messaggi non consegnati per motivo: in tutto: 1; il motivo più "
                              "frequente, 131026 «Non consegnabile") for alt in alts)


def test_a_chart_speaks_the_readers_language(town):
    set_language("en")
    con = data.open_db(town["root"] / "subscribers.duckdb")
    try:
        period = data.resolve_period(con, now=NOW)
        fig = charts.active_subscribers(subscriptions.active_over_time(con, period))
    finally:
        con.close()
        set_language("it")
    assert fig.alt == ("Active subscribers at the end of each day: 3 on 25 March, "
                       "at most 4 on 22 March")


@pytest.mark.skipif(not (Path(CHROMIUM).exists() and AXE.exists()),
                    reason="make test installs chromium and the npm packages")
@pytest.mark.parametrize("report", ["subscribers", "deliveries"])
def test_axe_finds_no_image_without_alt_and_nothing_serious(town, report):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = launch(pw)
        page = browser.new_page(locale="it-IT")
        page.goto(town[report].as_uri())
        every = axe_violations(page, impacts=("minor", "moderate", "serious", "critical"))
        serious = axe_violations(page)
        browser.close()
    assert [v for v in every if v.startswith("image-alt")] == []
    assert serious == []
