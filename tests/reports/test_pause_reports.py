"""Paused citizens in the subscribers report, on a database made the way a town's is:
webhook logs -> sync."""

from __future__ import annotations

import re
import shutil
from datetime import datetime
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from runner.config import load_settings
from runner.messages import t
from runner.reports import charts, data, subscriptions
from runner.subscribers.sync import sync
from tests.support.webhooks import message, write

ROME = ZoneInfo("Europe/Rome")


def ts(day: int, hour: int = 10) -> int:
    return int(datetime(2024, 3, day, hour, tzinfo=ROME).timestamp())


# (number, day of March, text): Anna pauses and resumes, Bruno pauses, Carla stays.
HISTORY = [
    ("393330000001", 18, "MI ISCRIVO"), ("393330000001", 20, "PAUSA"),
    ("393330000001", 22, "RIPRENDI"),
    ("393330000002", 18, "MI ISCRIVO"), ("393330000002", 21, "Pausa"),
    ("393330000003", 19, "MI ISCRIVO"),
]


NOW = "2024-03-22T18:00:00+01:00"


@pytest.fixture
def db_path(town):
    """The town's database after its logs of the HISTORY above (tests/reports/conftest.py
    opens it as ``con``)."""
    write(town / "logs" / "a.jsonl", [message(number, f"wamid.{n}", ts(day), text)
                                      for n, (number, day, text) in enumerate(HISTORY)])
    sync(load_settings(webhook_logs=str(town / "logs"), now=NOW))
    return town / "subscribers.duckdb"


@pytest.fixture
def period(con):
    return data.resolve_period(con, now=NOW)


def test_the_headline_counts_the_paused_and_a_resume_is_no_new_subscription(con, period):
    df = subscriptions.headline(con, period)
    values = dict(zip(df["metric"], df["value"], strict=True))
    assert (values["active"], values["paused"], values["subscribed"]) == (2, 1, 3)
    changes = subscriptions.daily_changes(con, period).set_index("day")
    assert changes["subscribed"].sum() == 3 and changes["unsubscribed"].sum() == 0


def test_active_and_paused_at_each_day_end(con, period):
    df = subscriptions.active_over_time(con, period).set_index("day")
    days = [pd.Timestamp(f"2024-03-{d}") for d in range(18, 23)]
    assert df.loc[days, "active"].tolist() == [2, 3, 2, 1, 2]
    assert df.loc[days, "paused"].tolist() == [0, 0, 1, 2, 1]


def test_the_active_chart_shows_the_paused_as_a_second_line(con, period):
    fig = charts.active_subscribers(subscriptions.active_over_time(con, period))
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.get_lines()] == [
        t("reports.legend.active"), t("reports.legend.paused")]
    assert [text.get_text() for text in fig.legends[0].get_texts()] == ["attivi", "in pausa"]
    # nobody paused: one line, no legend, as before
    alone = charts.active_subscribers(pd.DataFrame({
        "day": pd.to_datetime(["2024-03-18", "2024-03-19"]), "active": [1, 2], "paused": 0}))
    assert len(alone.axes[0].get_lines()) == 1 and not alone.legends


def test_the_subscribers_report_shows_the_paused(db_path, tmp_path):
    """The notebook as the report command runs it: a card, the second line, a note."""
    from runner.reports import notebooks as report_notebooks

    (tmp_path / "nb").mkdir()
    shutil.copy(report_notebooks.default_notebooks_dir() / "subscribers.ipynb", tmp_path / "nb")
    [page] = report_notebooks.render_reports(
        load_settings(database=db_path, language="it", now=NOW), tmp_path / "html",
        notebooks_dir=tmp_path / "nb", progress=lambda _: None)
    html = page.read_text("utf-8")
    assert re.search(r"<div class=.v.>1</div><div class=.l.>in pausa</div>", html)
    assert "finché non la riattivano" in html
