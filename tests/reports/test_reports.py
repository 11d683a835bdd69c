"""Reports: the data functions on a database with known figures, the charts, and
both notebooks executed for real by a kernel and exported to HTML."""

from __future__ import annotations

import json
import re
from datetime import date

import duckdb
import nbformat
import pandas as pd
import pytest

from runner.cli import main
from runner.config import load_settings
from runner.db import connect
from runner.errors import StoreError
from runner.messages import set_language, t
from runner.reports import ReportError, charts, data, deliveries, reasons, show, subscriptions
from runner.reports import notebooks as report_notebooks
from runner.whatsapp.answers import meaning
from tests.support.report_data import C, at, build_db, number


@pytest.fixture(scope="module")
def db_path(tmp_path_factory):
    return build_db(tmp_path_factory.mktemp("reports") / "subscribers.duckdb")


def _values(df):
    return dict(zip(df["metric"], df["value"], strict=True))


# --- period and connection -------------------------------------------------------

def test_period_defaults_to_the_days_with_data(period):
    assert (period.first_day, period.last_day) == (date(2024, 3, 18), date(2024, 4, 2))
    assert period.as_of == at("2024-04-03 00:00")


def test_period_stops_at_now_when_later_data_is_only_planned(con):
    assert data.resolve_period(con, now="2024-03-30T12:00:00+01:00").last_day == date(2024, 3, 30)


def test_period_can_be_narrowed_and_reversed_is_an_error(con):
    narrow = data.resolve_period(con, "2024-03-25", "2024-03-31")
    assert narrow.end == at("2024-04-01 00:00")
    with pytest.raises(StoreError, match="2024-03-31"):
        data.resolve_period(con, "2024-03-31", "2024-03-25")


def test_database_opens_read_only(con):
    with pytest.raises(Exception, match="read-only"):
        con.execute("DELETE FROM citizens")


def test_missing_database_is_a_clear_error(tmp_path):
    with pytest.raises(StoreError, match="sync"):
        data.open_db(tmp_path / "none.duckdb")


# --- subscribers ---------------------------------------------------------------------

def test_subscriber_headline(con, period):
    assert _values(subscriptions.headline(con, period)) == {
        "active": 6, "paused": 0, "subscribed": 8, "unsubscribed": 1, "pending": 1,
        "blocked": 1, "near_misses": 5}
    assert subscriptions.unreadable_log_lines(con) == 1


def test_active_over_time_counts_each_day_end(con, period):
    df = subscriptions.active_over_time(con, period).set_index("day")["active"]
    assert len(df) == 16
    assert [df[pd.Timestamp(f"2024-03-{d}")] for d in (18, 19, 20, 21, 22, 25, 26)] == [
        3, 4, 5, 6, 5, 6, 6]
    assert df.iloc[-1] == 6


def test_active_over_time_starts_from_earlier_history(con):
    later = data.resolve_period(con, "2024-03-25", "2024-03-26")
    assert list(subscriptions.active_over_time(con, later)["active"]) == [6, 6]


def test_daily_changes(con, period):
    df = subscriptions.daily_changes(con, period).set_index("day")
    assert df["subscribed"].sum() == 8 and df["unsubscribed"].sum() == 1
    assert df.loc["2024-03-26", ["subscribed", "unsubscribed"]].tolist() == [1, 1]
    assert df["requested"].sum() == 4
    assert df.loc["2024-03-29", "subscribed"] == 0  # a rejected unsubscription is no new one


def test_moderation_waits_and_queue(con, period):
    df = subscriptions.moderation(con, period).set_index("citizen_id")
    columns = ["kind", "outcome", "wait_hours"]
    assert df.loc[C[7], columns].tolist() == ["subscribe", "approved", 24.0]
    assert df.loc[C[10], columns].tolist() == ["subscribe", "rejected", 6.0]
    assert df.loc[C[4], columns].tolist() == ["unsubscribe", "rejected", 3.0]
    assert df.loc[C[8], ["kind", "outcome"]].tolist() == ["subscribe", "pending"]
    # until 3 April 00:00: 6 days and 15 hours on the clock, one hour less across DST
    assert df.loc[C[8], "wait_hours"] == 24 * 6 + 14
    queue = subscriptions.moderation_queue(con, period)
    assert list(queue["citizen_id"]) == [C[8]]


def test_keyword_spellings_never_show_the_name_after_the_keyword(con, period):
    df = subscriptions.keyword_spellings(con, period)
    got = {(row.keyword, row.spelling): row.messages for row in df.itertuples()}
    assert got == {
        ("MI ISCRIVO", "MI ISCRIVO"): 4, ("MI ISCRIVO", "mi iscrivo"): 2,
        ("MI ISCRIVO", "Mi iscrivo"): 1, ("SERVIZIO INFO ON", "Servizio Info ON"): 2,
        ("SERVIZIO INFO ON", "servizio info on"): 1, ("MI CANCELLO", "mi cancello"): 1}


def test_near_misses_show_only_masked_forms(con, period):
    df = subscriptions.near_misses(con, period)
    assert df.iloc[0][["form", "messages", "citizens"]].tolist() == ["mi iscrvo", 2, 2]
    forms = set(df["form"])
    assert "mi iscrivo al ‹tel› grazie" in forms
    assert "mi iscrivo" in forms  # no-break spaces read as spaces
    assert not any(re.search(r"\d{3}", form) for form in forms)


def test_consents_by_notice_version(con, period):
    df = subscriptions.consents_by_notice(con, period)
    assert df[["notice_version", "consents"]].values.tolist() == [["v1-aaaa", 6], ["v2-bbbb", 2]]
    # by the day each came into force: recorded for v2, the first consent's for v1
    assert [str(d.date()) for d in df["notice"]] == ["2024-03-18", "2024-03-21"]


# --- deliveries ------------------------------------------------------------------------

def test_per_announcement_counts(con, period):
    df = deliveries.announcements(con, period).set_index("announcement_id")
    columns = ["audience", "sent", "delivered", "read", "failed", "pending"]
    assert df.loc["2024-03-25-servizio-whatsapp", columns].tolist() == [6, 6, 5, 3, 1, 0]
    assert df.loc["2024-03-28-allerta-meteo", columns].tolist() == [6, 6, 6, 5, 0, 0]
    # the skipped one is in the audience, not reached: never sent, the skip reasons say why
    assert df.loc["2024-04-02-scadenza-tari", columns].tolist() == [6, 3, 2, 1, 1, 2]
    assert df["skipped"].tolist() == [0, 0, 1]


def test_announcements_outside_the_period_are_left_out(con):
    april = data.resolve_period(con, "2024-04-01", "2024-04-30")
    assert list(deliveries.announcements(con, april)["announcement_id"]) == [
        "2024-04-02-scadenza-tari"]


def test_failure_reasons_have_a_plain_meaning(con, period):
    df = deliveries.failure_reasons(con, period)
    assert set(df["error_code"]) == {131026, 131049, 131047}
    row = df.set_index("error_code").loc[131026]
    assert row["failures"] == 1 and row["meaning"] == t("reports.error.131026")
    assert "WhatsApp" in row["meaning"]


def test_account_level_webhook_errors(con, period):
    df = deliveries.webhook_errors(con, period)
    assert df[["error_code", "errors"]].values.tolist() == [[130429, 1]]
    assert df["meaning"].iloc[0] == t("reports.error.130429")


@pytest.mark.parametrize("code, key", [
    (131026, "reports.error.131026"), (250, "reports.error.200-299"),
    (999999, "reports.error.unknown"), (None, "reports.error.none"),
    (float("nan"), "reports.error.none")])
def test_error_meaning(code, key):
    assert meaning(code) == t(key)


def test_reach_times(con, period):
    df = deliveries.reach_times(con, period).set_index("announcement_id")
    columns = ["minutes_50", "minutes_95", "minutes_100"]
    first = df.loc["2024-03-25-servizio-whatsapp", columns]
    assert first["minutes_50"] == 3 and first.iloc[1:].isna().all()  # 1 of 6 failed
    assert df.loc["2024-03-28-allerta-meteo", columns].tolist() == [3, 6, 6]
    assert df.loc["2024-04-02-scadenza-tari", columns].isna().all()


def test_read_rate_by_category(con, period):
    df = deliveries.read_rate_by_category(con, period).set_index("category")
    assert df["read_rate"].round(3).to_dict() == {
        "allerta-meteo": round(5 / 6, 3), "info-comune": 0.6, "scadenze": 0.5}


def test_unsubscriptions_within_48_hours(con, period):
    df = deliveries.unsubscriptions_after(con, period).set_index("announcement_id")
    assert df["unsubscribed"].to_dict() == {
        "2024-03-25-servizio-whatsapp": 1, "2024-03-28-allerta-meteo": 0,
        "2024-04-02-scadenza-tari": 0}
    assert df.loc["2024-03-25-servizio-whatsapp", "rate"] == pytest.approx(1 / 6)
    shorter = deliveries.unsubscriptions_after(con, period, hours=24)
    assert shorter["unsubscribed"].sum() == 0  # she left 26 hours later


def test_weekly_cap_use(con, period):
    df = deliveries.weekly_cap_use(con, period, cap=10)
    assert df[["regular", "emergency"]].values.tolist() == [[0, 0], [1, 1], [1, 0]]
    assert df["week"].dt.day_name().unique().tolist() == ["Monday"]
    assert (df["cap"] == 10).all()


def test_daily_reach_and_tier(con, period):
    daily = deliveries.daily_reach(con, period).set_index("day")["citizens"]
    assert daily[daily > 0].to_dict() == {
        pd.Timestamp("2024-03-25"): 6, pd.Timestamp("2024-03-28"): 6,
        pd.Timestamp("2024-04-02"): 3}
    assert _values(deliveries.reach_tier(con, period)) == {
        "audience": 6, "peak_24h": 6, "tier_seen": 250, "tier_needed": 250}


def test_peak_24h_counts_a_moving_window_not_calendar_days():
    """Meta counts citizens in any 24 hours: two evening and morning halves are one peak."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'Europe/Rome'")
    con.execute("""
        CREATE TEMP TABLE report_outcomes AS
        SELECT 'c' || i AS citizen_id, 'announcement' AS kind, true AS accepted,
               TIMESTAMPTZ '2024-04-02 20:00:00+02' + INTERVAL (i // 300 * 12) HOUR AS sent_at
        FROM range(600) t(i)                             -- 300 at 20:00, 300 at 08:00
        UNION ALL SELECT 'c' || i, 'announcement', true, TIMESTAMPTZ '2024-04-04 10:00:00+02'
        FROM range(200) t(i)                             -- 200 of them again, 38 h later
        UNION ALL SELECT 'c0', 'announcement', true, TIMESTAMPTZ '2024-04-03 09:00:00+02'
        UNION ALL SELECT 'x', 'welcome', true, TIMESTAMPTZ '2024-04-03 09:00:00+02'
    """)
    con.execute("CREATE TABLE subscriber_events (citizen_id VARCHAR, to_state VARCHAR, "
                "ts TIMESTAMPTZ)")
    period = data.Period(date(2024, 4, 1), date(2024, 4, 7))
    daily = deliveries.daily_reach(con, period).set_index("day")["citizens"]
    assert daily.max() == 301  # the 08:00 batch and c0 again
    assert deliveries.peak_24h(con, period) == 600
    assert _values(deliveries.reach_tier(con, period))["tier_seen"] == 2_000


@pytest.mark.parametrize("users, tier", [
    (0, 250), (250, 250), (251, 2_000), (10_000, 10_000), (100_001, None)])
def test_tier_for(users, tier):
    assert deliveries.tier_for(users) == tier


def test_deliveries_headline(con, period):
    values = _values(deliveries.headline(con, period))
    assert values["announcements"] == 3 and values["messages"] == 18
    assert values["delivered_rate"] == pytest.approx(13 / 18)
    assert values["unreached"] == 1
    assert values["read_rate"] == pytest.approx(9 / 13)
    # every failed message, as the failures chart below counts them: 2 announcements
    # and the welcome to citizen 9
    assert values["failed"] == 3 and values["replies"] == 9
    assert values["failed"] == deliveries.failure_reasons(con, period)["failures"].sum()


# --- empty database ---------------------------------------------------------------------

@pytest.fixture
def empty(tmp_path):
    connect(tmp_path / "empty.duckdb").close()
    connection = data.open_db(tmp_path / "empty.duckdb")
    yield connection, data.resolve_period(connection, now="2024-04-03T10:00:00+02:00")
    connection.close()


def test_every_figure_works_on_an_empty_database(empty):
    con, period = empty
    assert period.first_day == period.last_day == date(2024, 4, 3)
    assert _values(subscriptions.headline(con, period))["active"] == 0
    assert _values(deliveries.headline(con, period))["delivered_rate"] is None
    figures = [
        charts.active_subscribers(subscriptions.active_over_time(con, period)),
        charts.daily_changes(subscriptions.daily_changes(con, period)),
        charts.moderation_waits(subscriptions.moderation(con, period)),
        charts.keyword_spellings(subscriptions.keyword_spellings(con, period)),
        charts.announcement_outcomes(deliveries.announcements(con, period)),
        charts.failure_reasons(deliveries.failure_reasons(con, period)),
        charts.unreached(reasons.unreached(con, period)),
        charts.reach_times(deliveries.reach_times(con, period)),
        charts.read_rate_by_category(deliveries.read_rate_by_category(con, period)),
        charts.unsubscriptions_after(deliveries.unsubscriptions_after(con, period)),
        charts.weekly_cap(deliveries.weekly_cap_use(con, period, 10)),
        charts.daily_reach(deliveries.daily_reach(con, period),
                           deliveries.reach_tier(con, period)),
    ]
    for fig in figures:
        assert t("reports.no-data") in [text.get_text() for text in fig.axes[0].texts]
        show.figure(fig)  # renders


# --- charts and presentation ----------------------------------------------------------

def test_charts_have_titles_labels_and_date_axes(con, period):
    fig = charts.active_subscribers(subscriptions.active_over_time(con, period))
    ax = fig.axes[0]
    assert ax.get_title(loc="left") == t("reports.chart.active")
    assert ax.get_xlabel() == t("reports.axis.date") + " (2024)" and ax.get_ylabel()
    fig.canvas.draw()
    ticks = [label for label in ax.get_xticklabels() if label.get_text()]
    assert ticks and all(re.fullmatch(r"\d\d/\d\d", tick.get_text()) for tick in ticks)
    # evenly spaced (no extra label where a month begins), none overlapping the next
    positions = [tick.get_position()[0] for tick in ticks]
    assert len({round(b - a, 6) for a, b in zip(positions, positions[1:], strict=False)}) == 1
    boxes = [tick.get_window_extent() for tick in ticks]
    assert all(a.x1 < b.x0 for a, b in zip(boxes, boxes[1:], strict=False))
    outcomes = charts.announcement_outcomes(deliveries.announcements(con, period))
    labels = [label.get_text() for label in outcomes.axes[0].get_yticklabels()]
    assert labels[-1].startswith("Scadenza TARI")  # the last tick is the top: newest


def test_a_long_year_shows_the_latest_announcements_newest_on_top():
    df = pd.DataFrame({
        "title": [f"Avviso {k}" for k in range(1, 31)], "audience": 100, "sent": 100,
        "delivered": 90, "read": 50, "failed": 5, "pending": 5})
    ax = charts.announcement_outcomes(df).axes[0]
    assert ax.get_title(loc="left").endswith(t("reports.chart.latest", n=20))
    labels = [label.get_text() for label in ax.get_yticklabels()]
    assert len(labels) == 20 and labels[-1].startswith("Avviso 30")
    assert labels[0].startswith("Avviso 11")


@pytest.mark.parametrize("language, value, text", [
    ("it", 1234.5, "1.234"), ("en", 1234.5, "1,234"), ("it", 0.125, "12%")])
def test_numbers_in_the_reader_language(language, value, text):
    set_language(language)
    try:
        assert (show.percent(value) if value < 1 else show.number(value)) == text
    finally:
        set_language("it")


@pytest.mark.parametrize("value, text", [
    (0.5, "30 s"), (12, "12 min"), (125, "2 h 5 min"), (360, "6 h"), (60 * 24 * 3 + 60, "3 g 1 h"),
    (None, "mai")])
def test_durations(value, text):
    set_language("it")
    assert show.minutes(value) == text


# --- rendering --------------------------------------------------------------------------

def test_parameters_are_injected_after_the_parameters_cell():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import os"),
        nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("print(x)")])
    report_notebooks.inject_parameters(nb, {"x": 2, "name": "a'b", "none": None})
    report_notebooks.inject_parameters(nb, {"x": 3})  # a second injection replaces the first
    assert [c.source for c in nb.cells] == ["import os", "x = 1", "x = 3", "print(x)"]
    assert nb.cells[2].metadata.tags == ["injected-parameters"]


def test_kernel_is_this_python():
    import sys

    manager = report_notebooks.kernel_manager_class()(kernel_name="python3")
    assert manager.kernel_spec.argv[0] == sys.executable


def _numbers_in(text):
    """Every wa_id we inserted, and any run of digits shaped like a phone number."""
    found = [number(i) for i in C if number(i) in text]
    found += re.findall(r"(?<![\w/+=])\+?39[ ]?3\d{2}[ ]?\d{6,7}(?![\w/+=])", text)
    return found


@pytest.fixture(scope="module")
def rendered(db_path, tmp_path_factory):
    """Both notebooks executed by the report command against the known database."""
    out = tmp_path_factory.mktemp("html")
    mp = pytest.MonkeyPatch()
    mp.setenv("BANDITORE_DATABASE", str(db_path))
    mp.setenv("BANDITORE_NOW", "2024-04-03T10:00:00+02:00")
    mp.setenv("BANDITORE_LANGUAGE", "it")
    lines = []
    mp.setattr("builtins.print", lambda *args, **kw: lines.append(" ".join(map(str, args))))
    try:
        code = main(["report", "--out", str(out)])
    finally:
        mp.undo()
    return code, lines, {p.stem: p.read_text("utf-8") for p in out.glob("*.html")}


def test_report_command_renders_both_notebooks(rendered):
    code, lines, pages = rendered
    assert code == 0, lines
    assert set(pages) == {"subscribers", "deliveries"}
    assert sum("subscribers.ipynb" in line for line in lines) == 1
    assert sum("deliveries.ipynb" in line for line in lines) == 1


def _card(page, value, metric):
    label = re.escape(t(f"reports.metric.{metric}", "it"))
    return re.search(rf"<div class=.v.>{re.escape(value)}</div><div class=.l.>{label}</div>",
                     page)


def test_subscribers_html_shows_the_known_figures(rendered):
    page = rendered[2]["subscribers"]
    assert t("reports.subscribers.title", "it") in page
    for value, metric in [("6", "active"), ("8", "subscribed"), ("1", "unsubscribed"),
                          ("1", "pending"), ("1", "blocked"), ("5", "near_misses")]:
        assert _card(page, value, metric), metric
    assert C[8] in page                      # the moderation queue, by pseudonym
    assert "mi iscrvo" in page and "21/03/2024" in page and "v2-bbbb" not in page
    assert page.count("data:image/png;base64,") >= 4
    assert "Rossi" not in page and "Bianchi" not in page


def test_deliveries_html_shows_the_known_figures(rendered):
    page = rendered[2]["deliveries"]
    for value, metric in [("3", "announcements"), ("18", "messages"), ("72%", "delivered_rate"),
                          ("1", "unreached"), ("69%", "read_rate"), ("3", "failed"),
                          ("9", "replies")]:
        assert _card(page, value, metric), metric
    assert "Allerta meteo arancione" in page
    assert "131026" in page and t("reports.error.131026", "it") in page
    assert "3 min" in page and "6 min" in page
    assert "130429" in page and t("reports.error.130429", "it") in page
    assert page.count("data:image/png;base64,") >= 8


def test_html_is_self_contained_without_code(rendered):
    for page in rendered[2].values():
        assert '<html lang="it">' in page
        assert "open_db" not in page and "figures." not in page   # no code cells
        assert not re.search(r"<script[^>]+src=", page)            # nothing from a CDN
        assert "Traceback" not in page


def test_no_unmasked_number_in_any_report(rendered):
    for name, page in rendered[2].items():
        assert not _numbers_in(page), name
        assert "1234567" not in page, name


def test_a_failing_notebook_names_the_cell(db_path, tmp_path, monkeypatch):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("database = ''", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_code_cell("# the broken one\n1 / 0")])
    nbformat.write(nb, notebooks / "broken.ipynb")
    monkeypatch.setenv("BANDITORE_DATABASE", str(db_path))
    settings = load_settings()
    lines = []
    with pytest.raises(ReportError) as caught:
        report_notebooks.render_reports(settings, tmp_path / "out", notebooks_dir=notebooks,
                              progress=lines.append)
    message = str(caught.value)
    assert "broken.ipynb" in message and "3" in message and "# the broken one" in message
    assert "ZeroDivisionError" in message
    assert caught.value.exit_code == 1
    assert lines == [t("reports.render.failed", name="broken.ipynb")]


def test_report_on_a_missing_database_exits_2(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("BANDITORE_DATABASE", str(tmp_path / "none.duckdb"))
    assert main(["report", "--out", str(tmp_path / "out")]) == 2
    assert "sync" in capsys.readouterr().err


def test_committed_notebooks_are_thin_and_parametrised():
    for path in report_notebooks.default_notebooks_dir().glob("*.ipynb"):
        nb = json.loads(path.read_text("utf-8"))
        tags = [c.get("metadata", {}).get("tags", []) for c in nb["cells"]]
        assert ["parameters"] in tags, path
        assert all("SELECT" not in "".join(c["source"]) for c in nb["cells"]), path


# --- the catalogue -------------------------------------------------------------------------

def test_every_report_text_exists_in_both_languages_with_the_same_placeholders():
    import string

    from runner.messages import catalogue

    root = report_notebooks.default_notebooks_dir().parent
    sources = [*(root / "runner" / "reports").glob("*.py"), *root.glob("notebooks/*.ipynb"),
               root / "runner" / "cli.py", root / "runner" / "cli_staff.py"]
    used = {key for path in sources
            for key in re.findall(r"[\"'](reports\.[a-z0-9.-]+[a-z0-9])[\"']", path.read_text())}
    messages = catalogue()
    assert used and not used - messages.keys()
    for key, texts in messages.items():
        if key.startswith("reports."):
            fields = [{f for _, f, _, _ in string.Formatter().parse(texts[lang]) if f}
                      for lang in ("it", "en")]
            assert fields[0] == fields[1], key


def test_reports_follow_the_town_language(db_path):
    settings = load_settings(database=db_path, language="en", now="2024-04-03T10:00:00+02:00")
    path = report_notebooks.default_notebooks_dir() / "subscribers.ipynb"
    page = report_notebooks.render_notebook(path, report_notebooks.report_parameters(settings))
    assert t("reports.subscribers.title", "en") in page and '<html lang="en">' in page
    assert _card(page, "6", "active") is None  # the Italian label is not there...
    assert re.search(r"<div class=.v.>6</div><div class=.l.>active subscribers</div>", page)


def test_report_on_the_sample_right_after_the_main_command(tmp_path, monkeypatch):
    """What `make run` leaves (sample logs synced, sends in the outbox), then the
    report: both pages render, and no number or profile name from the logs shows."""
    from runner.pipeline import send_valid
    from runner.subscribers.sync import sync

    root = report_notebooks.default_notebooks_dir().parent
    logs = root / "samples" / "logs"
    monkeypatch.setenv("BANDITORE_DATABASE", str(tmp_path / "subscribers.duckdb"))
    monkeypatch.setenv("BANDITORE_WEBHOOK_LOGS", str(logs))
    monkeypatch.setenv("BANDITORE_OUTBOX", str(tmp_path / "outbox" / "outbox.jsonl"))
    monkeypatch.setenv("BANDITORE_DECISIONS_FILE", str(tmp_path / "decisions.txt"))
    monkeypatch.setenv("BANDITORE_NOW", "2024-04-03T10:00:00+02:00")
    settings = load_settings()
    sync(settings)
    send_valid(settings, {})
    pages = [p.read_text("utf-8") for p in report_notebooks.render_reports(
        settings, tmp_path / "reports", progress=lambda line: None)]
    assert len(pages) == 2
    raw = "".join(p.read_text("utf-8") for p in logs.glob("*.jsonl"))
    numbers = set(re.findall(r'"(?:wa_id|from|recipient_id)": "(\d{8,})"', raw))
    names = set(re.findall(r'"name": "([^"]+)"', raw))
    assert numbers and names
    for page in pages:
        assert not [n for n in numbers if n in page]
        assert not [n for n in names if n in page]
        assert not _numbers_in(page)


def test_skipped_deliveries_are_listed_with_their_reason(con, period, rendered):
    from runner.reports.reasons import skip_reasons

    df = skip_reasons(con, period)
    # The one skipped of the known database was written before reasons were recorded.
    assert df.to_dict("records") == [{"message": "avviso", "reason": None,
                                      "meaning": t("send.reason.unknown", "it"),
                                      "skipped": 1, "announcements": 1}]
    page = rendered[2]["deliveries"]
    assert t("reports.section.skipped", "it") in page
    assert t("send.reason.unknown", "it") in page
