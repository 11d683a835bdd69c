"""The replies besides welcome and goodbye go out like them: a near-miss hint only
inside the 24-hour window, a new privacy notice as its template outside it."""

from __future__ import annotations

import io
import json

import pytest

from runner.config import TemplateConfig, load_settings
from runner.send import send
from runner.subscribers.sync import sync
from tests.support.webhooks import T0, message, write


@pytest.mark.town(near_miss_hint=True, privacy_notice_date="2024-01-01",
                  now="2024-03-21T09:00:00+01:00")
def test_hint_inside_the_window_and_notice_as_a_template(town, monkeypatch):
    write(town / "logs" / "a.jsonl", [
        message("393330000001", "wamid.1", T0 - 5 * 86400, "MI ISCRIVO"),  # window closed
        message("393330000002", "wamid.2", T0, "Buongiorno, vorrei iscrivermi"),
    ])
    sync(load_settings())
    monkeypatch.setenv("BANDITORE_PRIVACY_NOTICE_DATE", "2024-03-20")
    assert sync(load_settings()).notices == 1
    settings = load_settings(notice_template="informativa",
                             templates={"informativa": TemplateConfig(body=["town", "body"])})
    summary = send(settings, [], out=io.StringIO(), environ={})
    text = (town / "outbox" / "outbox.jsonl").read_text()
    bodies = [json.loads(line) for line in text.splitlines()]
    by_kind = {b["biz_opaque_callback_data"].split(":")[1]: b for b in bodies}
    hint, notice = by_kind["h"], by_kind["n"]
    assert hint["to"] == "+393330000002" and hint["type"] == "text"
    assert "scrivi esattamente MI ISCRIVO" in hint["text"]["body"]
    assert notice["to"] == "+393330000001" and notice["template"]["name"] == "informativa"
    assert "informativa privacy" in notice["template"]["components"][0]["parameters"][1]["text"]
    assert summary.failed == 0
