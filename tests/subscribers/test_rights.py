"""Data minimisation, privacy notices and near-miss hints, on real logs and DuckDB."""

from __future__ import annotations

import json

import pytest

from runner.config import load_settings
from runner.subscribers.lifecycle.keywords import Classifier
from runner.subscribers.privacy import masked_form
from runner.subscribers.staff.decide import decide
from runner.subscribers.sync import sync
from tests.support.database import query
from tests.support.webhooks import T0, message, write

DAY = 86400
CLASSIFIER = Classifier(["MI ISCRIVO", "Servizio Info ON"], ["MI CANCELLO", "Servizio Info OFF"])


@pytest.mark.parametrize(("text", "form"), [
    ("MI ISCRIVO Mario Rossi", "mi iscrivo …"),
    ("SERVIZIO INFO ON - Anna Verdi, via Roma 3", "servizio info on … ‹#›"),
    ("Buongiorno, vorrei iscrivermi", "buongiorno vorrei iscrivermi"),
    ("STOP", "stop"),
    ("mi iscrivo mario.rossi@example.com RSSMRA80A01H501U", "mi iscrivo ‹e-mail› ‹CF›"),
    ("iscrivetemi al 347 1234567 grazie", "iscrivetemi al ‹tel› grazie"),
    ("IT60X0542811101000000123456 mi cancello", "‹IBAN› mi cancello"),
    ("Giulia Bianchi, Piazza Garibaldi, Bergamo", "…"),
    ("", ""),
])
def test_masked_form_keeps_the_keyword_like_words_and_masks_the_rest(text, form):
    assert masked_form(text, CLASSIFIER.known_word) == form


def test_masked_form_is_cut_after_eight_words():
    form = masked_form("vorrei vorrei vorrei vorrei vorrei vorrei vorrei vorrei vorrei Mario",
                       CLASSIFIER.known_word)
    assert form == " ".join(["vorrei"] * 8 + ["…"])


PERSONAL = "MI ISCRIVO Mario Rossi mario.rossi@example.com RSSMRA80A01H501U"


def test_free_text_is_dropped_after_retention_on_sync_and_rebuild(town, monkeypatch):
    write(town / "logs" / "a.jsonl", [
        message("393330000001", "wamid.old", T0, PERSONAL),
        message("393330000001", "wamid.key", T0 + 5, "MI ISCRIVO"),
        message("393330000002", "wamid.new", T0 + 40 * DAY, "Buongiorno, vorrei iscrivermi"),
    ])
    monkeypatch.setenv("BANDITORE_NOW", "2024-05-01T12:00:00+02:00")  # T0 + 41 days
    db = town / "subscribers.duckdb"
    expected = [("wamid.key", "subscribe", "MI ISCRIVO", None),
                ("wamid.new", "near_miss", "Buongiorno, vorrei iscrivermi",
                 "buongiorno vorrei iscrivermi"),
                ("wamid.old", "near_miss", None, "mi iscrivo … ‹e-mail› ‹CF›")]
    summary = sync(load_settings())
    assert summary.texts_dropped == 0  # never stored: it was past retention when read
    sql = "SELECT wamid, kind, text, form FROM inbound ORDER BY wamid"
    assert query(db, sql) == expected
    sync(load_settings(), rebuild=True)
    assert query(db, sql) == expected
    db.unlink()
    sync(load_settings())
    assert query(db, sql) == expected
    # A month later the second near miss is past retention too; the keyword stays.
    monkeypatch.setenv("BANDITORE_NOW", "2024-06-01T12:00:00+02:00")
    summary = sync(load_settings())
    assert summary.texts_dropped == 1 and summary.compact
    assert any("retention_days" in line for line in summary.lines_text())
    assert b"Buongiorno, vorrei" not in (town / "subscribers.duckdb").read_bytes()
    assert not sync(load_settings()).compact  # the daily compaction is done
    assert [row[2] for row in query(db, sql)] == ["MI ISCRIVO", None, None]


def test_a_shorter_retention_is_a_setting(town, monkeypatch):
    write(town / "logs" / "a.jsonl", [message("393330000001", "wamid.1", T0, "ciao a tutti")])
    monkeypatch.setenv("BANDITORE_NOW", "2024-03-23T12:00:00+01:00")
    sync(load_settings())
    assert query(town / "subscribers.duckdb", "SELECT text FROM inbound") == [("ciao a tutti",)]
    monkeypatch.setenv("BANDITORE_RETENTION_DAYS", "1")
    sync(load_settings())
    assert query(town / "subscribers.duckdb", "SELECT text FROM inbound") == [(None,)]


# --- near-miss hints ----------------------------------------------------------------------


def hints(town):
    return query(town / "subscribers.duckdb",
                 "SELECT delivery_id FROM deliveries WHERE kind = 'hint' ORDER BY 1")


def test_hints_are_off_by_default(town, monkeypatch):
    write(town / "logs" / "a.jsonl", [message("393330000001", "wamid.1", T0, "mi iscrivo Anna")])
    monkeypatch.setenv("BANDITORE_NOW", "2024-03-21T07:00:00+01:00")
    sync(load_settings())
    assert hints(town) == []


def test_one_hint_per_burst_inside_the_window_and_none_after_a_keyword(town, monkeypatch):
    monkeypatch.setenv("BANDITORE_NEAR_MISS_HINT", "true")
    monkeypatch.setenv("BANDITORE_NOW", "2024-03-21T12:00:00+01:00")  # T0 = 06:46 UTC
    write(town / "logs" / "a.jsonl", [
        message("393330000001", "wamid.1", T0, "Buongiorno, vorrei iscrivermi"),
        message("393330000001", "wamid.2", T0 + 60, "iscrivimi per favore"),  # same burst
        message("393330000002", "wamid.3", T0, "STOP"),
        message("393330000003", "wamid.4", T0, "mi iscrivo Anna"),
        message("393330000003", "wamid.5", T0 + 30, "MI ISCRIVO"),  # found the keyword
        message("393330000004", "wamid.6", T0 - 2 * DAY, "vorrei iscrivermi"),  # window closed
    ])
    s = sync(load_settings())
    assert hints(town) == [("h:wamid.1",), ("h:wamid.3",)]
    assert s.hints == 2 and any("near_miss_hint" in line for line in s.lines_text())
    assert sync(load_settings()).hints == 0  # queued once


# --- privacy notices -------------------------------------------------------------------------


def notices(town):
    return query(town / "subscribers.duckdb",
                 "SELECT delivery_id FROM deliveries WHERE kind = 'notice' ORDER BY 1")


def test_a_new_notice_reaches_who_consented_to_an_older_one_once(town, monkeypatch):
    from runner.subscribers.privacy import citizen_id

    write(town / "logs" / "a.jsonl", [
        message("393330000001", "wamid.1", T0, "MI ISCRIVO"),
        message("393330000002", "wamid.2", T0, "MI ISCRIVO"),
        message("393330000002", "wamid.3", T0 + 60, "MI CANCELLO"),
    ])
    monkeypatch.setenv("BANDITORE_PRIVACY_NOTICE_DATE", "2024-01-01")
    monkeypatch.setenv("BANDITORE_NOW", "2024-04-02T10:00:00+02:00")
    assert sync(load_settings()).notices == 0
    db = town / "subscribers.duckdb"
    assert query(db, "SELECT DISTINCT notice_version FROM consents") == [("2024-01-01",)]
    # The town publishes a new notice: the active subscriber gets it, the one who left not.
    monkeypatch.setenv("BANDITORE_PRIVACY_NOTICE_DATE", "2024-04-01")
    s = sync(load_settings())
    assert s.notices == 1 and any("informativa" in line for line in s.lines_text())
    assert any("notice_template" in line for line in s.lines_text())
    assert notices(town) == [(f"n:{citizen_id('393330000001')}:2024-04-01",)]
    assert sync(load_settings()).notices == 0
    # Someone joining now consents to the new notice and needs no second message;
    # after a rebuild each consent still carries the notice of its own time.
    write(town / "logs" / "a.jsonl", [message("393330000003", "wamid.4", T0 + 12 * DAY,
                                              "MI ISCRIVO")], mode="a")
    assert sync(load_settings(), rebuild=True).notices == 0
    assert query(db, "SELECT wamid, notice_version FROM consents ORDER BY wamid") == [
        ("wamid.1", "2024-01-01"), ("wamid.2", "2024-01-01"), ("wamid.4", "2024-04-01")]


# --- erasure is deliberate ----------------------------------------------------------------------


def test_decisions_about_a_forgotten_citizen_raise_no_pseudonym_warning(town, monkeypatch):
    monkeypatch.setenv("BANDITORE_NOW", "2024-03-22T10:00:00+01:00")
    write(town / "logs" / "a.jsonl", [message("393330000001", "wamid.1", T0, "MI ISCRIVO")])
    sync(load_settings())
    decide(load_settings(), "block", "393330000001")
    monkeypatch.setenv("BANDITORE_NOW", "2024-03-23T10:00:00+01:00")
    decide(load_settings(), "forget", "393330000001")
    for rebuild in (False, True):
        s = sync(load_settings(), rebuild=rebuild)
        assert s.unmatched == [] and not any("pseudonym_key" in x for x in s.lines_text())


# --- near misses for staff ------------------------------------------------------------------


def test_near_misses_grouped_by_masked_form_with_the_keyword_they_are_close_to(town, monkeypatch,
                                                                                capsys):
    from runner.cli import main

    write(town / "logs" / "a.jsonl", [
        message("393330000001", "wamid.1", T0, "MI ISCRIVO Mario Rossi"),
        message("393330000002", "wamid.2", T0 + 9, "mi iscrivo Giulia Bianchi"),
        message("393330000003", "wamid.3", T0 + 5, "STOP"),
        message("393330000004", "wamid.4", T0 + 3 * DAY, "Stop!"),
        message("393330000005", "wamid.5", T0, "mi iscrivo anna.verdi@example.com"),
        message("393330000006", "wamid.6", T0, "MI ISCRIVI"),
        message("393330000007", "wamid.7", T0, "che bella giornata"),
    ])
    sync(load_settings())
    assert main(["subscribers", "near-misses"]) == 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines()[2:-1]]
    assert [(r[0], r[1], r[3], " ".join(r[4:])) for r in rows] == [
        ("2", "2", "-", "stop"),  # as frequent, and seen more recently
        ("2", "2", "MI", "ISCRIVO mi iscrivo …"),
        ("1", "1", "MI", "ISCRIVO mi iscrivi"),
        ("1", "1", "MI", "ISCRIVO mi iscrivo ‹e-mail›"),
    ]
    for secret in ("Mario", "Rossi", "Giulia", "anna.verdi", "giornata"):
        assert secret not in out
    assert "near_miss_hint = true" in out
    assert main(["subscribers", "near-misses", "--since", "2024-03-23", "--format", "json"]) == 0
    assert [g["form"] for g in json.loads(capsys.readouterr().out)] == ["stop"]
    assert main(["subscribers", "near-misses", "--since", "ieri"]) == 2
    assert "AAAA-MM-GG" in capsys.readouterr().err
