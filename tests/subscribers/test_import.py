"""Moving an existing list in, the way a town does it: `subscribers import` of a messy
vCard and an Excel CSV from the command line, then `sync` and `run`, in the outbox and
against the loopback Cloud API. Every imported citizen receives the next emergency,
the migration message goes once, importing again adds nothing, `sync --rebuild` keeps
them, and nothing printed holds a number or a name."""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

import runner.pipeline  # noqa: F401  (see below)
from runner.cli import main
from runner.config import load_settings
from runner.subscribers.privacy import citizen_id
from runner.subscribers.staff.imports import import_file
from runner.subscribers.sync import sync
from tests.support.cloud_api_server import CloudApiServer
from tests.support.contact_lists import EXCEL_CSV, MESSY_VCARD, NAMES
from tests.support.database import query, state
from tests.support.webhooks import message, write

# runner.pipeline is imported at collection, not first inside a test: send() binds its
# default `out` to the sys.stderr of its first import, which a test's capture closes.
REPO = Path(__file__).resolve().parents[2]
KEY = "a-test-key"
BEFORE = "2024-04-03T10:00:00+02:00"  # the first run after the import
EMERGENCY = "2024-04-03T12:00:00+02:00"  # the emergency is due from here
AFTER = "2024-04-03T12:05:00+02:00"

# The vCard's eight numbers and the CSV's two new ones.
IMPORTED = ["393330000001", "39061234567", "393330000002", "393330000003", "41791234567",
            "390212345678", "442079460958", "393330000004", "393330000005", "41797654321"]
LEFT = "393330000004"  # imported, then wrote MI CANCELLO to the new number
NEW = "393330000006"  # subscribed by keyword this morning, never on the old list
pytestmark = pytest.mark.town(pseudonym_key=KEY, now=BEFORE)


def _seconds(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp())


@pytest.fixture
def town(town, monkeypatch):
    """A town's repository (settings with a migration template, the template catalogue,
    one emergency), its logs folder with two citizens' messages, and the two lists."""
    (town / "pyproject.toml").write_text("""
[tool.banditore]
town = "Comune di Esempio"
town_site = "comune.esempio.it"
subscribe_keywords = ["MI ISCRIVO"]
unsubscribe_keywords = ["MI CANCELLO"]
privacy_url = "https://www.comune.esempio.it/whatsapp-privacy"
privacy_notice_date = 2024-01-01
default_template = "avviso_comune"
migration_template = "trasloco"
templates.avviso_comune = { language = "it", body = ["title", "body"] }
templates.trasloco = { language = "it", body = ["body"] }
""", encoding="utf-8")
    catalogue = (REPO / "templates.toml").read_text(encoding="utf-8")
    (town / "templates.toml").write_text(catalogue + """
[[template]]
name = "trasloco"
language = "it"
status = "APPROVED"
category = "UTILITY"
header = "NONE"
body = "Comunicazione del Comune di Esempio: {{1}}"
""", encoding="utf-8")
    ann = town / "announcements" / "2024"
    ann.mkdir(parents=True)
    (ann / "2024-04-03-scuole-chiuse.md").write_text(f"""---
title: Scuole chiuse domani per vento forte
category: emergenze
urgency: emergency
publish_at: {EMERGENCY}
---
Domani restano chiuse tutte le scuole del territorio comunale per il vento forte previsto.
""", encoding="utf-8")
    write(town / "logs" / "2024-03-20.jsonl", [
        message(LEFT, "wamid.left", _seconds("2024-03-20T18:00:00+01:00"), "MI CANCELLO"),
        message(NEW, "wamid.new", _seconds("2024-04-03T09:00:00+02:00"), "MI ISCRIVO")])
    (town / "rubrica.vcf").write_bytes(MESSY_VCARD)
    (town / "iscritti.csv").write_bytes(EXCEL_CSV)
    monkeypatch.setenv("BANDITORE_DATABASE", str(town / "db.duckdb"))
    monkeypatch.setenv("BANDITORE_OUTBOX", str(town / "outbox.jsonl"))
    return town


class Cli:
    """The command line as staff use it; everything it printed is kept."""

    def __init__(self, capsys, monkeypatch) -> None:
        self.capsys, self.monkeypatch, self.printed = capsys, monkeypatch, ""

    def __call__(self, *args: str, now: str | None = None) -> tuple[int, str]:
        if now:
            self.monkeypatch.setenv("BANDITORE_NOW", now)
        code = main(list(args))
        out = self.capsys.readouterr()
        self.printed += out.out + out.err
        return code, out.out + out.err


@pytest.fixture
def cli(capsys, monkeypatch):
    return Cli(capsys, monkeypatch)


def sent(town: Path, api: CloudApiServer | None) -> list[tuple[str, str, str]]:
    """(kind of delivery, recipient's digits, template name) of every message that left."""
    if api is not None:
        bodies = [a.body for a in api.accepted]
    else:
        outbox = town / "outbox.jsonl"
        bodies = [json.loads(line) for line in outbox.read_text().splitlines()] \
            if outbox.exists() else []
    return [(b["biz_opaque_callback_data"].split(":")[1], b["to"].lstrip("+"),
             b.get("template", {}).get("name", b["type"])) for b in bodies]


def active(town: Path) -> set[str]:
    return {row[0] for row in query(town / "db.duckdb", """
        SELECT c.wa_id FROM subscribers s JOIN citizens c USING (citizen_id)
        WHERE s.state = 'active'""")}


@pytest.mark.parametrize("transport", ["outbox", "cloud"])
def test_a_messy_list_moves_in_and_every_imported_citizen_gets_the_next_emergency(
        town, cli, monkeypatch, transport):
    api = None
    if transport == "cloud":
        api = CloudApiServer().__enter__()
        for name, value in {"WHATSAPP_TOKEN": "test-token", "WHATSAPP_PHONE_NUMBER_ID": "1",
                            "WHATSAPP_API_BASE": api.base}.items():
            monkeypatch.setenv(f"BANDITORE_{name}", value)
    try:
        _move_in_and_warn(town, cli, api)
    finally:
        if api is not None:
            api.__exit__(None, None, None)
    # Nothing printed names a citizen or holds a whole number, in any spelling.
    for number in IMPORTED + [NEW]:
        assert number not in cli.printed and number[2:] not in cli.printed
    assert not re.search(r"\d{9,}", cli.printed.replace(KEY, ""))
    assert not any(name in cli.printed for name in NAMES)


def _move_in_and_warn(town: Path, cli: Cli, api: CloudApiServer | None) -> None:
    code, out = cli("subscribers", "import", "rubrica.vcf", "--consented-on", "2024-03-01")
    assert code == 1  # three entries could not be imported; the rest was
    assert "8 numeri validi (2 ripetuti, uniti), 3 voci non valide" in out
    assert "rubrica.vcf:40: non è un numero italiano" in out
    assert "rubrica.vcf:41: un cellulare italiano (3...) ha 9 o 10 cifre, questo ne ha 8" in out
    assert "rubrica.vcf:43: nessun numero di telefono" in out
    code, out = cli("subscribers", "import", "iscritti.csv", "--consented-on", "2024-03-01")
    assert code == 1 and "iscritti.csv:6: nessun numero" in out
    assert "1 numeri erano già in un'importazione precedente" in out
    records = sorted((town / "logs").glob("import-*.jsonl"))
    assert [len(r.read_text().splitlines()) for r in records] in ([8, 2], [2, 8])

    # Again, and a later export of the same contacts (other names, the same numbers):
    # nothing is added.
    code, out = cli("subscribers", "import", "rubrica.vcf", "--consented-on", "2024-03-01")
    assert "già stato importato" in out
    (town / "rubrica-nuova.vcf").write_bytes(MESSY_VCARD.replace(b"Paolo", b"Paolino"))
    code, out = cli("subscribers", "import", "rubrica-nuova.vcf", "--consented-on", "2024-03-01")
    assert "Nessun numero nuovo" in out
    assert sorted((town / "logs").glob("import-*.jsonl")) == records

    assert cli("sync")[0] == 0
    assert active(town) == set(IMPORTED) - {LEFT} | {NEW}

    # The first run: each imported citizen still subscribed learns of the move, once,
    # as the approved template (they never wrote to this number); the new one is welcome.
    assert cli("run")[0] == 0
    first = sent(town, api)
    migrations = [(to, name) for kind, to, name in first if kind == "x"]
    assert sorted(migrations) == sorted((n, "trasloco") for n in set(IMPORTED) - {LEFT})
    assert [(to, name) for kind, to, name in first if kind == "w"] == [(NEW, "text")]
    assert not [kind for kind, _, _ in first if kind == "a"]  # the emergency is not due yet

    # The emergency: every imported citizen still subscribed, and the new one, once.
    assert cli("run", now=AFTER)[0] == 0
    emergency = [to for kind, to, _ in sent(town, api) if kind == "a"]
    assert sorted(emergency) == sorted(set(IMPORTED) - {LEFT} | {NEW})
    assert len([k for k, _, _ in sent(town, api) if k == "x"]) == len(migrations)

    # The database is a cache: rebuilt from the logs (import records included) it keeps
    # every imported citizen, and nothing goes twice.
    assert cli("sync", "--rebuild")[0] == 0
    assert active(town) == set(IMPORTED) - {LEFT} | {NEW}
    assert cli("run", now=AFTER)[0] == 0
    assert len(sent(town, api)) == len(first) + len(emergency)


def test_a_lost_database_sends_nothing_twice(town, cli):
    """Losing the database entirely (no cache): the rebuild from the logs knows every
    imported citizen again, and the outbox shows what already went."""
    cli("subscribers", "import", "rubrica.vcf", "--consented-on", "2024-03-01")
    cli("sync")
    cli("run")
    before = sent(town, None)
    (town / "db.duckdb").unlink()
    shutil.rmtree(town / "db.duckdb.sendlog", ignore_errors=True)
    cli("sync")
    assert cli("run")[0] == 0
    assert sent(town, None) == before


def test_the_consent_records_the_day_the_notice_and_the_file(town, cli):
    cli("subscribers", "import", "rubrica.vcf", "--consented-on", "2024-03-01",
        "--notice-version", "2023-06-01")
    cli("sync")
    cid = citizen_id("393330000003", KEY.encode())
    sha = __import__("hashlib").sha256(MESSY_VCARD).hexdigest()
    [consent] = query(town / "db.duckdb", f"""
        SELECT strftime(ts AT TIME ZONE 'Europe/Rome', '%Y-%m-%d %H:%M'), keyword, text,
               notice_version, imported_from
        FROM consents WHERE citizen_id = '{cid}'""")
    assert consent == ("2024-03-01 00:00", "import", "", "2023-06-01", sha)
    code, out = cli("subscribers", "show", "+39 333 000 0003")
    assert f"importato (file sha256 {sha[:16]}...)" in out and "informativa 2023-06-01" in out
    # Consented under an older notice: the notice in force is sent too, as for anyone.
    assert query(town / "db.duckdb", "SELECT count(*) FROM deliveries WHERE kind = 'notice'"
                 ) == [(7,)]
    # Nothing but the numbers and the consent is kept: no name, in the logs or the database.
    kept = b"".join(p.read_bytes() for p in (town / "logs").iterdir())
    assert not any(name.encode() in kept for name in NAMES)


def test_a_citizen_subscribed_by_keyword_before_the_consent_keeps_that_subscription(
        town, cli):
    write(town / "logs" / "2024-02-20.jsonl", [
        message("393330000002", "wamid.early", _seconds("2024-02-20T10:00:00+01:00"),
                "MI ISCRIVO")])
    cli("subscribers", "import", "rubrica.vcf", "--consented-on", "2024-03-01")
    cli("sync")
    cid = citizen_id("393330000002", KEY.encode())
    assert query(town / "db.duckdb", f"""
        SELECT kind FROM deliveries WHERE citizen_id = '{cid}' ORDER BY kind""") == [
        ("welcome",)]
    assert query(town / "db.duckdb", f"SELECT keyword FROM consents WHERE citizen_id = '{cid}'"
                 ) == [("MI ISCRIVO",)]


def test_forget_erases_the_imported_consent_and_a_later_list_does_not_bring_it_back(
        town, cli):
    cli("subscribers", "import", "rubrica.vcf", "--consented-on", "2024-03-01")
    cli("sync")
    assert cli("subscribers", "forget", "+39 333 000 0003", "--yes")[0] == 0
    assert "393330000003" not in "".join(
        p.read_text() for p in (town / "logs").glob("import-*.jsonl"))
    (town / "other.csv").write_text("telefono\n+39 333 000 0003\n", encoding="utf-8")
    cli("subscribers", "import", "other.csv", "--consented-on", "2024-03-02")
    cli("sync")
    cli("sync", "--rebuild")
    assert "393330000003" not in active(town)
    assert query(town / "db.duckdb",
                 "SELECT count(*) FROM imports WHERE citizen_id = "
                 f"'{citizen_id('393330000003', KEY.encode())}'") == [(0,)]


def test_an_unreadable_file_writes_nothing(town, cli):
    (town / "contatti.xlsx").write_bytes(b"PK\x03\x04" + bytes(200))
    (town / "indirizzi.csv").write_text("Nome;Via\nMario;via Roma 3\n", encoding="utf-8")
    for path, says in [("contatti.xlsx", "salvalo come CSV"), ("indirizzi.csv", "--column"),
                       ("manca.vcf", "Non riesco a leggere")]:
        code, out = cli("subscribers", "import", path, "--consented-on", "2024-03-01")
        assert code == 2 and says in out and "Non è stato importato nulla" in out
    code, out = cli("subscribers", "import", "rubrica.vcf", "--consented-on", "2099-01-01")
    assert code == 2 and "nel futuro" in out
    code, out = cli("subscribers", "import", "rubrica.vcf", "--consented-on", "1/3/2024")
    assert code == 2 and "AAAA-MM-GG" in out
    assert not list((town / "logs").glob("import-*"))


def test_the_import_needs_no_pseudonym_key(town, cli, monkeypatch):
    """It runs on the receiver's server, which holds no key: it makes no citizen id."""
    monkeypatch.delenv("BANDITORE_PSEUDONYM_KEY")
    monkeypatch.setenv("CI", "true")
    code, out = cli("subscribers", "import", "iscritti.csv", "--consented-on", "2024-03-01")
    assert code == 1 and "PSEUDONYM_KEY" not in out and "Scritto" in out


def test_messages_in_english(town, cli, monkeypatch):
    monkeypatch.setenv("BANDITORE_LANGUAGE", "en")
    code, out = cli("subscribers", "import", "rubrica.vcf", "--consented-on", "2024-03-01")
    assert "rubrica.vcf:43: no phone number." in out and "8 valid numbers" in out


def test_a_glob_that_would_not_read_the_record_refuses_the_import(town, monkeypatch):
    monkeypatch.setenv("BANDITORE_WEBHOOK_LOGS", str(town / "logs" / "20*.jsonl"))
    with pytest.raises(Exception, match="import-"):
        import_file(load_settings(), town / "rubrica.vcf", "2024-03-01")
    assert not list((town / "logs").glob("import-*"))


def test_a_hand_broken_record_line_is_malformed_and_costs_only_itself(town, cli):
    cli("subscribers", "import", "iscritti.csv", "--consented-on", "2024-03-01")
    [record] = (town / "logs").glob("import-*.jsonl")
    lines = record.read_text().splitlines()
    record.write_text("\n".join([lines[0], '{"banditore_import": {"n": 2, "wa_id": "abc"}}',
                                 ""]))
    summary = sync(load_settings())
    assert summary.malformed == {"wrong_shape": 1} and summary.imported == 1
    assert query(town / "db.duckdb", "SELECT detail FROM malformed")[0][0].startswith(
        "import record")


# --- the SQL replay and the Python replay agree, imported consents included -------------

NUMBERS = ["393330000001", "393330000002", "393330000003"]


@hsettings(max_examples=10, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 5), st.integers(0, 600),
                          st.sampled_from(["MI ISCRIVO", "MI CANCELLO", "ciao"])), max_size=15),
       st.lists(st.tuples(st.integers(0, 2), st.integers(0, 5)), max_size=4))
def test_sql_and_python_replays_agree_with_imports(tmp_path_factory, history, imported):
    """Whoever has no decision goes through the SQL replay; a decision that changes
    nothing sends them through Python: both read imported consents alike."""
    root = tmp_path_factory.mktemp("replay")
    (root / "logs").mkdir()
    day = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
    write(root / "logs" / "a.jsonl", [
        message(NUMBERS[who], f"wamid.{n:03d}", int((day + timedelta(days=d, minutes=m))
                                                    .timestamp()), text)
        for n, (who, d, m, text) in enumerate(history)])
    common = {"webhook_logs": str(root / "logs"), "subscribe_keywords": ["MI ISCRIVO"],
              "unsubscribe_keywords": ["MI CANCELLO"], "now": day + timedelta(days=10)}
    for n, (who, d) in enumerate(imported):
        (root / f"{n}.csv").write_text(f"telefono\n+{NUMBERS[who]}\n", encoding="utf-8")
        import_file(load_settings(**common), root / f"{n}.csv",
                    (day + timedelta(days=d)).date().isoformat())
    (root / "noop.txt").write_text("".join(
        f"2000-01-01T00:00:00+00:00 approve {citizen_id(n)}\n" for n in NUMBERS))
    sync(load_settings(database=root / "sql.duckdb", decisions_file=root / "none.txt",
                       **common))
    sync(load_settings(database=root / "py.duckdb", decisions_file=root / "noop.txt",
                       **common))
    assert state(root / "sql.duckdb") == state(root / "py.duckdb")
