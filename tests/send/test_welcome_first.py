"""Welcome first is an order, not a gate, in a moderating town (Cerveno) against the
loopback Cloud API: the request is acknowledged at once, the welcome goes as a template
when staff approve two days later, and the announcement follows it in the same run,
6 s later at least. A welcome that cannot go (failed, whatever the code) holds nothing;
an emergency never waits for one and goes first."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from runner.announcements.reading import load_all
from runner.config import load_settings
from runner.db import connect
from runner.send import send
from runner.subscribers.staff.decide import decide
from runner.subscribers.sync import sync
from tests.support.announcement_repo import write_announcement
from tests.support.clock import FakeClock
from tests.support.cloud_api_server import CloudApiServer
from tests.support.towns import CERVENO_MODERATED
from tests.support.webhooks import message, write

REQUEST = datetime.fromisoformat("2024-04-01T09:00:00+02:00")
APPROVAL = REQUEST + timedelta(days=2)
NUMBER = "393330000001"


# Cerveno: staff approve, and the welcome is a template.
pytestmark = pytest.mark.town(**CERVENO_MODERATED, templates={"benvenuto": {"body": ["town"]}},
                              rate_per_second=200, whatsapp_token="test-token",
                              whatsapp_phone_number_id="1")


@pytest.fixture
def cerveno(town):
    """Paolo asked to subscribe; an announcement is due when staff approve him. Yields
    the settings of the request's run and the loopback API, on a fake clock."""
    write(town / "logs" / "a.jsonl", [
        message(NUMBER, "wamid.req", int(REQUEST.timestamp()), "Servizio Info ON Paolo Rossi")])
    write_announcement(town / "announcements", "2024-04-03-via-roma",
                       publish_at=APPROVAL.isoformat())
    fake = FakeClock()  # the server's clock too: the 6 s between two messages shows
    with CloudApiServer(clock=fake.clock) as api:
        api.fake = fake
        yield load_settings(
            database=town / "db.duckdb", announcements_dir=town / "announcements",
            decisions_file=town / "decisions.txt", default_template=None,
            whatsapp_api_base=api.base, now=REQUEST + timedelta(minutes=5)), api


def run(settings, api):
    return send(settings, load_all(settings), clock=api.fake.clock, sleep=api.fake.sleep)


def approved(settings, api):
    """The request synced and acknowledged, then approved two days later (the window
    closed): the settings of that later run."""
    sync(settings)
    run(settings, api)
    later = settings.model_copy(update={"now": APPROVAL + timedelta(minutes=1)})
    decide(later, "approve", "+" + NUMBER)
    sync(later)
    return later


def kinds(api) -> list[str]:
    return [a.callback.split(":")[1] for a in api.accepted]


def outcomes(settings) -> dict[str, tuple]:
    con = connect(settings.database)
    try:
        return {kind: (state, code, attempts) for kind, state, code, attempts in con.execute(
            "SELECT kind, state, error_code, attempts FROM deliveries "
            "WHERE kind IN ('welcome', 'announcement')").fetchall()}
    finally:
        con.close()


def test_a_late_approval_gets_the_welcome_then_the_announcement_in_the_same_run(cerveno):
    settings, api = cerveno
    later = approved(settings, api)
    [ack] = api.accepted
    assert ack.callback == "banditore:r:wamid.req" and ack.body["type"] == "text"
    assert "Richiesta ricevuta" in ack.body["text"]["body"]

    summary = run(later, api)  # one run: the welcome is accepted, then the announcement goes
    assert kinds(api) == ["r", "w", "a"] and summary.exit_code == 0
    welcome, announcement = api.accepted[1], api.accepted[2]
    assert welcome.body["type"] == "template" and welcome.body["template"]["name"] == "benvenuto"
    assert announcement.at - welcome.at >= 6  # one message per 6 s to a citizen
    assert outcomes(later) == {"welcome": ("sent", None, 1), "announcement": ("sent", None, 1)}


def test_a_welcome_retried_in_the_run_holds_the_announcement_until_it_is_accepted(cerveno):
    settings, api = cerveno
    later = approved(settings, api)
    api.fail("+" + NUMBER, 131000, 131000)  # the welcome's first two tries; it goes on the third
    run(later, api)
    assert kinds(api) == ["r", "w", "a"]
    # Three tries of the welcome: the announcement never took one of its failures.
    assert outcomes(later) == {"welcome": ("sent", None, 3), "announcement": ("sent", None, 1)}


@pytest.mark.parametrize("codes", [
    (131026,),        # not on WhatsApp any more: failed for good
    (131000,) * 6,    # transient, but its retries ran out in this run
])
def test_a_welcome_that_cannot_go_is_recorded_and_holds_nothing(cerveno, codes):
    settings, api = cerveno
    later = approved(settings, api)
    api.fail("+" + NUMBER, *codes)
    summary = run(later, api)
    assert kinds(api) == ["r", "a"]  # the announcement went, in the same run
    assert outcomes(later) == {"welcome": ("failed", codes[0], len(codes)),
                               "announcement": ("sent", None, 1)}
    assert summary.exit_code == 1 and sum(summary.failures.values()) == 1


def test_an_emergency_never_waits_for_a_welcome_and_goes_first(cerveno, tmp_path):
    settings, api = cerveno
    write_announcement(tmp_path / "announcements", "2024-04-03-allerta", category="emergenze",
                       urgency="emergency", title="Allerta meteo rossa",
                       publish_at=APPROVAL.isoformat())
    later = approved(settings, api)
    run(later, api)
    order = [a.callback.split(":")[1:3] for a in api.accepted]
    # The emergency first, then the welcome (6 s later: the citizen's gap), then the rest.
    assert order == [["r", "wamid.req"], ["a", "2024-04-03-allerta"], ["w", "wamid.req"],
                     ["a", "2024-04-03-via-roma"]]
    assert api.accepted[2].at - api.accepted[1].at >= 6


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
    run(due, api)
    kinds = [a.callback.split(":")[1] for a in api.accepted]
    assert "l" in kinds and "a" not in kinds  # acknowledged; nothing more goes out
    leaving = next(a.body for a in api.accepted if a.callback.startswith("banditore:l:"))
    assert "non riceverai più messaggi" in leaving["text"]["body"]
    con = connect(settings.database)
    assert con.execute("SELECT state, error_title FROM deliveries WHERE kind = 'announcement'"
                       ).fetchall() == [("skipped", "not_subscribed")]
    con.close()
