"""Reading announcement files: the model, line numbers, bad input, and when one is due."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from runner import messages
from runner.announcements.model import FRONT_MATTER_KEYS, Announcement
from runner.announcements.reading import load_all, parse
from tests.support.announcement_repo import announcement

ROME = ZoneInfo("Europe/Rome")


@pytest.fixture
def repo(repo):
    messages.set_language("it")
    yield repo
    messages.set_language("it")


def parse_text(repo, text, name="2024-04-03-prova.md"):
    path = repo.write(f"announcements/2024/{name}", text)
    return parse(path, repo.settings())


def test_a_complete_file(repo):
    ann, problems = parse_text(repo, announcement(
        title="Chiusura via Roma", category="viabilita", urgency="high",
        publish_at="2024-04-03T10:00:00+02:00", expires_at="2024-04-05 18:00",
        media="announcements/media/x.png", template="foto", cancelled="false",
        body="Primo paragrafo.\n\nSecondo.").replace("\n---\n", "\n---\n\n\n", 1))
    assert problems == []
    assert ann.id == "2024-04-03-prova"
    assert ann.file == "announcements/2024/2024-04-03-prova.md"
    assert (ann.title, ann.category, ann.urgency) == ("Chiusura via Roma", "viabilita", "high")
    assert ann.publish_at == datetime(2024, 4, 3, 10, tzinfo=ROME)
    # A naive time is the town's time.
    assert ann.expires_at == datetime(2024, 4, 5, 18, tzinfo=ROME)
    assert ann.expires_at.utcoffset() == timedelta(hours=2)
    assert ann.media == "announcements/media/x.png" and ann.template == "foto"
    assert ann.cancelled is False
    assert [ann.line(k) for k in ("title", "category", "urgency", "media")] == [2, 3, 4, 7]
    assert ann.body == "Primo paragrafo.\n\nSecondo."
    assert ann.body_line == 13  # the blank lines after the closing --- are skipped


def test_front_matter_keys_are_the_model_fields():
    assert FRONT_MATTER_KEYS == ("title", "category", "urgency", "publish_at", "expires_at",
                                 "media", "template", "cancelled", "updates", "cancels",
                                 "status", "instruction")
    assert Announcement.model_config["extra"] == "forbid"


@pytest.mark.parametrize(("keys", "msg_type", "references", "drill"), [
    ({}, "alert", None, False),
    ({"updates": "2024-04-02-via-roma"}, "update", "2024-04-02-via-roma", False),
    ({"cancels": "2024-04-02-via-roma"}, "cancel", "2024-04-02-via-roma", False),
    ({"status": "exercise"}, "alert", None, True),
    ({"status": "test", "updates": "2024-04-02-x"}, "update", "2024-04-02-x", True),
])
def test_lifecycle_fields(repo, keys, msg_type, references, drill):
    ann, problems = parse_text(repo, announcement(**keys))
    assert problems == []
    assert (ann.msg_type, ann.references, ann.is_drill) == (msg_type, references, drill)
    assert ann.status == keys.get("status", "actual")


@pytest.mark.parametrize(("keys", "says"), [
    ({"status": "drill"}, "actual, exercise, test"),
    ({"updates": "[2024-04-02-x]"}, "updates"),
])
def test_lifecycle_fields_refuse_bad_values(repo, keys, says):
    ann, problems = parse_text(repo, announcement(**keys))
    assert ann is None and problems[0].rule == "schema" and says in problems[0].message


def test_a_date_alone_is_midnight_town_time(repo):
    ann, _ = parse_text(repo, announcement(publish_at="2024-04-03"))
    assert ann.publish_at == datetime(2024, 4, 3, 0, 0, tzinfo=ROME)


@pytest.mark.parametrize(
    ("text", "line", "expected"),
    [
        (announcement(categroy="eventi"), 4, "Forse intendevi «category»?"),
        (announcement(titel="x"), 4, "Forse intendevi «title»?"),
        # The typo alone: no second problem saying that category is missing.
        ("---\ntitle: a\ncategroy: eventi\n---\nx\n", 3, "Forse intendevi «category»?"),
        ("---\ntitle: Solo titolo\n---\ntesto\n", 1,
         "Manca la categoria (o è vuota). Aggiungi «category:» con una di: emergenze,"),
        (announcement(urgency="urgente"), 4, "Usa uno di: normal, high, emergency"),
        (announcement(publish_at="domani"), 4, "non è una data e ora valida"),
        (announcement(title="2024"), 2, "deve essere un testo"),
        (announcement(title='""'), 2, "è vuota"),
        (announcement(title=""), 2, "è vuota"),
        (announcement(cancelled="forse"), 4, "deve essere true oppure false"),
        ("---\ntitle: a\ncategory: eventi\ntitle: b\n---\nx\n", 4, "compare due volte"),
        # PyYAML would raise a bare ValueError for an impossible date.
        (announcement(publish_at="2024-13-45"), 4, "«publish_at: 2024-13-45» non è una data"),
        (announcement(expires_at="2024-04-06T25:00"), 4, "non è una data e ora valida"),
        ("---\ntitle: [[a]]\ncategory: eventi\n---\nx\n", 2, "«title: […]» deve essere un testo"),
    ],
)
def test_schema_problems_point_at_the_key(repo, text, line, expected):
    ann, problems = parse_text(repo, text)
    assert ann is None
    assert [p.rule for p in problems] == ["schema"]
    assert problems[0].line == line
    assert expected in problems[0].message


def test_unknown_key_lists_the_allowed_keys(repo):
    _, [problem] = parse_text(repo, announcement(colore="rosso"))
    assert "Forse" not in problem.message
    assert "title, category, urgency" in problem.message


@pytest.mark.parametrize(
    ("content", "rule", "line", "col"),
    [
        (b"", "empty-file", 1, 1),
        (b"  \n\n\t\n", "empty-file", 1, 1),
        (b"title: x\ncategory: eventi\n\ntesto", "front-matter-missing", 1, 1),
        (b"---\ntitle: x\ncategory: eventi\ntesto senza chiusura\n", "front-matter-unterminated",
         5, 1),
        # Where the Python loader sees the bracket left open (libyaml would say 4:1: the
        # front matter is always read by the Python loader, so every machine says 3:18).
        (b"---\ntitle: x\ncategory: [eventi\n---\ntesto\n", "yaml-syntax", 3, 18),
        (b"---\ntitle: " + b"[" * 3000 + b"]" * 3000 + b"\ncategory: eventi\n---\nx\n",
         "yaml-syntax", 1, 1),
        (b"---\ntitle: a: b\ncategory: eventi\n---\ntesto\n", "yaml-syntax", 2, 9),
        (b"---\n- title\n- category\n---\ntesto\n", "front-matter-not-mapping", 2, 1),
        (b"---\n---\ntesto\n", "front-matter-not-mapping", 1, 1),
        (b"---\ntitle: !!python/object:os.system x\ncategory: eventi\n---\nx\n", "yaml-syntax",
         2, 8),
        (b"---\n? [a, b]\n: x\ntitle: t\ncategory: eventi\n---\nx\n", "yaml-syntax", 2, 3),
        ("---\ntitle: Caffè\ncategory: eventi\n---\nCittà\n".encode("latin-1"), "encoding", 2, 12),
    ],
)
def test_broken_files_give_one_clear_problem(repo, content, rule, line, col):
    ann, problems = parse_text(repo, content)
    assert ann is None
    assert [(p.rule, p.line, p.col) for p in problems] == [(rule, line, col)]
    assert problems[0].file == "announcements/2024/2024-04-03-prova.md"


def test_bom_and_crlf_are_accepted_with_the_right_lines(repo):
    text = announcement(urgency="high", body="Riga uno\n\nRiga due")
    ann, problems = parse_text(repo, ("\ufeff" + text.replace("\n", "\r\n")).encode("utf-8"))
    assert problems == []
    assert ann.title == "Avviso di prova"
    assert ann.line("urgency") == 4 and ann.body_line == 6
    assert ann.body == "Riga uno\n\nRiga due"
    ann, _ = parse_text(repo, text.replace("\n", "\r").encode("utf-8"))  # old Mac
    assert ann.body == "Riga uno\n\nRiga due" and ann.body_line == 6


def test_a_five_megabyte_body_is_refused_without_parsing(repo):
    text = announcement(body="parola " * (5 * 1024 * 1024 // 7))
    ann, [problem] = parse_text(repo, text)
    assert ann is None and problem.rule == "file-too-large"
    assert "5120 KB" in problem.message


def test_messages_follow_the_town_language(repo):
    messages.set_language("en")
    _, [problem] = parse_text(repo, announcement(categroy="eventi"))
    assert "Did you mean “category”?" in problem.message


def test_load_all_reads_every_file_and_reports_the_broken_ones(repo):
    repo.add("2024-04-01-uno")
    repo.write("announcements/2024/2024-04-02-rotto.md", b"\xff\xfe")
    repo.add("2024-04-03-tre")
    repo.write("announcements/README.md", "istruzioni")  # not an announcement
    problems = []
    found = load_all(repo.settings(), problems)
    assert [a.id for a in found] == ["2024-04-01-uno", "2024-04-03-tre"]
    assert [(p.file, p.rule) for p in problems] == [
        ("announcements/2024/2024-04-02-rotto.md", "encoding")]


def test_load_all_without_a_folder_is_empty(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    from runner.config import load_settings

    assert load_all(load_settings()) == []


# --- when an announcement is due --------------------------------------------------------
def when(*args):
    return datetime(*args, tzinfo=ROME)


def test_without_dates_it_runs_from_the_file_date_for_the_validity_days(repo):
    ann, _ = parse_text(repo, announcement())
    assert ann.effective_publish_at == when(2024, 4, 3)
    assert ann.effective_expires_at == when(2024, 4, 10)
    assert not ann.is_due(when(2024, 4, 2, 23, 59))
    assert ann.is_due(when(2024, 4, 3)) and ann.is_due(when(2024, 4, 9, 23, 59))
    assert not ann.is_due(when(2024, 4, 10))
    assert ann.is_due(datetime(2024, 4, 3, 0, 30))  # a naive clock is town time


def test_validity_days_come_from_the_settings(repo, monkeypatch):
    monkeypatch.setenv("BANDITORE_DEFAULT_VALIDITY_DAYS", "2")
    ann, _ = parse_text(repo, announcement(publish_at="2024-04-03T12:00:00+02:00"))
    assert ann.effective_expires_at == when(2024, 4, 5, 12)


def test_an_old_file_is_never_due_in_a_new_deployment(repo):
    ann, _ = parse_text(repo, announcement(publish_at="2024-04-03T12:00:00+02:00"))
    assert not ann.is_due(when(2026, 11, 23, 9))


def test_explicit_expiry_and_cancellation(repo):
    ann, _ = parse_text(repo, announcement(publish_at="2024-04-03T12:00:00+02:00",
                                           expires_at="2024-05-01T00:00:00+02:00"))
    assert ann.effective_expires_at == when(2024, 5, 1)
    assert ann.is_due(when(2024, 4, 30))
    cancelled, _ = parse_text(repo, announcement(cancelled="true"), "2024-04-03-annullato.md")
    assert cancelled.cancelled and not cancelled.is_due(when(2024, 4, 4))


def test_a_badly_named_file_without_publish_at_is_never_due(repo):
    ann, _ = parse_text(repo, announcement(), "avviso.md")
    assert ann.effective_publish_at is None and ann.effective_expires_at is None
    assert not ann.is_due(when(2024, 4, 4))


def test_an_empty_optional_value_is_unset_as_the_staff_form_writes_it(repo):
    ann, problems = parse_text(repo, '---\ntitle: "Avviso: prova"\ncategory: eventi\n'
                               'expires_at: ""\nmedia: ""\ntemplate: ""\ncancelled: false\n'
                               'updates: ""\ncancels: ""\n---\nTesto.\n')
    assert problems == []
    assert (ann.expires_at, ann.media, ann.template) == (None, None, None)
    assert (ann.updates, ann.cancels, ann.msg_type) == (None, None, "alert")
    assert ann.effective_expires_at == ann.effective_publish_at + timedelta(days=7)


def test_the_announcement_guide_documents_exactly_the_model_keys():
    """docs/announcements.md lists the front-matter keys: the model is the one definition,
    so a key added to it (or dropped) fails here until the guide says so."""
    import re
    from pathlib import Path

    guide = (Path(__file__).resolve().parents[2] / "docs" / "announcements.md").read_text("utf-8")
    table = [line for line in guide.splitlines() if line.startswith("| `")]
    documented = {key for line in table for key in re.findall(r"`(\w+)`", line.split("|")[1])}
    assert documented == set(FRONT_MATTER_KEYS)
