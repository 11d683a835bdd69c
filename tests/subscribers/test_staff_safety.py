"""Staff commands that cannot mislead: erasing asks first, a decision stays with the
database it was made on, reading never creates a database, a damaged or missing one
says how to get it back, a lookup without the right key says so (issue 25)."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from runner.cli import main
from runner.config import load_settings
from runner.subscribers.privacy import citizen_id
from runner.subscribers.sync import sync
from tests.support.database import query
from tests.support.towns import make_town
from tests.support.webhooks import T0, message, write

GONE, STAYS = "393471112233", "393330000002"
GONE_ID = citizen_id(GONE)


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A town's repository (git), its logs, and its database synced from them."""
    root = tmp_path / "comune"
    root.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    make_town(root, monkeypatch)
    monkeypatch.setenv("BANDITORE_WEBHOOK_LOGS", "logs")  # as a town writes it
    monkeypatch.setenv("BANDITORE_NOW", "2024-03-22T10:00:00+01:00")
    write(root / "logs" / "a.jsonl", [message(GONE, "wamid.1", T0, "MI ISCRIVO"),
                                      message(STAYS, "wamid.2", T0 + 1, "MI ISCRIVO")])
    sync(load_settings())
    return root


class Terminal:
    """stdin as a person at a terminal."""

    def isatty(self) -> bool:
        return True


def answer(monkeypatch, reply: str) -> None:
    monkeypatch.setattr(sys, "stdin", Terminal())
    monkeypatch.setattr("builtins.input", lambda prompt="": reply)


# --- forget asks, and says what it will erase -------------------------------------------

def test_forget_without_a_terminal_and_without_yes_refuses(repo, capsys):
    logs = (repo / "logs" / "a.jsonl").read_bytes()
    assert main(["subscribers", "forget", GONE_ID]) == 2
    err = capsys.readouterr().err
    assert "non c'è un terminale" in err and "--yes" in err and "nulla è stato cancellato" in err
    assert (repo / "logs" / "a.jsonl").read_bytes() == logs
    assert not (repo / "subscribers" / "decisions.txt").exists()
    assert query(repo / "subscribers.duckdb", "SELECT count(*) FROM subscribers") == [(2,)]


def test_forget_asks_and_a_no_erases_nothing(repo, capsys, monkeypatch):
    answer(monkeypatch, "no")
    assert main(["subscribers", "forget", GONE_ID]) == 1
    err = capsys.readouterr().err
    assert f"Stai per cancellare per sempre {GONE_ID} (+39 347 *****33, stato «active»)" in err
    assert "logs" in err and "outbox" in err and "subscribers/decisions.txt" in err
    assert "Nulla è stato cancellato" in err
    assert not (repo / "subscribers" / "decisions.txt").exists()
    answer(monkeypatch, "sì")
    assert main(["subscribers", "forget", GONE_ID]) == 0
    assert GONE.encode() not in (repo / "logs" / "a.jsonl").read_bytes()


def test_erase_lines_asks_too(repo, capsys, monkeypatch):
    assert main(["subscribers", "erase-lines", GONE_ID, str(repo / "logs")]) == 2
    assert GONE.encode() in (repo / "logs" / "a.jsonl").read_bytes()
    answer(monkeypatch, "yes")
    assert main(["subscribers", "erase-lines", GONE_ID, str(repo / "logs")]) == 0
    assert GONE.encode() not in (repo / "logs" / "a.jsonl").read_bytes()


# --- a decision stays with the database it was made on ----------------------------------

def test_forget_on_a_copy_never_reaches_the_real_repository(repo, tmp_path, monkeypatch):
    """The defect: BANDITORE_DATABASE on a copy wrote subscribers/decisions.txt into the
    repository (and erased its logs), and the next sync of the real database applied it."""
    copy = tmp_path / "copia"
    copy.mkdir()
    shutil.copy(repo / "subscribers.duckdb", copy / "subscribers.duckdb")
    logs = (repo / "logs" / "a.jsonl").read_bytes()
    monkeypatch.setenv("BANDITORE_DATABASE", str(copy / "subscribers.duckdb"))
    assert main(["subscribers", "forget", GONE_ID, "--yes"]) == 0
    assert f"forget {GONE_ID}" in (copy / "subscribers" / "decisions.txt").read_text()
    assert not (repo / "subscribers" / "decisions.txt").exists()
    assert (repo / "logs" / "a.jsonl").read_bytes() == logs
    # The real database, synced again, still has the citizen.
    monkeypatch.delenv("BANDITORE_DATABASE")
    sync(load_settings())
    assert query(repo / "subscribers.duckdb",
                 f"SELECT state FROM subscribers WHERE citizen_id = '{GONE_ID}'") == [("active",)]


def test_decisions_go_to_the_repository_of_the_database(repo, monkeypatch, capsys):
    (repo / "stato").mkdir()
    shutil.move(repo / "subscribers.duckdb", repo / "stato" / "subscribers.duckdb")
    monkeypatch.setenv("BANDITORE_DATABASE", "stato/subscribers.duckdb")
    monkeypatch.chdir(repo / "stato")  # run from a subfolder: still the repository's file
    assert main(["subscribers", "block", STAYS]) == 0
    assert "block" in (repo / "subscribers" / "decisions.txt").read_text()


# --- reading never creates a database; missing and damaged ones say the way out ----------

@pytest.mark.parametrize("argv", [
    ["subscribers", "list"], ["subscribers", "show", GONE_ID],
    ["subscribers", "export", GONE_ID], ["subscribers", "near-misses"],
    ["subscribers", "approve", GONE_ID], ["report", "--out", "reports"],
])
def test_a_missing_database_is_never_created_by_reading(repo, argv, capsys, monkeypatch):
    monkeypatch.setenv("BANDITORE_DATABASE", "altrove/subscribers.duckdb")
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "altrove/subscribers.duckdb non c'è" in err and "`python -m runner sync`" in err
    assert not (repo / "altrove").exists()


def test_a_damaged_database_says_rebuild_and_rebuild_sets_it_aside(repo, capsys):
    (repo / "subscribers.duckdb").write_bytes(b"non un database\n" * 100)
    for argv in (["subscribers", "list"], ["sync"], ["report", "--out", "reports"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "è danneggiato" in err and "`python -m runner sync --rebuild`" in err
        assert "IO Error" not in err
    assert main(["sync", "--rebuild"]) == 0
    [aside] = repo.glob("subscribers.duckdb.damaged-*")
    assert aside.read_bytes().startswith(b"non un database")
    assert main(["subscribers", "list"]) == 0
    assert "+39 347 *****33" in capsys.readouterr().out


# --- lookups and the pseudonym key -----------------------------------------------------

def test_a_number_without_the_key_the_database_was_built_with_names_the_key(
        repo, capsys, monkeypatch):
    monkeypatch.setenv("BANDITORE_PSEUDONYM_KEY", "la-chiave-di-ci")
    sync(load_settings(), rebuild=True)
    monkeypatch.delenv("BANDITORE_PSEUDONYM_KEY")
    assert main(["subscribers", "show", "+39 347 111 2233"]) == 1
    err = capsys.readouterr().err
    assert "BANDITORE_PSEUDONYM_KEY non è impostata" in err and "Nessun cittadino" not in err
    monkeypatch.setenv("BANDITORE_PSEUDONYM_KEY", "un'altra")
    assert main(["subscribers", "block", "+39 347 111 2233"]) == 1
    assert "con un'altra BANDITORE_PSEUDONYM_KEY" in capsys.readouterr().err
    assert not (repo / "subscribers" / "decisions.txt").exists()  # no decision on a wrong id


def test_an_unknown_id_is_echoed_as_an_id(repo, capsys):
    assert main(["subscribers", "show", "c_0000000000000000"]) == 1
    err = capsys.readouterr().err
    assert "«c_0000000000000000»" in err and "+00" not in err


def test_show_says_its_texts_are_the_masked_form_export_gives_them_as_written(repo, capsys):
    write(repo / "logs" / "a.jsonl", [message(STAYS, "wamid.3", T0 + 60, "Grazie!")], mode="a")
    sync(load_settings())
    assert main(["subscribers", "show", citizen_id(STAYS)]) == 0
    shown = capsys.readouterr().out
    assert "«grazie»" in shown and "nella forma mascherata" in shown
    assert "`subscribers export`" in shown
    assert main(["subscribers", "export", citizen_id(STAYS)]) == 0
    assert '"Grazie!"' in capsys.readouterr().out
