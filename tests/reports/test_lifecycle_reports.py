"""Reports of topics and of the alert lifecycle, on the reports' known database plus a
corrected and withdrawn alert, topic choices and planning times."""

from __future__ import annotations

import shutil

import pytest

from runner.db import connect
from runner.reports import data, lifecycle, show
from tests.support.report_data import C, at, build_db, insert_status

ALERT = "2024-03-28-allerta-meteo"


@pytest.fixture(scope="module")
def db_path(tmp_path_factory):
    path = build_db(tmp_path_factory.mktemp("lifecycle") / "subscribers.duckdb")
    con = connect(path)
    con.execute("UPDATE subscribers SET topics = ['eventi'] WHERE citizen_id = ?", [C[1]])
    con.execute("UPDATE subscribers SET topics = ['eventi', 'viabilita'] WHERE citizen_id = ?",
                [C[3]])
    con.execute("UPDATE subscribers SET topics = [] WHERE citizen_id = ?", [C[4]])
    chain = [(f"{ALERT}-rettifica", "Allerta rossa, non arancione", "updates", "2024-03-28 09:00",
              {1: ("delivered", 3, None), 3: ("read", 2, 5)}),
             (f"{ALERT}-revoca", "Allerta revocata", "cancels", "2024-03-28 18:00",
              {1: ("read", 1, 2), 3: ("read", 1, 2), 4: ("failed", None, None)})]
    for announcement_id, title, key, publish, outcomes in chain:
        con.execute(f"INSERT INTO announcements (announcement_id, path, title, category, urgency,"
                    f" publish_at, planned_at, {key}) VALUES (?, ?, ?, 'allerta-meteo', "
                    "'emergency', ?, ?, ?)", [announcement_id, f"{announcement_id}.md", title,
                                              at(publish), at(publish), ALERT])
        for i, (status, delivered, read) in outcomes.items():
            delivery, wamid = f"a:{announcement_id}:{C[i]}", f"wamid.{announcement_id}.{i}"
            con.execute("INSERT INTO deliveries (delivery_id, kind, announcement_id, citizen_id,"
                        " state, wamid, created_at, reply_to) VALUES (?, 'announcement', ?, ?, "
                        "?, ?, ?, ?)", [delivery, announcement_id, C[i], status, wamid,
                                        at(publish), f"wamid.{ALERT}.{i}"])
            insert_status(con, wamid, f"banditore:{delivery}", at(publish), status, delivered,
                           read, 131026 if status == "failed" else None)
    # Merged half an hour before its publish_at; the TARI notice two minutes after it.
    con.execute("UPDATE announcements SET planned_at = publish_at - INTERVAL 30 MINUTE "
                "WHERE announcement_id = ?", [ALERT])
    con.execute("UPDATE announcements SET planned_at = publish_at + INTERVAL 2 MINUTE "
                "WHERE announcement_id = '2024-04-02-scadenza-tari'")
    con.close()
    return path


def test_topic_counts_include_those_with_every_topic(con):
    df = lifecycle.topics(con)
    # active: 1 (eventi), 3 (eventi, viabilita), 4 (none), 5, 6, 7 (every topic)
    assert df.to_dict("records") == [
        {"topic": "eventi", "receiving": 5, "chose": 2},
        {"topic": "viabilita", "receiving": 4, "chose": 1},
        {"topic": "*", "receiving": 3, "chose": 3},
        {"topic": "-", "receiving": 1, "chose": 1}]
    page = show.table(df).data
    assert "(tutti gli argomenti)" in page and "(solo emergenze)" in page


def test_a_chain_shows_the_original_its_correction_and_withdrawal_with_their_reach(con, period):
    df = lifecycle.chains(con, period)
    assert df[["chain", "step", "announcement_id", "audience", "sent", "delivered", "read"]
              ].values.tolist() == [
        [ALERT, "alert", ALERT, 6, 6, 6, 5],
        [ALERT, "update", f"{ALERT}-rettifica", 2, 2, 2, 1],
        [ALERT, "cancel", f"{ALERT}-revoca", 3, 3, 2, 2]]  # one accepted, then failed
    assert "rettifica" in show.table(df, ["step"]).data


def test_time_to_alert_runs_from_publication_and_the_jobs_delay_is_its_own(con, period):
    df = lifecycle.time_to_alert(con, period).set_index("announcement_id")
    assert df.loc[ALERT, "minutes_to_alert"] == 1.0  # merged early: from publish_at
    assert df.loc[ALERT, "job_delay_minutes"] == 0.0
    # Taken up two minutes late: citizens waited ten minutes, two of them for the job.
    assert df.loc["2024-04-02-scadenza-tari", "minutes_to_alert"] == 10.0
    assert df.loc["2024-04-02-scadenza-tari", "job_delay_minutes"] == 2.0
    assert df.loc["2024-04-02-scadenza-tari", "publish_at"] == (
        at("2024-04-02 09:00")).replace(tzinfo=None)
    assert df.loc["2024-03-25-servizio-whatsapp", "minutes_to_alert"] == 1.0  # no snapshot time
    page = show.table(df.reset_index(), ["minutes_to_alert", "job_delay_minutes"]).data
    assert "10 min" in page and "2 min" in page and "ritardo dell" in page


def test_a_late_send_job_is_not_hidden(db_path, tmp_path, period):
    """Due an hour before the send job took it up, first delivered a minute after: an
    hour for citizens (the old figure started at the job and said a minute)."""
    df = _time_to_alert_after(db_path, tmp_path / "late.duckdb", period,
                              "planned_at = publish_at, publish_at = publish_at - INTERVAL 1 HOUR")
    assert df.loc[ALERT, "minutes_to_alert"] == 61.0
    assert df.loc[ALERT, "job_delay_minutes"] == 60.0


def _time_to_alert_after(db_path, copy, period, change: str):
    """time_to_alert on a copy of the town's database where the alert's row has ``change``
    (SQL assignments): moments of a run the logs cannot replay."""
    shutil.copy(db_path, copy)
    rw = connect(copy)
    rw.execute(f"UPDATE announcements SET {change} WHERE announcement_id = ?", [ALERT])
    rw.close()
    con = data.open_db(copy)
    try:
        return lifecycle.time_to_alert(con, period).set_index("announcement_id")
    finally:
        con.close()


def test_a_first_delivery_before_the_start_is_no_measurement(db_path, tmp_path, period):
    # The database was rebuilt a month later: planned_at is then.
    df = _time_to_alert_after(db_path, tmp_path / "rebuilt.duckdb", period,
                              "planned_at = TIMESTAMPTZ '2024-05-01 00:00:00+02'")
    assert df["job_delay_minutes"].isna()[ALERT]  # planned after it went out: no figure
    assert df.loc[ALERT, "minutes_to_alert"] == 1.0  # publication to delivery still holds
