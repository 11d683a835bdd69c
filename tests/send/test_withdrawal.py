"""A withdrawn announcement owes nobody anything, whatever else its audience did in the
same hours: on a town whose data took the real path (webhook log lines -> sync -> send).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from runner.subscribers.sync import sync
from tests.support.announcement_repo import write_announcement
from tests.support.clock import NOW
from tests.support.cloud_api_server import CloudApiServer
from tests.support.sending import run, states, town_settings
from tests.support.webhooks import message, write

ANNA, BRUNO = "393330000001", "393330000002"
NIGHT = NOW.replace(hour=23)  # quiet hours: a normal announcement is planned and waits


def test_withdrawn_while_a_citizen_paused_is_cancelled_for_both(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with CloudApiServer() as api:
        night = town_settings(tmp_path, api, now=NIGHT)
        logs = Path(night.webhook_logs) / "a.jsonl"
        start = int(NIGHT.timestamp())
        write(logs, [message(ANNA, "wamid.a", start - 3600, "MI ISCRIVO"),
                     message(BRUNO, "wamid.b", start - 3500, "MI ISCRIVO")])
        sync(night)
        publish_at = (NIGHT - timedelta(minutes=30)).isoformat()
        write_announcement(night.announcements_dir, "2024-04-03-fiera", publish_at=publish_at)
        run(night)
        assert states(night)["queued"] == 2  # held until morning

        # In the same hour Anna pauses and the office withdraws the announcement.
        later = night.model_copy(update={"now": NIGHT + timedelta(hours=1)})
        write(logs, [message(ANNA, "wamid.p", start + 1800, "PAUSA")], mode="a")
        sync(later)
        write_announcement(night.announcements_dir, "2024-04-03-fiera",
                           publish_at=publish_at, extra="cancelled: true\n")
        run(later)

    announcements = [a for a in api.accepted if a.callback and "fiera" in a.callback]
    assert announcements == []
    # Not "skipped (paused)" for Anna: the reports would count her as not reached.
    assert states(later)["cancelled"] == 2 and states(later)["skipped"] == 0
