"""The reviewer's block (step summary and pull request comment), the counts file it
reads, GitHub's annotation limit and the Italian plurals."""

from __future__ import annotations

import json

import pytest

from runner.announcements.formats import format_result
from runner.announcements.report import report_result
from runner.announcements.review import human_duration
from runner.announcements.summaries import step_summary
from runner.announcements.validate import check
from runner.cli import main
from tests.support.announcement_repo import announcement

COUNTS = {"generated_at": "2024-03-31T10:00:00+02:00", "active": 1200,
          "sent": {"2024-04-02-gia-inviato": 37}, "templates": {}}


@pytest.fixture
def repo(repo):
    repo.write("banditore-counts.json", json.dumps(COUNTS))
    return repo


def summary_for(repo, *paths, fmt="text") -> str:
    result = check(repo.settings(), [repo.root / p for p in paths])
    return step_summary(result, repo.settings(), fmt)


def test_due_in_quiet_hours_shows_when_it_really_goes_out(repo):
    repo.add("2024-04-03-sera", publish_at="2024-04-03T22:30:00+02:00")
    text = summary_for(repo, "announcements/2024/2024-04-03-sera.md")
    assert "### Per chi approva" in text
    assert ("| Quando parte | 03/04/2024 22:30 è in ore di silenzio: parte il 04/04/2024 08:00 |"
            in text)
    assert "| Scade | 10/04/2024 22:30 |" in text
    assert "| Categoria e urgenza | info-comune · normale |" in text
    assert "| Modello WhatsApp | `avviso` · UTILITY |" in text
    assert "| Destinatari | 1200 iscritti attivi (ultimo dato: 2024-03-31T10:00:00+02:00) |" in text
    assert "| Durata stimata | 15 s a 80 messaggi/s |" in text
    assert "| Costo stimato | ≈ 36,00 USD (al prezzo di un messaggio di servizio (UTILITY)) |" \
        in text


def test_quiet_hours_past_expiry_is_an_error_with_the_times(repo):
    repo.add("2024-04-03-notte", publish_at="2024-04-03T23:00:00+02:00",
             expires_at="2024-04-04T07:30:00+02:00")
    result = check(repo.settings(), [repo.root / "announcements/2024/2024-04-03-notte.md"])
    assert [p.rule for p in result.problems] == ["quiet-hours"]
    assert "partirebbe solo il 04/04 08:00, ma scade il 04/04 07:30" in result.problems[0].message


def test_over_the_cap_lists_the_announcements_that_use_the_week(repo):
    for day in ("01", "02", "03"):
        repo.add(f"2024-04-{day}-avviso")
    repo.add("2024-04-04-quarto")
    text = summary_for(repo, "announcements/2024/2024-04-04-quarto.md")
    assert ("| Tetto della settimana da lunedì 1 a domenica 7 aprile 2024 | 4/3 ⚠️: "
            "`2024-04-01-avviso`, `2024-04-02-avviso`, `2024-04-03-avviso`, "
            "`2024-04-04-quarto` |") in text
    assert ("> ⚠️ Nella settimana da lunedì 1 a domenica 7 aprile 2024 contano nel tetto "
            "4 avvisi, oltre il massimo di 3") in text
    assert "4° avviso" in text  # and the weekly-cap problem itself


def test_an_emergency_does_not_use_the_week(repo):
    repo.add("2024-04-03-allerta", category="allerta-meteo", urgency="emergency",
             publish_at="2024-04-03T23:00:00+02:00")
    text = summary_for(repo, "announcements/2024/2024-04-03-allerta.md")
    assert "| Quando parte | 03/04/2024 23:00 |" in text  # emergencies ignore quiet hours
    assert "| Tetto settimanale | non conta (emergenza) |" in text


def test_an_edit_after_sending_warns_with_the_count_and_nothing_is_resent(repo):
    repo.add("2024-04-02-gia-inviato", body="Testo corretto.")
    result = check(repo.settings(), [repo.root / "announcements/2024/2024-04-02-gia-inviato.md"])
    assert result.ok and [p.rule for p in result.warnings] == ["already-sent"]
    assert len(result.valid) == 1  # a warning never stops it
    text = step_summary(result, repo.settings())
    assert "> ⚠️ Questo avviso è già stato inviato a 37 cittadini: una modifica al file non " \
           "arriverà a loro (nulla viene reinviato)." in text
    # Said once, by the block, next to the figures: not among the problems to fix.
    assert "Banditore: avviso già inviato" not in text and "Problemi da correggere" not in text
    assert text.splitlines()[2] == "1 avviso controllato: nessun problema. Da leggere: " \
                                   "1 avvertenza."


def test_without_the_counts_file_the_audience_is_unknown(repo):
    (repo.root / "banditore-counts.json").unlink()
    repo.add("2024-04-03-avviso")
    text = summary_for(repo, "announcements/2024/2024-04-03-avviso.md")
    assert "| Destinatari | non noti: manca banditore-counts.json" in text
    assert "Durata stimata" not in text and "Costo stimato" not in text


def test_the_whole_repository_has_no_reviewer_block(repo):
    repo.add("2024-04-03-avviso")
    assert "Per chi approva" not in step_summary(check(repo.settings()), repo.settings())


def test_review_dir_writes_the_comment_and_the_bubbles(repo, capsys):
    path = repo.add("2024-04-03-avviso", body="Via **Roma** chiusa.")
    assert main(["validate", "--review-dir", "review", str(path)]) == 0
    comment = (repo.root / "review" / "review.md").read_text(encoding="utf-8")
    assert comment.startswith("<!-- banditore-review -->\n## Banditore: controllo della richiesta")
    assert "| Destinatari | 1200 iscritti attivi" in comment
    assert "│ Via *Roma* chiusa." in comment
    page = (repo.root / "review" / "bubbles.html").read_text(encoding="utf-8")
    assert '<div class="wa-bubble">' in page and "<strong>Roma</strong>" in page


def test_github_annotates_ten_errors_and_the_summary_lists_all(repo, tmp_path):
    body = "\n\n".join(f"Chiama il 333 12345{i:02d}." for i in range(14))
    path = repo.write("announcements/2024/2024-04-03-tanti.md", announcement(body=body))
    result = check(repo.settings(), [path])
    assert len(result.errors) == 14
    lines = format_result(result, "github").splitlines()
    assert sum(line.startswith("::error ") for line in lines) == 10
    assert sum(": error[personal-data]:" in line for line in lines) == 4  # plain lines
    summary = tmp_path / "summary.md"
    report_result(result, repo.settings(), "github", {"GITHUB_STEP_SUMMARY": str(summary)})
    text = summary.read_text(encoding="utf-8")
    assert "al massimo 10 errori e 10 avvertenze per passo: 4 qui sotto non sono segnati" in text
    assert text.count("| Banditore: dati personali |") == 14
    assert lines[-1] == "1 avviso controllato: 14 problemi in 1 avviso."


def test_annotation_titles_follow_the_town_language(repo, monkeypatch):
    from runner import messages

    path = repo.add("2024-04-03-avviso", category="evento")
    messages.set_language("en")
    try:
        out = format_result(check(repo.settings(), [path]), "github")
    finally:
        messages.set_language("it")
    assert "title=Banditore%3A unknown category::" in out


@pytest.mark.parametrize(("seconds", "shown"), [(0.4, "0.4 s"), (42, "42 s"), (185, "3 min 05 s"),
                                                (7830, "2 h 10 min")])
def test_durations_read_as_people_say_them(seconds, shown):
    assert human_duration(seconds) == shown


def test_the_audience_is_the_topics_the_originals_or_the_staff_group(repo):
    repo.write("banditore-counts.json", json.dumps(
        {**COUNTS, "audiences": {"eventi": 300, "allerta-meteo": 1200}}))
    repo.add("2024-04-03-sagra", category="eventi")
    repo.add("2024-04-03-rettifica", category="info-comune", updates="2024-04-02-gia-inviato",
             publish_at="2024-04-03T12:00:00+02:00")
    repo.add("2024-04-02-gia-inviato", category="info-comune")
    repo.add("2024-04-03-prova", category="allerta-meteo", status="exercise")
    settings = repo.settings(test_recipients=["393471234567", "393401234567"])
    result = check(settings, [repo.root / f"announcements/2024/2024-04-03-{name}.md"
                              for name in ("sagra", "rettifica", "prova")])
    text = step_summary(result, settings)
    assert "| Destinatari | 300 iscritti attivi ricevono «eventi» (ultimo dato:" in text
    assert ("| Destinatari | 37 cittadini hanno ricevuto l'originale, e solo a loro va"
            in text)
    assert ("| Destinatari | 2 numeri del gruppo di prova dello staff (esercitazione, "
            "nessun cittadino) |") in text
    assert "| Tetto settimanale | non conta (esercitazione) |" in text
    assert "| Durata stimata | 3.8 s a 80 messaggi/s |" in text  # 300, not the 1200 active


def test_who_cannot_be_reached_is_counted_with_the_reason_and_left_out_of_the_estimate(repo):
    repo.write("banditore-counts.json", json.dumps({**COUNTS, "audiences": {
        "eventi": {"members": 300, "unreachable": {"no_phone_number": 20}}}}))
    repo.add("2024-04-03-sagra", category="eventi")
    text = summary_for(repo, "announcements/2024/2024-04-03-sagra.md")
    assert ("| Destinatari | 300 iscritti attivi ricevono «eventi» (ultimo dato: "
            "2024-03-31T10:00:00+02:00); 20 di loro non sono raggiungibili: 20 per nessun "
            "numero e nessun identificativo WhatsApp (BSUID) noto |") in text
    assert "| Durata stimata | 3.5 s a 80 messaggi/s |" in text  # the 280 who can be


def test_figures_older_than_a_day_are_marked_as_old(repo):
    repo.write("banditore-counts.json", json.dumps(
        {**COUNTS, "generated_at": "2024-03-28T10:00:00+02:00"}))
    repo.add("2024-04-03-sagra", category="eventi")
    text = summary_for(repo, "announcements/2024/2024-04-03-sagra.md")
    assert ("1200 iscritti attivi (ultimo dato: 2024-03-28T10:00:00+02:00) ⚠️ dati vecchi: "
            "calcolati il 2024-03-28T10:00:00+02:00, 3 giorni fa") in text


def test_a_file_with_errors_does_not_go_out_nor_take_a_place_in_the_week(repo):
    for day in ("01", "02"):
        repo.add(f"2024-04-{day}-avviso")
    repo.add("2024-04-03-rotto", category="evento")
    repo.add("2024-04-04-buono")
    text = summary_for(repo, "announcements/2024/2024-04-03-rotto.md",
                       "announcements/2024/2024-04-04-buono.md")
    rotto, buono = text.split("#### `2024-04-03-rotto`")[1].split("#### `2024-04-04-buono`")
    assert ("| Quando parte | non parte finché non sono corretti i problemi segnalati "
            "(era previsto: 03/04/2024 00:00") in rotto
    assert "| Tetto settimanale | non conta finché non è corretto" in rotto
    # The good one is the third of three, not the fourth: the broken one is not counted.
    assert ("| 3/3: `2024-04-01-avviso`, `2024-04-02-avviso`, `2024-04-04-buono` |"
            in buono)
    assert "| `announcements/2024/2024-04-04-buono.md` |" not in text  # no problem
    assert "| Quando parte | 04/04/2024 00:00" in buono


def rendered_text(markdown: str) -> str:
    """What GitHub would interpret: the comment without fenced blocks and code spans,
    where nothing is (no HTML, no link, no mention)."""
    import re

    markdown = re.sub(r"(?ms)^(`{3,})text$.*?^\1$", "", markdown)
    return re.sub(r"(`+)(?!`).*?(?<!`)\1(?!`)", "", markdown)


def test_what_comes_from_the_file_is_inert_in_the_comment(repo):
    title = "@octocat <img src=x onerror=alert(1)> [clicca](https://evil.example)"
    repo.add("2024-04-03-trappola", title=f'"{title}"')
    result = check(repo.settings(), [repo.root / "announcements/2024/2024-04-03-trappola.md"])
    from runner.announcements.summaries import pull_request_comment

    comment = pull_request_comment(result, repo.settings())
    shown = rendered_text(comment)
    assert "@octocat" not in shown and "<img" not in shown
    assert "](https://" not in shown and "https://evil" not in shown
    heading = next(line for line in comment.splitlines() if line.startswith("#### "))
    assert heading == ("#### `2024-04-03-trappola` — @\u2060octocat &lt;img src=x "
                       "onerror=alert(1)&gt; \\[clicca\\](https:\u2060//evil.example)")
    # The bubble, in its fenced block, reads as the citizen reads it.
    assert f"│ Avviso del Comune di Prova: *{title}*" not in comment  # (template text)
    assert f"*{title}*" in comment.split("````text")[1]


def test_a_file_name_cannot_break_out_of_the_preview_summary(repo):
    name = "announcements/2024/2024-04-03-a`b<img src=x>@x.md"
    repo.write(name, announcement())
    result = check(repo.settings(), [repo.root / name])
    from runner.announcements.summaries import pull_request_comment

    comment = pull_request_comment(result, repo.settings())
    shown = rendered_text(comment)
    assert "<img" not in shown and "@x" not in shown
    assert "``announcements/2024/2024-04-03-a`b<img src=x>@x.md``" in comment  # as code
    assert ("<summary><code>announcements/2024/2024-04-03-a`b&lt;img src=x&gt;@\u2060x.md"
            "</code></summary>") in comment
