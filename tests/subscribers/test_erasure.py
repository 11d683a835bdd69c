"""Erasure for real: forget removes the citizen from the database, the local webhook
logs (plain and gzip) and the outbox, keeps everyone else's lines byte for byte, and
neither sync nor a rebuild brings anything back."""

from __future__ import annotations

import gzip
import json
import os
import threading

import duckdb
import pytest

from runner.cli import main
from runner.config import load_settings
from runner.files import replace_durably
from runner.subscribers.privacy import citizen_id
from runner.subscribers.rights.erase_lines import erase_file
from runner.subscribers.staff.decide import decide
from runner.subscribers.sync import sync
from runner.webhook.logwriter import LogWriter
from tests.support.database import query
from tests.support.webhooks import T0, envelope, message, status, write

GONE, STAYS = "393471112233", "393330000002"
GONE_ID = citizen_id(GONE)
pytestmark = pytest.mark.town(now="2024-03-22T10:00:00+01:00")


def outbox_line(number: str, delivery: str) -> str:
    return json.dumps({"messaging_product": "whatsapp", "recipient_type": "individual",
                       "to": "+" + number, "biz_opaque_callback_data": f"banditore:{delivery}",
                       "type": "text", "text": {"body": "Benvenuto"}}, separators=(",", ":"))


def batched(first: str, second: str) -> str:
    """One POST carrying two citizens' messages (Meta may batch them)."""
    body = json.loads(message(first, "wamid.b1", T0 + 30, "MI ISCRIVO"))
    other = json.loads(message(second, "wamid.b2", T0 + 31, "ciao"))
    value, more = body["entry"][0]["changes"][0]["value"], other["entry"][0]["changes"][0]["value"]
    value["contacts"] += more["contacts"]
    value["messages"] += more["messages"]
    return json.dumps(body)


@pytest.fixture
def town(town):
    """Two citizens subscribed, their welcomes' statuses, one POST with two people's
    messages, a broken line, older logs rotated and gzipped, and the outbox: every
    place the one who leaves (GONE) is written."""
    write(town / "logs" / "a.jsonl", [
        message(GONE, "wamid.1", T0, "MI ISCRIVO Mario Rossi"),
        message(STAYS, "wamid.2", T0 + 1, "MI ISCRIVO"),
        status("wamid.out1", "delivered", T0 + 60, number=GONE, callback="banditore:w:wamid.1"),
        status("wamid.out2", "read", T0 + 61, number=STAYS, callback="banditore:w:wamid.2"),
        batched(GONE, "393330000003"),
        '{"truncated": "393471112233',  # a broken line naming the citizen
    ])
    older = [message(GONE, "wamid.0", T0 - 86400, "MI ISCRIVO"),
             message("393330000004", "wamid.4", T0 - 86400, "MI ISCRIVO")]
    (town / "logs" / "b.jsonl.gz").write_bytes(
        gzip.compress("".join(line + "\n" for line in older).encode()))
    (town / "outbox").mkdir()
    write(town / "outbox" / "outbox.jsonl", [
        outbox_line(GONE, "w:wamid.1"), outbox_line(STAYS, "w:wamid.2"),
        outbox_line(GONE, "a:2024-03-21-x:" + GONE_ID)])
    sync(load_settings())
    return town


def lines(path) -> list[bytes]:
    data = path.read_bytes()
    return (gzip.decompress(data) if path.name.endswith(".gz") else data).split(b"\n")


def database_text(town) -> str:
    """Every value of every table, as text: where the number could hide."""
    con = duckdb.connect(str(town / "subscribers.duckdb"), read_only=True)
    try:
        tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
        return "\n".join(str(con.execute(f"SELECT * FROM {t}").fetchall()) for t in tables)
    finally:
        con.close()


def test_forget_leaves_no_trace_here_and_keeps_every_other_line(town, capsys):
    files = [town / "logs" / "a.jsonl", town / "logs" / "b.jsonl.gz", town / "outbox" /
             "outbox.jsonl"]
    before = {f: [line for line in lines(f) if GONE.encode() not in line] for f in files}
    assert GONE in database_text(town) and GONE_ID in database_text(town)

    assert main(["subscribers", "forget", "+39 347 111 2233", "--yes"]) == 0
    out = capsys.readouterr().out
    for f in files:
        kept = lines(f)
        assert GONE.encode() not in b"\n".join(kept)
        # every line about someone else is still there, byte for byte, in order...
        assert [line for line in kept if line in before[f]] == before[f]
        # ...and the only new one is the batched POST without the citizen's message
        assert len([line for line in kept if line not in before[f]]) == (
            1 if f.name == "a.jsonl" else 0)
    [rewritten] = [json.loads(x) for x in lines(files[0]) if b"banditore_reserialised" in x]
    value = rewritten["entry"][0]["changes"][0]["value"]
    assert [m["id"] for m in value["messages"]] == ["wamid.b2"]
    assert "removed" not in out and GONE not in out
    assert GONE.encode() not in (town / "subscribers.duckdb").read_bytes()
    assert "righe tolte 4, riscritte senza i suoi dati 1, file riscritti 2" in out
    assert "messaggi tolti 2" in out
    assert "ssh -t" in out and "erase-lines " + GONE_ID in out and "gh cache delete" in out

    for rebuild in (False, True, False):
        summary = sync(load_settings(), rebuild=rebuild)
        assert summary.unmatched == []
        text = database_text(town)
        assert GONE not in text and GONE_ID not in text and "Mario Rossi" not in text
        raw = (town / "subscribers.duckdb").read_bytes()  # free blocks included
        assert GONE.encode() not in raw and b"Mario Rossi" not in raw
        assert summary.states == {"active": 2}  # the others, untouched
    assert query(town / "subscribers.duckdb",
                 "SELECT status FROM statuses WHERE wamid = 'wamid.out2'") == [("read",)]


def test_a_copy_is_erased_by_id_with_the_key_and_without_a_database(town, tmp_path_factory,
                                                                     monkeypatch, capsys):
    """What forget prints for the receiver's server: erase-lines on a folder of logs."""
    monkeypatch.setenv("BANDITORE_PSEUDONYM_KEY", "the-town-key")
    copy = tmp_path_factory.mktemp("receiver")
    write(copy / "2024-03-21.jsonl", [message(GONE, "wamid.1", T0, "MI ISCRIVO"),
                                      message(STAYS, "wamid.2", T0, "MI ISCRIVO")])
    keep = (copy / "2024-03-21.jsonl").read_bytes().split(b"\n")[1]
    assert main(["subscribers", "erase-lines", citizen_id(GONE), str(copy), "--yes"]) == 0
    assert GONE in (copy / "2024-03-21.jsonl").read_text()  # another key: another id
    keyed = citizen_id(GONE, b"the-town-key")
    assert main(["subscribers", "erase-lines", keyed, str(copy), "--yes"]) == 0
    assert (copy / "2024-03-21.jsonl").read_bytes().split(b"\n") == [keep, b""]
    assert "1" in capsys.readouterr().out


def test_receiver_appends_are_never_lost_to_an_erasure(tmp_path):
    """The receiver writes under flock; an erasure replaces the file under the same
    lock, and a writer that opened the old file opens the new one."""
    writer = LogWriter(tmp_path)
    path = writer.path_for(writer._clock())
    victim = envelope({"contacts": [{"wa_id": GONE}], "messages": [
        {"from": GONE, "id": "wamid.v", "timestamp": str(T0), "type": "text",
         "text": {"body": "x"}}]})
    done = threading.Event()

    def append():
        for n in range(300):
            writer.append(message(STAYS, f"wamid.{n}", T0, "ciao").encode() + b"\n")
            if n % 10 == 0:
                writer.append(victim.encode() + b"\n")
        done.set()

    thread = threading.Thread(target=append)
    thread.start()
    erasures = 0
    while not done.is_set() or erasures == 0:
        if path.exists():
            erasures += bool(erase_file(path, {GONE.encode()}).files)
    thread.join()
    erase_file(path, {GONE.encode()})
    kept = path.read_text().splitlines()
    assert len(kept) == 300 and erasures > 0
    assert [json.loads(x)["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
            for x in kept] == [f"wamid.{n}" for n in range(300)]


def test_a_log_replaced_while_the_receiver_waits_is_opened_again_each_time(tmp_path):
    """Erasures may finish one after another while the receiver waits for the lock:
    however many, its line goes into the file that stays, never into one replaced."""
    erasures = []

    def open_then_erased(path, flags, mode):
        fd = os.open(path, flags, mode)
        if len(erasures) < 6:  # an erasure finishes between our open and our lock
            replace_durably(path, path.read_bytes())
            erasures.append(path)
        return fd

    writer = LogWriter(tmp_path, open_file=open_then_erased)
    path = writer.append(message(STAYS, "wamid.1", T0, "ciao").encode() + b"\n")
    assert len(erasures) == 6
    assert [json.loads(line)["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
            for line in path.read_text().splitlines()] == ["wamid.1"]


def test_forget_by_id_is_exit_1_when_a_file_cannot_be_rewritten(town, capsys):
    (town / "logs").chmod(0o500)  # the folder is read-only: the rename fails
    try:
        result = decide(load_settings(), "forget", GONE_ID)
    finally:
        (town / "logs").chmod(0o700)
    if result.logs.failed:  # root may write anyway: then there is nothing to check
        assert result.exit_code == 1 and "a.jsonl" in result.text(load_settings())
