"""Template changes Meta announces by webhook: synced from the logs, published in the
counts file, and warned about by validate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner.announcements.validate import check
from runner.db import connect
from runner.send.counts import write_counts
from runner.subscribers.sync import sync
from tests.support.webhooks import message, template_change, write

T = 1712100000  # 2024-04-03


@pytest.fixture
def repo(repo):
    """Its logs (the default folder): a subscription and three template changes."""
    (repo.root / "webhook-logs").mkdir()
    write(repo.root / "webhook-logs" / "a.jsonl", [
        message("393330000001", "wamid.1", T - 100, "MI ISCRIVO"),
        template_change("template_category_update", "avviso", T,
                        previous_category="UTILITY", new_category="MARKETING"),
        template_change("message_template_status_update", "foto", T, event="APPROVED",
                        reason="NONE"),
        template_change("message_template_status_update", "foto", T + 60, event="PAUSED",
                        reason="Quality rating dropped"),
    ])
    return repo


def test_changes_are_synced_once_and_survive_a_rebuild(repo):
    settings = repo.settings()
    assert sync(settings).template_updates == 3
    again = sync(settings)
    assert again.template_updates == 0
    con = connect(settings.database)
    state = con.execute("SELECT name, language, status, category FROM template_state "
                        "ORDER BY name").fetchall()
    con.close()
    assert state == [("avviso", "it", None, "MARKETING"), ("foto", "it", "PAUSED", None)]
    sync(settings, rebuild=True)
    con = connect(settings.database)
    assert con.execute("SELECT count(*) FROM template_updates").fetchone()[0] == 3
    con.close()
    assert any("modelli annunciati da Meta: 3" in line for line in sync(
        settings, rebuild=True).lines_text())


def _template_problems(settings, repo) -> tuple[set, list[str]]:
    plain = repo.add("2024-04-05-avviso")
    photo = repo.add("2024-04-05-foto", template="foto",
                     media="https://www.comune.prova.it/foto.jpg")
    result = check(settings, [plain, photo])
    assert [a.id for a in result.valid] == ["2024-04-05-avviso"]  # MARKETING still goes
    return ({(p.rule, p.severity, p.file.rsplit("/", 1)[1]) for p in result.problems},
            [p.message for p in result.problems])


WARNED = {("template-approved", "warning", "2024-04-05-avviso.md"),
          ("template-approved", "error", "2024-04-05-foto.md")}


def test_validate_reads_what_sync_stored_right_after_it(repo):
    settings = repo.settings()
    sync(settings)  # no counts file: the database is where the states are
    found, messages = _template_problems(settings, repo)
    assert found == WARNED
    assert any("«foto» è PAUSED presso Meta dal 03/04/2024" in m for m in messages)


def test_a_pull_requests_check_reads_the_published_counts_and_creates_no_database(repo):
    settings = repo.settings()
    sync(settings)
    write_counts(settings)
    counts = json.loads((repo.root / "banditore-counts.json").read_text())
    assert counts["templates"]["avviso:it"]["category"] == "MARKETING"
    assert counts["templates"]["foto:it"]["status"] == "PAUSED"
    assert counts["active"] == 1 and "393330000001" not in json.dumps(counts)
    Path(settings.database).unlink()  # a pull request's check has the counts only
    found, messages = _template_problems(settings, repo)
    assert found == WARNED and any("PAUSED" in m for m in messages)
    assert not Path(settings.database).exists()


def test_the_deliveries_report_lists_the_changes(repo):
    from datetime import date

    from runner.reports.data import Period
    from runner.reports.deliveries import template_changes
    from runner.reports.show import table

    settings = repo.settings()
    sync(settings)
    con = connect(settings.database)
    try:
        df = template_changes(con, Period(date(2024, 4, 1), date(2024, 4, 7)))
    finally:
        con.close()
    assert df[["template_name", "template_status", "template_category"]].values.tolist() == [
        ["foto", "PAUSED", "-"], ["avviso", "-", "MARKETING"]]
    html = table(df).data
    assert "<th class=t>categoria Meta</th>" in html and "PAUSED" in html


def test_the_reviewers_block_reads_what_sync_stored(repo):
    from runner.announcements.review import review

    settings = repo.settings()
    sync(settings)  # avviso became MARKETING: the cost the reviewer sees follows
    path = repo.add("2024-04-05-avviso")
    result = check(settings, [path])
    [ann] = result.checked
    assert review(ann, result, settings).template_category == "MARKETING"
