"""A town tries Banditore with the local outbox, then goes live with a token: what the
trial wrote to the outbox reached nobody, so it never stands for a real send. Through
the CLI, on the shipped sample, as the README's first command leaves it."""

from __future__ import annotations

import json
from pathlib import Path

from runner.cli import main
from tests.support.clock import NOW

REPO = Path(__file__).resolve().parents[2]


def test_the_trial_outbox_never_counts_as_sent_once_live(api, tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    for name, value in {"DATABASE": tmp_path / "trial.duckdb", "OUTBOX": tmp_path / "outbox.jsonl",
                        "COUNTS_FILE": tmp_path / "counts.json",
                        "WEBHOOK_LOGS": REPO / "samples" / "logs", "NOW": NOW.isoformat()}.items():
        monkeypatch.setenv(f"BANDITORE_{name}", str(value))
    assert main(["run"]) == 0  # the trial: every message to the outbox
    trial = [json.loads(line) for line in (tmp_path / "outbox.jsonl").read_text().splitlines()]
    assert trial

    # Live: a token, a new database (the trial's is dropped), the outbox left in place.
    for name, value in {"WHATSAPP_TOKEN": "test-token", "WHATSAPP_PHONE_NUMBER_ID": "1234",
                        "WHATSAPP_API_BASE": api.base, "RATE_PER_SECOND": "200",
                        "DATABASE": str(tmp_path / "live.duckdb")}.items():
        monkeypatch.setenv(f"BANDITORE_{name}", value)
    assert main(["run"]) == 0
    callbacks = {json.loads(a.raw)["biz_opaque_callback_data"] for a in api.accepted}
    announcements = {b["biz_opaque_callback_data"] for b in trial
                     if b["biz_opaque_callback_data"].startswith("banditore:a:")}
    assert len(announcements) == 5 * 38  # the sample's five announcements, 38 subscribers
    assert announcements <= callbacks
