"""Subscriber states, staff decisions kept in the repository, listing and erasure."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import example, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from runner.cli import main
from runner.config import load_settings
from runner.subscribers.lifecycle.decisions import Decision, DecisionError, load_decisions
from runner.subscribers.lifecycle.machine import Event, replay
from runner.subscribers.privacy import citizen_id
from runner.subscribers.staff.decide import decide
from runner.subscribers.sync import sync
from tests.support.database import query, state
from tests.support.towns import CERVENO_MODERATED
from tests.support.webhooks import T0, message, status, write

UTC = UTC

# Cerveno, moderated, with its welcome template.
pytestmark = pytest.mark.town(**CERVENO_MODERATED, templates={"benvenuto": {"body": ["town"]}},
                              now="2024-03-22T10:00:00+01:00")


def at(minutes: int) -> datetime:
    return datetime(2024, 3, 21, 9, 0, tzinfo=UTC) + timedelta(minutes=minutes)


def sub(minute, wamid=None, name=None):
    return Event(at(minute), wamid or f"wamid.s{minute}", "subscribe", "MI ISCRIVO", name)


def unsub(minute, wamid=None):
    return Event(at(minute), wamid or f"wamid.u{minute}", "unsubscribe", "MI CANCELLO")


def dec(minute, action, line=1):
    return Decision(at(minute), action, "c_0000000000000001", line)


FREE = {"moderate_subscribe": False, "moderate_unsubscribe": False}
CERVENO = {"moderate_subscribe": True, "moderate_unsubscribe": True}


# --- the state machine ---------------------------------------------------------------


def test_subscribe_then_leave_then_come_back():
    o = replay([sub(0), unsub(5), sub(9)], [], **FREE)
    assert [t[2] for t in o.transitions] == ["active", "unsubscribed", "active"]
    assert [r[:2] for r in o.replies] == [("w:wamid.s0", "welcome"), ("g:wamid.u5", "goodbye"),
                                          ("w:wamid.s9", "welcome")]
    assert o.consents == ["wamid.s0", "wamid.s9"]
    assert o.subscribed_at == at(0) and o.since == at(9)


def test_repeated_keywords_change_nothing():
    o = replay([sub(0), sub(1), sub(2)], [], **FREE)
    assert len(o.transitions) == 1 and len(o.replies) == 1 and o.consents == ["wamid.s0"]
    assert replay([unsub(0)], [], **FREE).state is None  # leaving what one never joined


def test_order_of_input_does_not_matter():
    events = [sub(0), unsub(5), sub(9), unsub(9, "wamid.zz")]
    assert replay(events, [], **FREE) == replay(list(reversed(events)), [], **FREE)


def test_cerveno_moderates_subscription():
    o = replay([sub(0, name="Paolo Rossi")], [], **CERVENO)
    assert (o.state, o.pending_action, o.name) == ("pending", "subscribe", "Paolo Rossi")
    assert o.replies == [("r:wamid.s0", "ack_subscribe", at(0), None)]  # "richiesta ricevuta"
    assert o.consents == ["wamid.s0"]  # the consent is given when the citizen writes
    o = replay([sub(0)], [dec(10, "approve")], **CERVENO)
    assert (o.state, o.replies[-1]) == ("active", ("w:wamid.s0", "welcome", at(0), None))
    assert replay([sub(0)], [dec(10, "reject")], **CERVENO).state == "rejected"


def test_cerveno_moderates_unsubscription():
    o = replay([sub(0), unsub(20)], [dec(10, "approve")], **CERVENO)
    assert (o.state, o.pending_action) == ("pending", "unsubscribe")
    o = replay([sub(0), unsub(20)], [dec(10, "approve"), dec(30, "approve", 2)], **CERVENO)
    assert (o.state, o.replies[-1][:2]) == ("unsubscribed", ("g:wamid.u20", "goodbye"))
    o = replay([sub(0), unsub(20)], [dec(10, "approve"), dec(30, "reject", 2)], **CERVENO)
    assert o.state == "active"


def test_leaving_before_approval_needs_no_approval():
    o = replay([sub(0), unsub(5)], [], **CERVENO)
    assert o.state == "unsubscribed"


def test_a_decision_before_the_request_does_nothing():
    assert replay([sub(10)], [dec(0, "approve")], **CERVENO).state == "pending"


def test_blocked_is_sticky_until_unblocked():
    o = replay([sub(0), unsub(20), sub(30)], [dec(10, "block")], **FREE)
    assert o.state == "blocked" and len(o.replies) == 1
    o = replay([sub(0), sub(30)], [dec(10, "block"), dec(20, "unblock", 2)], **FREE)
    assert o.state == "active"  # back to where it was; the later keyword changed nothing new
    assert replay([], [dec(0, "block")], **FREE).state == "blocked"  # pre-emptive block


def test_forget_drops_the_history_before_it():
    o = replay([sub(0), sub(30)], [dec(10, "forget")], **FREE)
    assert o.consents == ["wamid.s30"] and o.subscribed_at == at(30)
    assert replay([sub(0)], [dec(10, "forget")], **FREE).state is None


# --- decisions in the repository --------------------------------------------------------


@pytest.fixture
def town(town):
    """Paolo and Anna asked to subscribe; nobody has decided yet."""
    write(town / "logs" / "a.jsonl", [
        message("393330000001", "wamid.1", T0, "Servizio Info ON Paolo Rossi"),
        message("393330000002", "wamid.2", T0, "Servizio Info ON Anna Bianchi"),
        status("wamid.out", "read", T0 + 99, number="393330000001"),
    ])
    sync(load_settings())
    return town


PAOLO = citizen_id("393330000001")


def test_approve_is_kept_in_the_repo_and_survives_a_rebuild(town):
    result = decide(load_settings(), "approve", "+39 333 000 0001")
    assert (result.before, result.after) == ("pending", "active")
    text = (town / "subscribers" / "decisions.txt").read_text()
    assert PAOLO in text and "393330000001" not in text
    db = town / "subscribers.duckdb"
    assert query(db, "SELECT delivery_id FROM deliveries ORDER BY ALL") == [
        ("r:wamid.1",), ("r:wamid.2",), ("w:wamid.1",)]  # both acknowledged at once
    before = state(db)
    (town / "subscribers.duckdb").unlink()
    sync(load_settings())
    assert state(db) == before
    assert query(db, "SELECT name, state FROM subscribers WHERE citizen_id = ?".replace(
        "?", f"'{PAOLO}'")) == [("Paolo Rossi", "active")]


def test_decision_made_on_another_machine_applies_at_next_sync(town):
    line = f"2024-03-22T09:00:00+01:00 reject {PAOLO}  # not a resident\n"
    (town / "subscribers").mkdir()
    (town / "subscribers" / "decisions.txt").write_text(line)
    s = sync(load_settings())
    assert s.states == {"pending": 1, "rejected": 1}


def test_a_decision_naming_nobody_is_reported_with_its_line(town, monkeypatch):
    decide(load_settings(), "approve", "+39 333 000 0001")
    assert sync(load_settings()).unmatched == []
    # Another pseudonym key makes every id in the file name nobody: said, not silently lost.
    monkeypatch.setenv("BANDITORE_PSEUDONYM_KEY", "a-different-key")
    s = sync(load_settings())
    assert s.unmatched == [2]  # line 1 is the file's header comment
    assert any("pseudonym_key" in line and "2" in line for line in s.lines_text())
    assert s.states == {"pending": 2}  # the approval no longer applies


def test_decision_not_allowed_in_that_state(town):
    with pytest.raises(DecisionError):
        decide(load_settings(), "unblock", PAOLO)
    with pytest.raises(DecisionError):
        decide(load_settings(), "approve", "393339999999")  # never wrote to the town
    assert not (town / "subscribers" / "decisions.txt").exists()


def test_bad_decisions_file_names_the_line(town):
    (town / "subscribers").mkdir()
    (town / "subscribers" / "decisions.txt").write_text("# ok\nyesterday approve c_1\n")
    with pytest.raises(Exception, match=r"decisions.txt:2"):
        load_decisions(town / "subscribers" / "decisions.txt")


def test_forget_erases_the_number_and_its_events_also_after_rebuild(town):
    settings = load_settings()
    result = decide(settings, "forget", "393330000001")
    assert result.logs.removed == 2 and result.logs.files == [str(town / "logs" / "a.jsonl")]
    db = town / "subscribers.duckdb"

    def traces():
        return sum(query(db, f"SELECT count(*) FROM {table} WHERE {col}")[0][0]
                   for table, col in [
                       ("citizens", f"wa_id = '393330000001' OR citizen_id = '{PAOLO}'"),
                       ("inbound", f"citizen_id = '{PAOLO}'"),
                       ("subscribers", f"citizen_id = '{PAOLO}'"),
                       ("consents", f"citizen_id = '{PAOLO}'"),
                       ("subscriber_events", f"citizen_id = '{PAOLO}'"),
                       ("statuses", "recipient_id = '393330000001'")])

    assert traces() == 0
    sync(settings, rebuild=True)
    assert traces() == 0
    assert query(db, "SELECT count(*) FROM subscribers") == [(1,)]  # Anna is untouched


# --- the command line ------------------------------------------------------------------------


def test_cli_list_masks_numbers(town, capsys):
    assert main(["subscribers", "list"]) == 0
    out = capsys.readouterr().out
    assert "+39 333 *****01" in out and "393330000001" not in out
    assert main(["subscribers", "list", "--format", "json", "--state", "pending"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["name"] for r in rows} == {"Paolo Rossi", "Anna Bianchi"}
    assert main(["subscribers", "list", "--unmasked"]) == 0
    assert "393330000001" in capsys.readouterr().out


def test_cli_decisions_and_exit_codes(town, capsys):
    assert main(["subscribers", "approve", PAOLO]) == 0
    assert "pending" in capsys.readouterr().out
    assert main(["subscribers", "approve", PAOLO]) == 1  # already active
    assert "active" in capsys.readouterr().err
    assert main(["subscribers", "block", "393330000002"]) == 0
    assert main(["subscribers", "forget", PAOLO, "--yes"]) == 0
    out = capsys.readouterr().out
    assert "webhook" in out.lower() and "backup" in out.lower()


def test_cli_sync(town, capsys):
    assert main(["sync", "--rebuild"]) == 0
    out = capsys.readouterr().out
    assert "pending 2" in out


# --- the SQL replay and the Python replay agree ---------------------------------------------

NUMBERS = ["393330000001", "393330000002", "393330000003"]


@hsettings(max_examples=15, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 30),
                          st.sampled_from(["MI ISCRIVO", "MI CANCELLO", "ciao"])),
                max_size=25))
@example([(0, 0, "MI ISCRIVO"), (0, 1, "MI CANCELLO"), (0, 2, "MI ISCRIVO"),  # same notice
          (1, 0, "MI ISCRIVO"), (1, 1, "MI CANCELLO"), (1, 20, "MI ISCRIVO")])  # a new one
def test_sql_and_python_replays_agree(tmp_path_factory, history):
    """Everyone without decisions goes through the SQL replay; a decision that
    changes nothing (approve before anything happened) sends them through Python.
    A new privacy notice comes into force halfway: a returner under the notice of
    their welcome gets the short reply, under another the welcome, in both."""
    root = tmp_path_factory.mktemp("replay")
    (root / "logs").mkdir()
    (root / "empty").mkdir()
    write(root / "logs" / "a.jsonl", [  # 6 hours apart: the history spans 7.5 days
        message(NUMBERS[who], f"wamid.{n:03d}", T0 + 6 * 3600 * step, text)
        for n, (who, step, text) in enumerate(history)])
    (root / "noop.txt").write_text("".join(
        f"2000-01-01T00:00:00+00:00 approve {citizen_id(n)}\n" for n in NUMBERS))
    common = {"subscribe_keywords": ["MI ISCRIVO"], "unsubscribe_keywords": ["MI CANCELLO"],
              "now": datetime(2024, 4, 10, 12, 0, tzinfo=UTC)}
    for db, decisions in (("sql.duckdb", "none.txt"), ("py.duckdb", "noop.txt")):
        for logs, notice in (("empty", "2024-03-01"), ("logs", "2024-03-24")):
            sync(load_settings(database=root / db, decisions_file=root / decisions,
                               webhook_logs=str(root / logs), privacy_notice_date=notice,
                               **common))
    assert state(root / "sql.duckdb") == state(root / "py.duckdb")
