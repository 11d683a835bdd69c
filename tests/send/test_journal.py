"""The send journal: an append-only file folded into a real DuckDB file, exactly once."""

from __future__ import annotations

import os
import threading

import pytest

from runner.db import connect
from runner.send import journal
from runner.send.journal import JournalError, SendLog, log_path
from runner.send.queue import fold_log

T0 = 1_712_131_200_000  # 2024-04-03 08:00 UTC, in ms


def deliveries(con, n: int) -> None:
    con.execute("""INSERT INTO deliveries (delivery_id, kind, citizen_id, state, created_at)
                   SELECT 'd' || i, 'welcome', 'c' || i, 'queued', now() FROM range(?) t(i)""",
                [n])


def states(con) -> dict:
    return {r[0]: r[1:] for r in con.execute(
        "SELECT delivery_id, state, attempts, wamid FROM deliveries ORDER BY 1").fetchall()}


def test_rows_from_many_threads_are_read_back_whole(tmp_path):
    log = SendLog(tmp_path / "j.sendlog", lambda: T0)
    threads = [threading.Thread(target=lambda k=k: [
        log.write([(f"d{k}-{i}", "sent", f"wamid.{k}{i}", None, "é\ttab", 1)])
        for i in range(200)]) for k in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    log.close()
    name, start = journal.log_id(log.path)
    rows, end = journal.read(log.path, start)
    assert name and len(rows) == 1600 and end == log.path.stat().st_size
    assert rows[0][4:] == ("é\ttab", 1, T0)
    assert 1 <= log.syncs < 1600  # fsynced in groups, not once per line


def test_a_line_a_kill_cut_short_is_skipped_and_closed_before_new_ones(tmp_path):
    path = tmp_path / "j.sendlog"
    log = SendLog(path, lambda: T0)
    log.write([("d0", "sending", None, None, None, 0)])
    log.close()
    with open(path, "ab") as fh:
        fh.write(b'["d1","sent","wam')  # the kill came mid-line
    _, start = journal.log_id(path)
    assert [r[0] for r in journal.read(path, start)[0]] == ["d0"]
    again = SendLog(path, lambda: T0)  # a later writer closes the cut line first
    again.write([("d2", "sent", "wamid.2", None, None, 1)])
    again.close()
    assert [r[0] for r in journal.read(path, start)[0]] == ["d0", "d2"]


def test_folding_twice_never_counts_twice_and_a_folded_file_is_deleted(tmp_path):
    db = tmp_path / "db.duckdb"
    con = connect(db)
    deliveries(con, 3)
    log = SendLog(log_path(db), lambda: T0)
    log.write([("d0", "sending", None, None, None, 0), ("d0", "sent", "wamid.0", None, None, 1),
               ("d1", "sending", None, None, None, 0)])
    assert fold_log(con, log.path) == 2
    assert fold_log(con, log.path) == 0  # nothing new: the offset is in the database
    log.write([("d1", "sending", None, 131000, "Something went wrong", 1),
               ("d1", "sending", None, None, None, 0), ("d1", "sent", "wamid.1", None, None, 1)])
    log.close()
    assert fold_log(con, log.path, discard=True) == 1
    assert not log.path.exists()
    assert states(con) == {"d0": ("sent", 1, "wamid.0"), "d1": ("sent", 2, "wamid.1"),
                           "d2": ("queued", 0, None)}
    assert fold_log(con, log.path, discard=True) == 0  # no journal: nothing to do
    con.close()


def test_a_journal_that_cannot_be_written_stops_everything_after_it(tmp_path):
    log = SendLog(tmp_path / "j.sendlog", lambda: T0)
    good = log._fd
    log._fd = os.open("/dev/full", os.O_WRONLY)  # every write: no space left on device
    with pytest.raises(JournalError, match="j.sendlog"):
        log.write([("d0", "sending", None, None, None, 0)])
    os.close(log._fd)
    log._fd = good
    with pytest.raises(JournalError):  # sticky: the line before may be missing
        log.write([("d1", "sending", None, None, None, 0)])
    log.close()
