"""Planning deliveries and settling them against statuses and the outbox, on real DuckDB files."""

from datetime import datetime, time, timedelta
from pathlib import Path

import pytest

from runner.announcements.reading import load_all
from runner.config import Settings
from runner.db import connect
from runner.send.plan import in_quiet_hours, plan
from runner.send.settle import settle
from runner.whatsapp.answers import CONNECTION_ERROR
from tests.support.announcement_repo import write_announcement
from tests.support.clock import NOW
from tests.support.sending import add_citizens, engine_settings


@pytest.fixture
def town(town):
    """The town with one announcement due now, four active subscribers, two who left and
    one blocked: the engine's settings and a connection to its database."""
    settings = engine_settings(town)
    write_announcement(settings.announcements_dir, "2024-04-03-via-roma")
    add_citizens(settings.database, 4)
    add_citizens(settings.database, 2, start=10, state="unsubscribed")
    add_citizens(settings.database, 1, start=20, state="blocked")
    con = connect(settings.database)
    yield settings, con
    con.close()


def rows(con, where="true"):
    return dict(con.execute(f"SELECT delivery_id, state FROM deliveries WHERE {where}").fetchall())


def test_one_delivery_per_active_subscriber_and_planning_again_adds_nothing(town):
    settings, con = town
    anns = load_all(settings)
    summary = plan(con, settings, anns, NOW)
    assert summary.planned == {"2024-04-03-via-roma": 4}
    assert rows(con) == {f"a:2024-04-03-via-roma:c_{i:05d}": "queued" for i in range(4)}
    assert plan(con, settings, anns, NOW).planned == {"2024-04-03-via-roma": 0}
    snap = con.execute("SELECT title, category, urgency, cancelled FROM announcements").fetchall()
    assert snap == [("Chiusura di via Roma", "viabilita", "normal", False)]


def test_a_new_subscriber_is_added_to_a_running_announcement(town):
    settings, con = town
    plan(con, settings, load_all(settings), NOW)
    con.close()
    add_citizens(settings.database, 1, start=30)
    con2 = connect(settings.database)
    try:
        assert plan(con2, settings, load_all(settings), NOW).planned == {
            "2024-04-03-via-roma": 1}
    finally:
        con2.close()


@pytest.mark.parametrize("publish_at", ["2024-04-03T11:00:00+02:00",   # not yet
                                        "2024-03-20T09:00:00+01:00"])  # expired (7 days)
def test_announcements_not_due_are_not_planned(tmp_path, town, publish_at):
    settings, con = town
    write_announcement(Path(settings.announcements_dir), "2024-04-03-via-roma",
                       publish_at=publish_at)
    assert plan(con, settings, load_all(settings), NOW).planned == {}
    assert rows(con) == {}


def test_cancelled_stops_queued_ones_and_stays_cancelled(town):
    settings, con = town
    plan(con, settings, load_all(settings), NOW)
    con.execute("UPDATE deliveries SET state = 'sent' WHERE citizen_id = 'c_00000'")
    path = Path(settings.announcements_dir) / "2024" / "2024-04-03-via-roma.md"
    path.write_text(path.read_text().replace("---\nVia", "cancelled: true\n---\nVia"))
    summary = plan(con, settings, load_all(settings), NOW)
    assert summary.cancelled == 3 and summary.planned == {}
    assert sorted(rows(con).values()) == ["cancelled"] * 3 + ["sent"]
    # Removing the flag in a later commit does not resume the broadcast.
    path.write_text(path.read_text().replace("cancelled: true\n", ""))
    plan(con, settings, load_all(settings), NOW)
    assert con.execute("SELECT cancelled FROM announcements").fetchone() == (True,)
    assert sorted(rows(con).values()) == ["cancelled"] * 3 + ["sent"]


def test_queued_deliveries_of_an_expired_announcement_are_skipped(town):
    settings, con = town
    plan(con, settings, load_all(settings), NOW)
    later = NOW + timedelta(days=8)
    summary = plan(con, settings, load_all(settings), later)
    assert summary.expired == 4
    assert con.execute("SELECT DISTINCT state, error_title FROM deliveries").fetchall() == [
        ("skipped", "expired")]


@pytest.mark.parametrize(("local", "quiet"), [("21:00", True), ("23:59", True), ("03:00", True),
                                              ("07:59", True), ("08:00", False),
                                              ("12:00", False), ("20:59", False)])
def test_quiet_hours_across_midnight_in_the_town_time_zone(local, quiet):
    settings = Settings()
    hour, minute = map(int, local.split(":"))
    when = datetime(2024, 4, 3, hour, minute, tzinfo=settings.tz)
    assert in_quiet_hours(when, settings) is quiet
    # The same instant written in UTC is still judged in Europe/Rome.
    assert in_quiet_hours(when.astimezone(datetime.now().astimezone().tzinfo), settings) is quiet


def test_quiet_hours_can_be_switched_off():
    settings = Settings(quiet_hours_start=time(0, 0), quiet_hours_end=time(0, 0))
    assert not in_quiet_hours(NOW.replace(hour=23), settings)


def test_settle_believes_statuses_and_outbox_over_the_database(town):
    settings, con = town
    plan(con, settings, load_all(settings), NOW)
    d = "a:2024-04-03-via-roma:c_{:05d}".format
    con.execute(f"UPDATE deliveries SET state = 'sending' WHERE delivery_id IN "
                f"('{d(0)}', '{d(1)}', '{d(2)}')")
    con.execute(f"UPDATE deliveries SET state = 'delivered' WHERE delivery_id = '{d(3)}'")
    con.executemany(
        "INSERT INTO statuses (wamid, status, ts, callback, error_code, error_title) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [("wamid.A", "read", NOW, f"banditore:{d(0)}", None, None),
         ("wamid.B", "sent", NOW, f"banditore:{d(3)}", None, None),  # older news: ignored
         ("wamid.C", "failed", NOW, "banditore:w:wamid.IN", 131026, "Undeliverable"),
         ("wamid.D", "delivered", NOW, "someone-else", None, None)])
    settings.outbox.write_text(
        f'{{"to":"+39","biz_opaque_callback_data":"banditore:{d(1)}","type":"text"}}\n'
        f'{{"to":"+39","biz_opaque_callback_data":"banditore:{d(2)}","ty')  # cut by a crash
    # The outbox is the transport: what it does not hold never left.
    result = settle(con, NOW, settings.outbox, at_once=True)
    assert (result.ambiguous, result.from_outbox, result.requeued) == (3, 1, 1)
    assert rows(con) == {d(0): "read", d(1): "sent", d(2): "queued", d(3): "delivered"}
    assert con.execute(f"SELECT wamid FROM deliveries WHERE delivery_id = '{d(0)}'"
                       ).fetchone() == ("wamid.A",)


def test_an_ambiguous_send_waits_for_its_statuses_unless_refused_old_or_an_emergency(town):
    settings, con = town
    write_announcement(Path(settings.announcements_dir), "2024-04-03-allerta",
                       category="allerta-meteo", urgency="emergency")
    plan(con, settings, load_all(settings), NOW)
    d = "a:2024-04-03-via-roma:c_{:05d}".format
    e = "a:2024-04-03-allerta:c_{:05d}".format
    sending = [(d(0), None, NOW),                            # in flight a moment ago
               (d(1), 131000, NOW),                          # refused: waiting for a retry
               (d(2), CONNECTION_ERROR, NOW),                # its answer was lost
               (d(3), None, NOW - timedelta(minutes=31)),    # no status in half an hour
               (e(0), None, NOW)]                            # an emergency
    con.executemany("UPDATE deliveries SET state = 'sending', error_code = ?, updated_at = ? "
                    "WHERE delivery_id = ?", [(code, at, i) for i, code, at in sending])
    result = settle(con, NOW, None)
    assert (result.ambiguous, result.requeued, result.awaiting) == (5, 3, 2)
    got = rows(con)
    assert [got[d(i)] for i in range(4)] == ["sending", "queued", "sending", "queued"]
    assert got[e(0)] == "queued"
    later = settle(con, NOW + timedelta(minutes=31), None)
    assert later.requeued == 2 and later.awaiting == 0


def test_a_failed_status_webhook_overrides_the_200(town):
    settings, con = town
    plan(con, settings, load_all(settings), NOW)
    d = "a:2024-04-03-via-roma:c_00000"
    con.execute(f"UPDATE deliveries SET state = 'sent', wamid = 'wamid.X' "
                f"WHERE delivery_id = '{d}'")
    con.execute("INSERT INTO statuses (wamid, status, ts, callback, error_code, error_title) "
                "VALUES ('wamid.X', 'failed', ?, ?, 131049, 'healthy ecosystem')",
                [NOW, f"banditore:{d}"])
    settle(con, NOW, None)
    assert con.execute(f"SELECT state, error_code FROM deliveries WHERE delivery_id = '{d}'"
                       ).fetchone() == ("failed", 131049)


def test_a_large_audience_is_planned_in_ranges_once_each(town, monkeypatch):
    # Ranges of BATCH citizens keep each INSERT's memory small; with a tiny
    # BATCH, 40 subscribers span many ranges: each citizen gets exactly one delivery.
    settings, con = town
    import runner.send.plan

    monkeypatch.setattr(runner.send.plan, "BATCH", 7)
    con.close()
    add_citizens(settings.database, 36, start=100)
    con = connect(settings.database)
    try:
        assert len(runner.send.plan._citizen_bounds(con)) > 1
        anns = load_all(settings)
        assert plan(con, settings, anns, NOW).planned == {"2024-04-03-via-roma": 40}
        assert con.execute("SELECT count(DISTINCT citizen_id), count(*) FROM deliveries"
                           ).fetchone() == (40, 40)
        # a citizen rekeyed by sync keeps the delivery id of the old key: still one row
        con.execute("UPDATE deliveries SET delivery_id = 'a:2024-04-03-via-roma:old' "
                    "WHERE citizen_id = 'c_00101'")
        assert plan(con, settings, anns, NOW).planned == {"2024-04-03-via-roma": 0}
    finally:
        con.close()
