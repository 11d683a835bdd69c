"""validate and the reports' cap chart count the same week the same way (issue 25: for
one week validate said 4 and the chart 2, leaving out what was sent, then cancelled or
withdrawn). Announcements go out for real, through send and the outbox."""

from __future__ import annotations

from datetime import date, timedelta

from runner.announcements.reading import load_all
from runner.announcements.weekly_cap import weekly_counts
from runner.reports import data, deliveries
from tests.support.announcement_repo import write_announcement as announce
from tests.support.clock import NOW
from tests.support.sending import add_citizens, engine_settings, run


def test_validate_and_the_cap_chart_count_a_week_alike(tmp_path):
    settings = engine_settings(tmp_path, rate_per_second=200, templates={},
                               default_template=None, weekly_cap=3)
    folder = settings.announcements_dir
    add_citizens(settings.database, 3)
    for slug, publish in (("2024-04-01-uno", "2024-04-01T09:00:00+02:00"),
                          ("2024-04-02-due", "2024-04-02T09:00:00+02:00"),
                          ("2024-04-03-tre", "2024-04-03T09:00:00+02:00"),
                          ("2024-04-03-quattro", "2024-04-03T09:30:00+02:00")):
        announce(folder, slug, publish_at=publish)
    announce(folder, "2024-04-03-allerta", category="allerta-meteo", urgency="emergency",
             publish_at="2024-04-03T09:45:00+02:00")
    announce(folder, "2024-04-03-prova", category="allerta-meteo",
             publish_at="2024-04-03T09:50:00+02:00", extra="status: exercise\n")
    assert run(settings).sent > 0
    # After going out: one is cancelled, another withdrawn by a message of its own.
    announce(folder, "2024-04-03-tre", publish_at="2024-04-03T09:00:00+02:00",
             extra="cancelled: true\n")
    announce(folder, "2024-04-03-revoca", publish_at="2024-04-03T10:30:00+02:00",
             extra="cancels: 2024-04-03-quattro\n")
    later = settings.model_copy(update={"now": NOW + timedelta(hours=1)})
    assert "2024-04-03-revoca" in run(later).plan.planned  # taken up by the send stage

    _, validate_counts = weekly_counts(load_all(later), later)
    con = data.open_db(later.database)
    try:
        period = data.Period(date(2024, 4, 1), date(2024, 4, 7), now=later.now)
        chart = deliveries.weekly_cap_use(con, period, later.weekly_cap)
    finally:
        con.close()
    week = chart.set_index("week").loc["2024-04-01"]
    # uno, due, tre (cancelled after going out), quattro (withdrawn), the withdrawal
    assert validate_counts == {"2024-W14": 5}
    assert int(week["regular"]) == validate_counts["2024-W14"]
    assert int(week["emergency"]) == 1  # the emergency; the drill in neither

