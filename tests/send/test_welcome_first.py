"""Welcome first, in a moderating town (Cerveno) against the loopback Cloud API: the
request is acknowledged at once, the welcome goes as a template when staff approve
two days later, and no announcement reaches the citizen before it."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from runner.announcements.reading import load_all
from runner.config import Settings, TemplateConfig
from runner.db import connect
from runner.send import send
from runner.subscribers.staff import decide
from runner.subscribers.sync import sync
from tests.cloud_api_server import CloudApiServer
from tests.send.test_send import FakeClock, write_announcement
from tests.subscribers.test_sync import message, write

REQUEST = datetime.fromisoformat("2024-04-01T09:00:00+02:00")
APPROVAL = REQUEST + timedelta(days=2)
NUMBER = "393330000001"


@pytest.fixture
def cerveno(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "logs").mkdir()
    write(tmp_path / "logs" / "a.jsonl", [
        message(NUMBER, "wamid.req", int(REQUEST.timestamp()), "Servizio Info ON Paolo Rossi")])
    write_announcement(tmp_path / "announcements", "2024-04-03-via-roma",
                       publish_at=APPROVAL.isoformat())
    with CloudApiServer() as api:
        yield Settings(
            database=tmp_path / "db.duckdb", announcements_dir=tmp_path / "announcements",
            webhook_logs=str(tmp_path / "logs"), decisions_file=tmp_path / "decisions.txt",
            subscribe_keywords=["Servizio Info ON"], unsubscribe_keywords=["Servizio Info OFF"],
            capture_name=True, moderate_subscribe=True, moderate_unsubscribe=True,
            welcome_template="benvenuto", default_template=None, rate_per_second=200,
            templates={"benvenuto": TemplateConfig(body=["town"])},
            whatsapp_token=SecretStr("test-token"), whatsapp_phone_number_id="1",
            whatsapp_api_base=api.base, now=REQUEST + timedelta(minutes=5)), api


def run(settings):
    fake = FakeClock()
    return send(settings, load_all(settings), clock=fake.clock, sleep=fake.sleep)


def test_a_late_approval_gets_the_welcome_before_any_announcement(cerveno):
    settings, api = cerveno
    sync(settings)
    run(settings)  # minutes after the request: the acknowledgement, as text
    [ack] = api.accepted
    assert ack.callback == "banditore:r:wamid.req" and ack.body["type"] == "text"
    assert "Richiesta ricevuta" in ack.body["text"]["body"]

    later = settings.model_copy(update={"now": APPROVAL + timedelta(minutes=1)})
    decide(later, "approve", "+" + NUMBER)  # two days later: the window has closed
    sync(later)
    run(later)
    run(later)  # a second run: the announcement may have waited for the welcome's result
    kinds = [a.callback.split(":")[1] for a in api.accepted]
    assert kinds == ["r", "w", "a"]
    welcome = api.accepted[1].body
    assert welcome["type"] == "template" and welcome["template"]["name"] == "benvenuto"
    con = connect(settings.database)
    assert con.execute("SELECT count(*) FROM deliveries WHERE state = 'queued'"
                       ).fetchone()[0] == 0
    con.close()


def _announcement_after_welcome_fails(cerveno, *codes: int) -> tuple:
    settings, api = cerveno
    later = settings.model_copy(update={"now": APPROVAL + timedelta(minutes=1)})
    sync(later)
    decide(later, "approve", "+" + NUMBER)
    sync(later)
    api.fail_all(*codes)
    run(later)
    run(later)
    assert not any(a.callback.split(":")[1] == "a" for a in api.accepted)
    con = connect(settings.database)
    try:
        return con.execute("SELECT state, error_title FROM deliveries "
                           "WHERE kind = 'announcement'").fetchone()
    finally:
        con.close()


def test_until_the_welcome_has_gone_the_announcement_waits(cerveno):
    # 131000 is transient: each run retries the welcome, the announcement waits for it.
    assert _announcement_after_welcome_fails(cerveno, *[131000] * 40) == ("queued", None)


def test_a_welcome_that_can_never_arrive_releases_the_announcement_as_skipped(cerveno):
    # 131026: not on WhatsApp any more. The announcement is skipped with the reason,
    # never sent before a welcome and never left queued for ever.
    assert _announcement_after_welcome_fails(cerveno, 131026) == (
        "skipped", "welcome_not_delivered")


def test_a_moderated_unsubscription_is_acknowledged_and_stops_sending_at_once(cerveno):
    settings, api = cerveno
    later = settings.model_copy(update={"now": APPROVAL - timedelta(hours=1)})
    sync(later)
    decide(later, "approve", "+" + NUMBER)
    sync(later)
    # Planned while active (the announcement is due later), then the citizen asks to leave.
    due = settings.model_copy(update={"now": APPROVAL + timedelta(minutes=1)})
    con = connect(settings.database)
    con.execute("UPDATE citizens SET last_inbound_at = ?", [APPROVAL])
    con.execute("""INSERT INTO deliveries (delivery_id, kind, announcement_id, citizen_id,
                   state, created_at) SELECT 'a:2024-04-03-via-roma:' || citizen_id,
                   'announcement', '2024-04-03-via-roma', citizen_id, 'queued', now()
                   FROM subscribers""")
    con.close()
    write(Path(settings.webhook_logs) / "a.jsonl", [message(
        NUMBER, "wamid.off", int(APPROVAL.timestamp()), "Servizio Info OFF")], mode="a")
    sync(due)
    run(due)
    kinds = [a.callback.split(":")[1] for a in api.accepted]
    assert "l" in kinds and "a" not in kinds  # acknowledged; nothing more goes out
    leaving = next(a.body for a in api.accepted if a.callback.startswith("banditore:l:"))
    assert "non riceverai più messaggi" in leaving["text"]["body"]
    con = connect(settings.database)
    assert con.execute("SELECT state, error_title FROM deliveries WHERE kind = 'announcement'"
                       ).fetchall() == [("skipped", "not_subscribed")]
    con.close()
