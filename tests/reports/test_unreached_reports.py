"""Who of an announcement's audience was not reached, in the deliveries report, on a
town whose data took the real path: webhook log lines -> sync -> plan -> send to the
loopback Cloud API -> status webhooks -> sync.

Three announcements are planned at night (quiet hours: they wait, queued) for four
citizens. Past midnight one is withdrawn (``cancelled: true``): nobody is owed it any
more. By morning Anna has paused, Bruno has left, and one announcement has expired:
the morning's run sends the other to Carla and Dario and skips the rest, each with its
reason. The report's audience is everyone each announcement was planned for, and it
shows who was not reached, how many and why (DESIGN.md, "Who receives what").
"""

from __future__ import annotations

import re
import shutil
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from runner.config import load_settings
from runner.messages import set_language, t
from runner.reports import charts, data, deliveries, reasons
from runner.subscribers.sync import sync
from runner.whatsapp.answers import skip_meaning
from tests.support.announcement_repo import write_announcement
from tests.support.clock import NOW
from tests.support.cloud_api_server import CloudApiServer
from tests.support.sending import run, statuses_arrive, town_settings
from tests.support.webhooks import message, write

ANNA, BRUNO, CARLA, DARIO = (f"39333000{i:04d}" for i in range(1, 5))
NIGHT = NOW.replace(hour=23)  # 3 April, quiet hours: normal announcements wait, queued
MORNING = NIGHT + timedelta(hours=9, minutes=30)
VIA_ROMA, MERCATO, FIERA = "2024-04-03-via-roma", "2024-04-03-mercato", "2024-04-03-fiera"


def at(moment) -> int:
    return int(moment.timestamp())


def log(settings, *lines: str) -> None:
    write(Path(settings.webhook_logs) / "a.jsonl", list(lines), mode="a")


def later(settings, moment):
    return settings.model_copy(update={"now": moment})


@pytest.fixture(scope="module")
def db_path(tmp_path_factory):
    root = tmp_path_factory.mktemp("unreached")
    with pytest.MonkeyPatch.context() as mp, CloudApiServer() as api:
        mp.chdir(root)
        night = town_settings(root, api, now=NIGHT)
        log(night, *(message(n, f"wamid.s{i}", at(NIGHT) - 3600 + i, "MI ISCRIVO")
                     for i, n in enumerate((ANNA, BRUNO, CARLA, DARIO))))
        sync(night)
        ann = night.announcements_dir
        write_announcement(ann, VIA_ROMA, title="Via Roma chiusa",
                           publish_at=(NIGHT - timedelta(minutes=30)).isoformat())
        write_announcement(ann, MERCATO, title="Mercato spostato", category="eventi",
                           publish_at=(NIGHT - timedelta(minutes=20)).isoformat(),
                           extra="expires_at: 2024-04-04T07:00:00+02:00\n")
        write_announcement(ann, FIERA, title="Fiera di primavera", category="eventi",
                           publish_at=(NIGHT - timedelta(minutes=10)).isoformat())
        run(night)  # all three planned for the four, and held until morning
        past_midnight = later(night, NIGHT + timedelta(hours=1, minutes=30))
        write_announcement(ann, FIERA, title="Fiera di primavera", category="eventi",
                           publish_at=(NIGHT - timedelta(minutes=10)).isoformat(),
                           extra="cancelled: true\n")
        run(past_midnight)  # the fiera withdrawn: its deliveries cancelled
        morning = later(night, MORNING)
        log(morning, message(ANNA, "wamid.p", at(MORNING) - 600, "PAUSA"),
            message(BRUNO, "wamid.c", at(MORNING) - 300, "MI CANCELLO"))
        sync(morning)
        run(morning)
        statuses_arrive(morning, api.accepted, "delivered", at=MORNING + timedelta(minutes=1))
    return morning.database


@pytest.fixture
def period(con):
    return data.resolve_period(con, now=MORNING.isoformat())


def test_the_audience_counts_everyone_it_was_planned_for_reached_or_not(con, period):
    df = deliveries.announcements(con, period).set_index("announcement_id")
    columns = ["audience", "sent", "delivered", "failed", "pending", "skipped"]
    assert df.loc[VIA_ROMA, columns].tolist() == [4, 2, 2, 0, 0, 2]  # Anna, Bruno not reached
    assert df.loc[MERCATO, columns].tolist() == [4, 0, 0, 0, 0, 4]   # nobody: it expired
    # Withdrawn before it went out: nobody is owed it, nobody is missing from it.
    assert df.loc[FIERA, columns].tolist() == [0, 0, 0, 0, 0, 0]
    tiles = deliveries.headline(con, period)
    values = dict(zip(tiles["metric"], tiles["value"], strict=True))
    assert (values["messages"], values["unreached"]) == (8, 6)
    assert values["delivered_rate"] == pytest.approx(2 / 8)  # not 100 %: two of eight


def test_who_was_not_reached_is_counted_with_the_reason_in_words(con, period):
    df = reasons.unreached(con, period)
    assert df[["announcement_id", "reason", "citizens"]].values.tolist() == [
        [VIA_ROMA, "not_subscribed", 1], [VIA_ROMA, "paused", 1],
        [MERCATO, "expired", 2], [MERCATO, "not_subscribed", 1], [MERCATO, "paused", 1]]
    assert set(df["meaning"]) == {t("send.reason.not_subscribed"), t("send.reason.paused"),
                                  t("send.reason.expired")}
    assert t("send.reason.paused") == (
        "in pausa (ha sospeso la ricezione con la parola chiave di pausa)")
    set_language("en")
    try:
        assert "paused (suspended reception with the pause keyword)" in set(
            reasons.unreached(con, period)["meaning"])
    finally:
        set_language("it")


def test_the_charts_show_who_was_not_reached_and_why(con, period):
    outcomes = charts.announcement_outcomes(deliveries.announcements(con, period)).axes[0]
    assert t("reports.legend.skipped") in [h.get_label() for h in outcomes.containers]
    skipped = next(c for c in outcomes.containers if c.get_label() == t("reports.legend.skipped"))
    labels = [label.get_text() for label in outcomes.get_yticklabels()]
    widths = dict(zip(labels, [bar.get_width() for bar in skipped], strict=True))
    assert widths["Via Roma chiusa (4)"] == 0.5 and widths["Mercato spostato (4)"] == 1.0

    why = charts.unreached(reasons.unreached(con, period)).axes[0]
    assert why.get_title(loc="left") == t("reports.chart.unreached")
    bars = {label.get_text().replace("\n", " "): bar.get_width()
            for label, bar in zip(why.get_yticklabels(), why.patches, strict=True)}
    assert bars == {skip_meaning("expired"): 2, skip_meaning("not_subscribed"): 2,
                    skip_meaning("paused"): 2}
    assert [text.get_text() for text in why.texts] == [" 2", " 2", " 2"]


def test_the_unreached_chart_says_its_figures_in_words(con, period):
    chart = charts.unreached(reasons.unreached(con, period))
    assert chart.alt.startswith(t("reports.chart.unreached") + ": in tutto: 6; ")
    assert "il motivo più frequente, «" in chart.alt and "»: 2" in chart.alt


def test_nobody_left_out_says_so_instead_of_an_empty_chart():
    empty = pd.DataFrame({"announcement_id": [], "title": [], "reason": [], "meaning": [],
                          "citizens": []})
    texts = [text.get_text() for text in charts.unreached(empty).axes[0].texts]
    assert t("reports.why.none-unreached") in texts


def test_the_deliveries_report_shows_the_audience_and_who_was_not_reached(db_path, tmp_path):
    """The notebook as the report command runs it: the cards, the charts, the table."""
    from runner.reports import notebooks as report_notebooks

    (tmp_path / "nb").mkdir()
    shutil.copy(report_notebooks.default_notebooks_dir() / "deliveries.ipynb", tmp_path / "nb")
    [page] = report_notebooks.render_reports(
        load_settings(database=db_path, language="it", now=MORNING.isoformat()),
        tmp_path / "html", notebooks_dir=tmp_path / "nb", progress=lambda _: None)
    html = page.read_text("utf-8")

    def card(value: str, metric: str) -> bool:
        label = re.escape(t(f"reports.metric.{metric}"))
        return bool(re.search(rf"<div class=.v.>{re.escape(value)}</div>"
                              rf"<div class=.l.>{label}</div>", html))

    assert card("8", "messages") and card("25%", "delivered_rate") and card("6", "unreached")
    assert t("reports.note.unreached") in html.replace("&#x27;", "'")
    # the table: Via Roma's audience of four, two not reached
    row = re.search(r"Via Roma chiusa</td><td class=.t.>viabilita</td>(.*?)</tr>", html)[1]
    assert re.findall(r"<td class=.n.>(\d+)</td>", row) == ["4", "2", "2", "0", "0", "0", "2"]
