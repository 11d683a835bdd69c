"""`validate` and `preview` from the command line: exit codes, formats, the job summary."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from runner import messages
from runner.announcements.formats import format_github, format_text
from runner.announcements.problems import Problem
from runner.cli import main
from tests.support.announcement_repo import PNG_RGB

ROOT = Path(__file__).resolve().parents[2]
GOOD = "announcements/2024/2024-04-03-buono.md"
BAD = "announcements/2024/2024-04-04-cattivo.md"


@pytest.fixture
def repo(repo):
    messages.set_language("it")
    repo.write("announcements/media/foto.png", PNG_RGB)
    repo.add("2024-04-03-buono", title="Strada chiusa", body="Via **Roma** chiusa.\n\nDettagli.",
             template="foto", media="announcements/media/foto.png")
    yield repo
    messages.set_language("it")


def add_bad(repo):
    repo.add("2024-04-04-cattivo", categroy="eventi", body="Info: 333 1234567")


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_clean_repo_exits_0(repo, capsys):
    code, out, _ = run(capsys, "validate")
    assert code == 0
    assert out.strip() == "1 avviso controllato: nessun problema."  # singular


def test_problems_exit_1_in_text_format(repo, capsys):
    add_bad(repo)
    code, out, _ = run(capsys, "validate")
    assert code == 1
    lines = out.strip().splitlines()
    assert lines[0] == (f"{BAD}:4:1: error[schema]: La voce «categroy» non è prevista. "
                        "Forse intendevi «category»? Voci ammesse: title, category, urgency, "
                        "publish_at, expires_at, media, template, cancelled, updates, cancels, "
                        "status, instruction.")
    assert lines[-1] == "2 avvisi controllati: 2 problemi in 1 avviso."


def test_only_the_named_paths_are_reported(repo, capsys):
    add_bad(repo)
    assert run(capsys, "validate", GOOD)[0] == 0
    assert run(capsys, "validate", "announcements/2024")[0] == 1


@pytest.mark.parametrize("argv", [["validate", "non-esiste.md"], ["preview", "non-esiste.md"],
                                  ["validate", "--format", "xml"], ["preview"]])
def test_usage_errors_exit_2(repo, capsys, argv):
    code = None
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse
        code = exc.code
    assert code == 2
    if argv[-1] == "non-esiste.md":
        assert "«non-esiste.md» non esiste" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("old", "new", "says"),
    [
        ('body = ["title", "paragraph:1", "paragraph:2"]', 'body = ["titolo"]',
         "«titolo» non esiste"),
        ('body = ["title", "paragraph:1", "paragraph:2"]',
         'body = ["title"]\nparameter_names = ["titolo", "testo"]', "2 nomi ma body ha 1"),
        ('default_template = "avviso"', 'default_template = "manca"', "nessun modello"),
        ('header = "text"', 'header = "text"\nheader_text = "oggetto"', "«oggetto» non esiste"),
        ("weekly_cap = 3", 'weekly_cap = "tanti"', "weekly_cap"),
    ],
)
def test_a_configuration_error_exits_2(repo, capsys, old, new, says):
    text = repo.root.joinpath("pyproject.toml").read_text()
    assert old in text
    repo.write("pyproject.toml", text.replace(old, new))
    code, out, err = run(capsys, "validate")
    assert code == 2 and out == ""
    assert says in err


def test_the_samples_cover_what_a_town_publishes(monkeypatch):
    from runner.announcements.validate import check
    from runner.config import DEFAULT_CATEGORIES, load_settings

    monkeypatch.chdir(ROOT)
    result = check(load_settings(now="2024-03-25T00:00:00+01:00"))
    assert result.ok and len(result.valid) == len(result.files) >= 8
    assert {a.category for a in result.valid} >= set(DEFAULT_CATEGORIES)
    assert any(a.urgency == "emergency" and result.rendered_for(a).header.kind == "image"
               for a in result.valid)
    assert any(len(result.rendered_for(a).blocks) >= 3 for a in result.valid)
    demo = load_settings(now="2024-04-03T10:00:00+02:00").current_time()
    due = [a.id for a in result.valid if a.is_due(demo)]
    future = [a.id for a in result.valid if a.effective_publish_at > demo]
    assert len(due) >= 3 and future
    for ann in result.valid:
        start = ann.effective_publish_at
        assert "2024-03-25" <= start.date().isoformat() <= "2024-04-12", ann.id


def test_github_format(repo, capsys):
    add_bad(repo)
    code, out, _ = run(capsys, "validate", "--format", "github")
    assert code == 1
    first = out.splitlines()[0]
    # The title is the rule's name in the town's language; the id closes the message.
    assert first.startswith(f"::error file={BAD},line=4,col=1,"
                            "title=Banditore%3A intestazione non valida::La voce «categroy»")
    assert first.endswith(" [schema]")
    assert re.match(r"::error file=.*,line=6,col=7,title=Banditore%3A dati personali::",
                    out.splitlines()[1])


def test_github_escaping():
    problem = Problem("dir,a:b.md", 3, 2, "rule", "50% fatto\r\nriga due")
    assert format_github(problem).replace("title=Banditore%3A rule", "title=rule").removesuffix(
        " [rule]") == (
        "::error file=dir%2Ca%3Ab.md,line=3,col=2,title=rule::50%25 fatto%0D%0Ariga due")
    assert format_text(problem) == "dir,a:b.md:3:2: error[rule]: 50% fatto\r\nriga due"


def test_json_format(repo, capsys):
    add_bad(repo)
    code, out, _ = run(capsys, "validate", "--format", "json")
    data = json.loads(out)
    assert code == 1
    assert [p["rule"] for p in data["problems"]] == ["schema", "personal-data"]
    assert data["problems"][0] == {"file": BAD, "line": 4, "col": 1, "rule": "schema",
                                   "message": data["problems"][0]["message"],
                                   "severity": "error"}
    assert data["files"] == [GOOD, BAD]
    assert data["valid"] == ["2024-04-03-buono"]
    assert data["budget"] == {"2024-W14": 1} and data["weekly_cap"] == 3


def test_step_summary_has_problems_previews_and_budget(repo, capsys, monkeypatch, tmp_path):
    add_bad(repo)
    summary = tmp_path / "summary.md"
    summary.write_text("# earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    code, _, _ = run(capsys, "validate", "--format", "github")
    text = summary.read_text(encoding="utf-8")
    assert code == 1
    assert text.startswith("# earlier step\n## Banditore: controllo degli avvisi")
    assert f"| `{BAD}` | 4:1 | Banditore: intestazione non valida | La voce «categroy»" in text
    assert f"| `{BAD}` | 6:7 | Banditore: dati personali |" in text
    assert "| settimana da lunedì 1 a domenica 7 aprile 2024 | 1/3 |" in text
    assert f"<summary><code>{GOOD}</code></summary>" in text
    assert "│ [immagine: announcements/media/foto.png]" in text
    assert "│ Via *Roma* chiusa. Dettagli." in text
    assert "parametro 2 (body) 28/1024 ok" in text


def test_text_format_does_not_write_a_summary_without_github(repo, capsys, tmp_path):
    run(capsys, "validate")
    assert not (tmp_path / "summary.md").exists()


def test_preview_shows_the_template_and_counts(repo, capsys):
    code, out, _ = run(capsys, "preview", GOOD)
    assert code == 0
    assert out.splitlines() == [
        GOOD,
        "╭─ modello foto (it) · UTILITY · APPROVED",
        "│ [immagine: announcements/media/foto.png]",
        "│ 📢 *Strada chiusa*",
        "│",
        "│ Via *Roma* chiusa. Dettagli.",
        "│",
        "│ Comune di Prova.",
        "│ piè di pagina: Per cancellarti scrivi MI CANCELLO",
        "╰─",
        "Caratteri: parametro 1 (title) 13/1024 ok · parametro 2 (body) 28/1024 ok · "
        "corpo (testo fisso + parametri) 65/1024 ok · piè di pagina 34/60 ok",
        "Nota: Parametro 2 (body): 2 righe/paragrafi uniti in una sola riga, perché WhatsApp "
        "non ammette a capo nei parametri dei modelli.",
    ]


def test_preview_is_the_whole_bubble_in_english(repo, capsys, monkeypatch):
    monkeypatch.setenv("BANDITORE_LANGUAGE", "en")
    path = repo.add("2024-04-05-testo", body="Riga *uno*\n\n- a\n- b")
    code, out, _ = run(capsys, "preview", str(path))
    assert code == 0
    assert ("╭─ template avviso (it) · UTILITY · APPROVED\n"
            "│ 📢 *Avviso di prova*\n│\n│ Riga _uno_: a; b.\n│\n│ Comune di Prova.\n"
            "│ footer: Per cancellarti scrivi MI CANCELLO\n╰─\n") in out
    assert "Characters: parameter 1 (title) 15/1024 ok" in out
    assert "body (fixed text + parameters) 56/1024 ok · footer 34/60 ok" in out


def test_preview_without_a_template_says_why_it_cannot_go_out(repo, capsys):
    pyproject = repo.root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('default_template = "avviso"\n', ""))
    path = repo.add("2024-04-05-testo", body="Riga *uno*")
    code, out, _ = run(capsys, "preview", str(path))
    assert code == 1
    assert "╭─ testo libero (senza modello)\n│ *Avviso di prova*\n│\n│ Riga _uno_\n╰─" in out
    assert "error[template-required]" in out


def test_preview_lists_the_problems_and_exits_1(repo, capsys):
    add_bad(repo)
    code, out, _ = run(capsys, "preview", BAD)
    assert code == 1
    assert "Problemi da correggere prima della pubblicazione:" in out
    assert f"{BAD}:6:7: error[personal-data]:" in out


def test_real_command_in_a_subprocess(repo):
    add_bad(repo)
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "runner", "validate", "--format", "github"],
                          cwd=repo.root, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stderr
    assert done.stdout.count("::error ") == 2


def test_the_shipped_samples_are_valid():
    # From the first sample's date, so every rule applies to every sample.
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT),
           "BANDITORE_NOW": "2024-03-25T00:00:00+01:00"}
    done = subprocess.run([sys.executable, "-m", "runner", "validate"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


# --- one round: every problem of a file at once (issue 25) ------------------------------

def rules_of(capsys, *argv):
    code, out, _ = run(capsys, "validate", "--format", "json", *argv)
    return code, sorted(p["rule"] for p in json.loads(out)["problems"])


def test_a_missing_category_still_reports_the_body_length_and_shows_the_bubble(repo, capsys):
    path = repo.write("announcements/2024/2024-04-05-senza.md",
                      "---\ntitle: Senza categoria\n---\n" + "parola " * 200 + "\n")
    code, rules = rules_of(capsys, str(path))
    assert (code, rules) == (1, ["length", "schema"])
    code, out, _ = run(capsys, "preview", str(path))
    assert "Manca la categoria" in out and "Usa una di" not in out
    assert "emergenze, protezione-civile" in out  # the categories to choose from
    assert "*Senza categoria*" in out and "parola parola" in out  # the bubble, as known


def test_a_wrong_file_name_does_not_hide_the_rest(repo, capsys):
    path = repo.write("announcements/2024/Avviso_strano.md", (
        "---\ntitle: Prova\ncategory: evento\nurgency: alta\npublish_at: ieri\n---\n"
        "Chiama il 347.123.45.67 o vai su https://example.com\n"))
    code, rules = rules_of(capsys, str(path))
    assert code == 1
    assert rules == ["category", "file-name", "link-domain", "personal-data", "schema",
                     "schema"]


def test_an_old_file_reports_everything_without_a_clock_override(repo, capsys, monkeypatch):
    # No `now` (the real clock): a file of 2024 is long expired.
    text = (repo.root / "pyproject.toml").read_text()
    (repo.root / "pyproject.toml").write_text(
        "\n".join(line for line in text.splitlines() if not line.startswith("now =")))
    path = repo.add("2024-04-06-vecchio", category="evento", body="Tel. 347 1234567")
    code, rules = rules_of(capsys, str(path))
    assert (code, rules) == (1, ["category", "expired", "personal-data"])


def test_one_long_body_is_one_problem(repo, capsys):
    path = repo.add("2024-04-06-lungo", body="parola " * 300)
    code, out, _ = run(capsys, "validate", str(path))
    [line] = [line for line in out.splitlines() if "error[" in line]
    assert "togline almeno" in line and "il più lungo è parametro 2 (body)" in line


def test_a_title_that_says_rettifica_is_not_printed_twice(repo, capsys):
    repo.add("2024-04-02-originale")
    path = repo.add("2024-04-06-rettifica", title='"Rettifica: orari"',
                    updates="2024-04-02-originale")
    code, out, _ = run(capsys, "preview", str(path))
    assert code == 0  # a warning: it goes out
    assert "*RETTIFICA: orari*" in out and "Rettifica: orari*" not in out.replace(
        "RETTIFICA: orari", "")
    warnings = out.split("Da sapere (non blocca la pubblicazione):")[1]
    assert "warning[title-label]" in warnings
    assert "Problemi da correggere" not in out


def test_the_weekly_cap_speaks_of_every_urgency_and_of_weeks_as_dates(repo, capsys):
    for day in ("01", "02", "03"):
        repo.add(f"2024-04-{day}-avviso")
    path = repo.add("2024-04-05-quarto", urgency="high")
    code, out, _ = run(capsys, "validate", str(path))
    assert "non urgente" not in out and "W14" not in out
    assert "della settimana da lunedì 1 a domenica 7 aprile 2024 che conta nel tetto" in out
