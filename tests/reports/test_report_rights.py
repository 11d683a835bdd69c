"""Reports that tell the truth and keep citizens' words out: masked near misses,
costs from the status webhooks' pricing, empty charts that say why, one bar per
announcement for the 48-hour chart."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from runner.config import load_settings
from runner.messages import t
from runner.reports import charts, costs, data, deliveries
from runner.reports import notebooks as report_notebooks
from runner.subscribers.sync import sync
from tests.support.announcement_repo import write_announcement
from tests.support.sending import TOKEN, run
from tests.support.towns import SERVIZIO_INFO, make_town
from tests.support.webhooks import T0, envelope, message, write

PERSONAL = ["Mario", "Rossi", "mario.rossi@example.com", "RSSMRA80A01H501U", "Anna", "Verdi",
            "Garibaldi", "347 1234567", "Paolo", "Bianchi"]


def priced(wamid: str, state: str, ts: int, number: str, callback: str, kind: str) -> str:
    pricing = {"billable": kind == "regular", "pricing_model": "PMP", "type": kind,
               "category": "utility" if kind == "regular" else "service"}
    return envelope({"statuses": [{"id": wamid, "status": state, "timestamp": str(ts),
                                   "recipient_id": number, "biz_opaque_callback_data": callback,
                                   "pricing": pricing}]})


# Cerveno-like: names after the keyword, not moderated.
pytestmark = pytest.mark.town(**SERVIZIO_INFO, now="2024-04-03T10:00:00+02:00",
                              prices={"UTILITY": 0.0300, "MARKETING": 0.0700})


@pytest.fixture
def town(town, api, monkeypatch):
    """Near misses full of personal data, and two announcements whose statuses carry
    pricing: sent to Paolo and the second citizen (Mario left before them) through the
    loopback Cloud API, each send's statuses logged as Meta posts them, then synced."""
    numbers = [f"39333000{i:04d}" for i in range(1, 5)]
    write(town / "logs" / "a.jsonl", [
        message(numbers[0], "wamid.1", T0, "Servizio Info ON Paolo Bianchi"),
        message(numbers[1], "wamid.2", T0, "Servizio Info ON"),
        message(numbers[2], "wamid.3", T0 + 60,
                "SERVIZIO INFO ON - Mario Rossi mario.rossi@example.com RSSMRA80A01H501U"),
        message(numbers[3], "wamid.4", T0 + 90, "Buongiorno sono Anna Verdi di via Garibaldi, "
                                                "vorrei iscrivermi, 347 1234567"),
        message(numbers[2], "wamid.5", T0 + 120, "Servizio Info OFF"),
    ])
    sync(load_settings())
    for name, value in {"WHATSAPP_TOKEN": TOKEN, "WHATSAPP_PHONE_NUMBER_ID": "1234",
                        "WHATSAPP_API_BASE": api.base}.items():
        monkeypatch.setenv(f"BANDITORE_{name}", value)
    for n, (ann, day) in enumerate([("2024-03-25-a", 4), ("2024-04-01-b", 11)]):
        publish = T0 + day * 86400
        write_announcement(town / "announcements", ann, title=f"Avviso {ann}",
                           category="eventi", publish_at=_iso(publish))
        already = len(api.accepted)
        run(load_settings(now=_iso(publish + 3 * 3600)))  # that morning's send run
        lines = []
        for a in api.accepted[already:]:
            if a.callback.startswith("banditore:a:"):
                k = numbers.index(a.to.lstrip("+"))
                kind = "regular" if k == 0 or n == 1 else "free_customer_service"
                lines += [priced(a.wamid, s, publish + 3 * 3600 + 5, numbers[k], a.callback,
                                 kind) for s in ("sent", "delivered")]
        write(town / "logs" / f"b{n}.jsonl", lines)
        sync(load_settings())
    return town


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


def test_a_report_from_logs_full_of_personal_data_contains_none(town):
    settings = load_settings()
    pages = [p.read_text("utf-8") for p in report_notebooks.render_reports(
        settings, town / "reports", progress=lambda line: None)]
    assert len(pages) == 2
    assert any("servizio info on … ‹e-mail› ‹CF›" in page for page in pages)
    for page in pages:
        for secret in PERSONAL:
            assert secret not in page, secret
        assert "393330000" not in page


def test_costs_from_pricing_per_announcement_and_per_month(town):
    con = data.open_db(town / "subscribers.duckdb")
    period = data.resolve_period(con, now="2024-04-03T10:00:00+02:00")
    prices = load_settings().prices
    by_announcement = costs.cost_by_announcement(con, period, prices)
    assert by_announcement[["title", "messages", "billable"]].values.tolist() == [
        ["Avviso 2024-03-25-a", 2, 1], ["Avviso 2024-04-01-b", 2, 2]]
    assert by_announcement["cost"].tolist() == pytest.approx([0.03, 0.06])
    by_month = costs.cost_by_month(con, period, prices)
    assert [str(m.date()) for m in by_month["month"]] == ["2024-03-01", "2024-04-01"]
    assert by_month["cost"].tolist() == pytest.approx([0.03, 0.06])
    assert costs.total_cost(con, period, prices) == pytest.approx(0.09)
    assert costs.total_cost(con, period, {}) is None  # no prices: unknown, not zero
    assert costs.total_cost(con, period, {"marketing": 1}) is None  # utility has no price
    con.close()


def test_an_empty_chart_says_why(town):
    con = data.open_db(town / "subscribers.duckdb")
    period = data.resolve_period(con, since="2024-03-21", until="2024-03-22",
                                 now="2024-04-03T10:00:00+02:00")
    why = costs.why_empty(con, period)
    assert why["sent"] == t("reports.why.nothing-sent")
    fig = charts.reach_times(deliveries.reach_times(con, period), why["statuses"])
    texts = [text.get_text() for text in fig.axes[0].texts]
    assert t("reports.no-data") in texts
    assert any("nessun avviso inviato" in text for text in texts)
    con.close()


def test_sent_without_statuses_is_explained(tmp_path, monkeypatch):
    # A citizen subscribed at 8; at 10 the 9 o'clock announcement went out through the
    # outbox, and no status webhook has come back yet.
    make_town(tmp_path, monkeypatch, now="2024-04-03T10:00:00+02:00")
    eight = int(datetime.fromisoformat("2024-04-03T08:00:00+02:00").timestamp())
    write(tmp_path / "logs" / "a.jsonl", [message("393330000001", "wamid.1", eight, "MI ISCRIVO")])
    sync(load_settings())
    write_announcement(tmp_path / "announcements", "2024-04-03-x")
    run(load_settings())
    run(load_settings())  # an announcement may wait for its citizen's welcome
    con = data.open_db(tmp_path / "subscribers.duckdb")
    period = data.resolve_period(con, now="2024-04-03T10:00:00+02:00")
    assert costs.why_empty(con, period)["statuses"] == t("reports.why.no-status")
    con.close()


def test_the_48_hour_chart_has_one_bar_per_announcement(town):
    con = data.open_db(town / "subscribers.duckdb")
    period = data.resolve_period(con, now="2024-04-03T10:00:00+02:00")
    df = deliveries.unsubscriptions_after(con, period)
    ax = charts.unsubscriptions_after(df).axes[0]
    labels = [label.get_text() for label in ax.get_yticklabels()]
    assert labels == ["Avviso 2024-03-25-a (2)", "Avviso 2024-04-01-b (2)"]
    assert ax.get_xlabel() == t("reports.axis.left-share")  # a share, not a date
    con.close()
