"""Every policy rule, each with good and bad cases, through runner.validate.check."""

import json

import pytest

from runner.announcements.personal_data import find_phones
from runner.announcements.rules.registry import rule_ids
from runner.announcements.validate import check
from tests.support.announcement_repo import CATALOGUE, PNG_RGB, announcement, png

TARGET = "announcements/2024/2024-04-03-prova.md"


def problems_for(repo, fields):
    """Write the announcement described by ``fields`` (plus any ``_files``) and check it.

    Special keys: ``_path`` (where it goes), ``_files`` ({path: text or bytes}),
    ``_settings`` (overrides)."""
    fields = dict(fields)
    for rel, content in fields.pop("_files", {}).items():
        repo.write(rel, content)
    overrides = fields.pop("_settings", {})
    path = repo.write(fields.pop("_path", TARGET), announcement(**fields))
    return check(repo.settings(**overrides), [path]).problems


def week_of_three(extra=None):
    """Three non-emergency announcements already in week 14 (the test cap is 3)."""
    files = {f"announcements/2024/2024-04-0{d}-altro-{d}.md": announcement() for d in (1, 2)}
    files["announcements/2024/2024-04-02-terzo.md"] = announcement(**(extra or {}))
    return files


ORIGINAL = "announcements/2024/2024-04-02-originale.md"
STAFF = {"test_recipients": ["393331112222"]}


def chain(**original):
    """The original of a correction or withdrawal (2 April), and what else is given."""
    return {ORIGINAL: announcement(**original)}


MEDIA = "announcements/media/foto.png"
BIG_PNG = b"\x89PNG\r\n\x1a\n" + bytes(5 * 1024 * 1024)

GOOD = [
    ("category", {"category": "eventi"}),
    ("emergency-category", {"category": "allerta-meteo", "urgency": "emergency"}),
    ("emergency-category", {"category": "eventi", "urgency": "high"}),
    ("weekly-cap", {"_files": week_of_three(), "category": "emergenze", "urgency": "emergency"}),
    ("weekly-cap", {"_files": week_of_three(), "_path": "announcements/2024/2024-04-08-prova.md"}),
    ("weekly-cap", {"_files": week_of_three(), "_settings": {"weekly_cap": 4}}),
    ("expiry", {"publish_at": "2024-04-03T10:00:00+02:00", "expires_at": "2024-04-03T10:01"}),
    ("expiry", {"expires_at": "2024-04-03T08:01:00+02:00"}),
    ("expired", {"_path": "announcements/2024/2024-03-31-prova.md"}),  # until 7 April
    ("file-name", {"_path": "announcements/2024/2024-04-03-chiusura-via-roma-2.md"}),
    ("file-date", {"publish_at": "2024-04-03T23:59:00+02:00"}),
    ("file-date", {"publish_at": "2024-04-02T22:30:00+00:00"}),  # 00:30 on the 3rd in Rome
    ("year-folder", {"_path": "announcements/2024/2024-12-31-prova.md"}),
    ("duplicate-id", {"_files": {"announcements/2024/2024-04-03-altro.md": announcement()}}),
    ("template", {"template": "avviso"}),
    ("template", {"template": "parti", "body": "Uno.\n\nDue."}),
    ("template-header", {"template": "foto", "media": MEDIA, "_files": {MEDIA: PNG_RGB}}),
    ("template-header", {"template": "avviso"}),
    ("length", {"body": "x" * 950}),
    ("media", {"template": "foto", "media": MEDIA, "_files": {MEDIA: PNG_RGB}}),
    ("media", {"template": "foto", "media": MEDIA, "_files": {MEDIA: png(8, 6)}}),
    ("media", {"template": "foto", "media": "announcements/media/a.jpg",
               "_files": {"announcements/media/a.jpg": b"\xff\xd8\xff\xe0" + bytes(100)}}),
    ("media", {"template": "foto", "media": "https://www.comune.prova.it/foto.jpg"}),
    ("media", {"template": "foto", "media": "https://x.gov.it/a.jpg"}),
    ("link-domain", {"body": "Vedi https://www.comune.prova.it/tari e www.comune.prova.it."}),
    ("link-domain", {"body": "[Protezione civile](https://rischi.protezionecivile.gov.it/x)."}),
    ("link-domain", {"body": "Scrivi a <protocollo@comune.prova.it>."}),
    ("link-domain", {"body": "Sul sito comune.prova.it/tari; il modulo.pdf, Sig.ra Rossi, ecc."}),
    ("personal-data", {"body": "Ufficio: 0721 123456 o +39 0721-123456."}),
    ("personal-data", {"body": "[Chiama l'ufficio](tel:+390721123456)"}),
    ("personal-data", {"body": "Numero verde 800 123 456, emergenze 112."}),
    ("personal-data", {"body": "Dal 03.04.2024 al 10/04/2024, ore 10.30-12.00."}),
    ("personal-data", {"body": "Aperto alle ore 08 12 14 18; anni 2023-2024 e 2024/2025."}),
    ("personal-data", {"body": "Stanziati € 3.500.000 e 1.200.000 euro; CAP 24040."}),
    ("personal-data", {"body": "Comune, P.IVA 01234567890, C.F. 80012345678."}),
    ("personal-data", {"body": "Prot. n. 0012345/2024 del 2 aprile."}),
    ("personal-data", {"body": "PEC protocollo@pec.comune.prova.it, URP urp@interno.gov.it."}),
    ("personal-data", {"body": "Paga con pagoPA: codice avviso 301000000012345678."}),
    ("personal-data", {"title": "Caratteristicamente straordinario"}),
    ("markup", {"body": "## Orari\n\n- lunedì: 9-12\n\nDomande? <https://www.comune.prova.it>"}),
    ("markup", {"body": "Se a < b e c > d, il modulo <mailto:urp@comune.prova.it> vale."}),
    ("template-required", {"template": "avviso"}),
    ("template-approved", {"template": "parti", "body": "Uno.\n\nDue."}),
    ("template-text", {"template": "titolo"}),
    ("template-length", {"body": "x" * 950}),
    ("already-sent", {"_files": {"banditore-counts.json": '{"active": 9, "sent": {"x": 3}}'}}),
    ("quiet-hours", {"publish_at": "2024-04-03T22:00:00+02:00",
                     "expires_at": "2024-04-04T12:00:00+02:00"}),
    ("quiet-hours", {"publish_at": "2024-04-03T22:00:00+02:00", "category": "allerta-meteo",
                     "urgency": "emergency", "expires_at": "2024-04-03T23:00:00+02:00"}),
    ("lifecycle-reference", {"_files": chain(), "updates": "2024-04-02-originale"}),
    ("lifecycle-reference", {"_files": chain(), "cancels": "2024-04-02-originale"}),
    ("lifecycle-withdrawn", {"_files": chain(), "cancels": "2024-04-02-originale"}),
    ("lifecycle-category", {"_files": chain(category="eventi"), "category": "eventi",
                            "updates": "2024-04-02-originale"}),
    ("exercise-recipients", {"status": "exercise", "_settings": STAFF}),
    ("exercise-recipients", {"status": "actual"}),
    ("title-label", {"_files": chain(), "title": "Nuovi orari", "updates": "2024-04-02-originale"}),
    ("title-label", {"title": "\"Rettifica: i dati di marzo\""}),  # not a correction: kept
    # A correction of an emergency goes out in quiet hours like the emergency.
    ("quiet-hours", {"_files": chain(category="allerta-meteo", urgency="emergency"),
                     "category": "allerta-meteo", "updates": "2024-04-02-originale",
                     "publish_at": "2024-04-03T22:00:00+02:00",
                     "expires_at": "2024-04-03T23:00:00+02:00"}),
    # Drills, and corrections of emergencies, are outside the weekly cap.
    ("weekly-cap", {"_files": week_of_three(), "status": "test", "_settings": STAFF}),
    ("weekly-cap", {"_files": {**week_of_three(), **chain(category="emergenze",
                                                         urgency="emergency")},
                    "category": "emergenze", "updates": "2024-04-02-originale"}),
]

BAD = [
    ("category", {"category": "evento"}, "Forse intendevi «eventi»?"),
    ("category", {"category": "Eventi"}, "Usa una di: emergenze"),
    ("emergency-category", {"category": "eventi", "urgency": "emergency"}, "allerta-meteo"),
    ("weekly-cap", {"_files": week_of_three()}, "4° avviso"),
    ("weekly-cap", {"_files": week_of_three({"cancelled": "true"})},
     "settimana da lunedì 1 a domenica 7 aprile 2024"),
    # Sunday 23:30 UTC is Monday in Rome: week 15 here, so it takes week 15's budget...
    ("weekly-cap", {"_files": {f"announcements/2024/2024-04-08-a{i}.md": announcement()
                               for i in range(3)},
                    "_path": "announcements/2024/2024-04-08-prova.md",
                    "publish_at": "2024-04-07T23:30:00+00:00"}, "da lunedì 8 a domenica 14"),
    ("expiry", {"publish_at": "2024-04-03T10:00:00+02:00", "expires_at": "2024-04-03T10:00"},
     "Scadrebbe il 3 aprile 2024 alle 10:00, non dopo l'uscita del 3 aprile 2024 alle 10:00"),
    ("expiry", {"expires_at": "2024-04-02T23:00:00+02:00"}, "expires_at"),
    ("expired", {"_path": "announcements/2024/2024-03-20-prova.md"},
     "scaduto il 27 marzo 2024 alle 00:00"),
    ("expired", {"publish_at": "2024-04-03T10:00:00+02:00",
                 "expires_at": "2024-03-31T10:00:00+02:00"}, "non verrà mai inviato"),
    ("file-name", {"_path": "announcements/2024/Avviso Prova.md"}, "AAAA-MM-GG"),
    ("file-name", {"_path": "announcements/2024/2024-04-03_prova.md"}, "2024-04-03_prova.md"),
    ("file-name", {"_path": "announcements/2024/2024-02-30-prova.md"}, "AAAA-MM-GG"),
    ("file-date", {"publish_at": "2024-04-05T10:00:00+02:00"},
     "indica il 3 aprile 2024 ma publish_at è il 5 aprile 2024"),
    ("file-date", {"publish_at": "2024-04-03T22:30:00+00:00"}, "4 aprile 2024"),
    ("year-folder", {"_path": "announcements/2023/2024-04-03-prova.md"}, "announcements/2024/"),
    ("year-folder", {"_path": "announcements/2024-04-03-prova.md"}, "announcements/2024/"),
    ("duplicate-id", {"_files": {"announcements/2024/vecchi/2024-04-03-prova.md":
                                 announcement()}}, "vecchi/2024-04-03-prova.md"),
    ("template", {"template": "inesistente"}, "non è configurato"),
    ("template", {"template": "parti", "body": "Un solo paragrafo."}, "paragraph:2"),
    ("template-header", {"template": "foto"}, "richiede un allegato di tipo image"),
    ("template-header", {"template": "titolo", "media": MEDIA, "_files": {MEDIA: PNG_RGB}},
     "non ha un'intestazione con allegato"),
    ("length", {"template": "titolo", "title": "Lavori " * 11}, "intestazione (title)"),
    ("template-header", {"media": MEDIA, "_files": {MEDIA: PNG_RGB}}, "non verrebbe inviato"),
    ("template-header", {"template": "foto", "media": "announcements/media/a.pdf",
                         "_files": {"announcements/media/a.pdf": b"%PDF-1.4"}}, "document"),
    ("length", {"body": "x" * 1030}, "togline almeno 45 (il più lungo è parametro 2 (body), 1030"),
    ("length", {"title": "t" * 30, "body": "x" * 1000}, "corpo (testo fisso + parametri) ha 1054"),
    ("length", {"body": "x" * 4100, "_settings": {"default_template": None}}, "4096"),
    ("markup", {"body": "| giorno | orario |\n|---|---|\n| lun | 9-12 |"}, "tabelle"),
    ("markup", {"body": "Testo\n\n<b>importante</b>"}, "HTML <b>"),
    ("markup", {"body": "Vedi <span style='color:red'>qui</span>."}, "HTML <span>"),
    ("markup", {"body": "### Orari\n\ntesto"}, "livello 3"),
    ("template-required", {"_settings": {"default_template": None}}, "template: NOME"),
    ("template-approved", {"_files": {"templates.toml": ""}}, "non è nel catalogo"),
    ("template-approved", {"_files": {"templates.toml": CATALOGUE.replace(
        'name = "avviso"\nlanguage = "it"\n', 'name = "avviso"\nlanguage = "it"\n'
        'status = "PAUSED"\n')}}, "stato PAUSED"),
    ("template-approved", {"_files": {"templates.toml": CATALOGUE.replace(
        'name = "avviso"\nlanguage = "it"\n', 'name = "avviso"\nlanguage = "it"\n'
        'category = "MARKETING"\n')}}, "MARKETING"),
    ("template-approved", {"_files": {"banditore-counts.json": json.dumps(
        {"active": 5, "templates": {"avviso:it": {"category": "MARKETING"}}})}}, "MARKETING"),
    ("template-text", {"template": "parti", "body": "Uno.\n\nDue.", "_files": {
        "templates.toml": CATALOGUE.replace("{{2}}\\n\\n{{3}}", "{{2}}")}}, "2 segnaposto"),
    ("template-text", {"_files": {"templates.toml": CATALOGUE.replace(
        "Per cancellarti scrivi MI CANCELLO", "Comune di Prova")}}, "MI CANCELLO"),
    ("template-text", {"template": "foto", "media": MEDIA, "_files": {
        MEDIA: PNG_RGB, "templates.toml": CATALOGUE.replace('header = "IMAGE"',
                                                            'header = "VIDEO"')}}, "VIDEO"),
    ("template-length", {"body": "x" * 1000}, "corpo (testo fisso + parametri) ha 10"),
    ("template-length", {"template": "titolo", "title": "Chiusura " * 6, "_files": {
        "templates.toml": CATALOGUE.replace('header_text = "{{1}}"',
                                            'header_text = "Comune di Prova: {{1}}"')}},
     "intestazione ha 70"),
    ("already-sent", {"_files": {"banditore-counts.json": json.dumps(
        {"active": 40, "sent": {"2024-04-03-prova": 37}})}}, "già stato inviato a 37"),
    ("quiet-hours", {"publish_at": "2024-04-03T22:00:00+02:00",
                     "expires_at": "2024-04-04T07:00:00+02:00"}, "partirebbe solo il 04/04 08:00"),
    ("length", {"body": "x" * 1100, "media": MEDIA, "_files": {MEDIA: PNG_RGB},
                "_settings": {"default_template": None}}, "didascalia"),
    ("media", {"template": "foto", "media": "announcements/media/manca.png"}, "non esiste"),
    ("media", {"template": "foto", "media": "../fuori.png", "_files": {"../fuori.png": PNG_RGB}},
     "fuori dal repository"),
    ("media", {"template": "foto", "media": "/etc/passwd"}, "fuori dal repository"),
    ("media", {"template": "foto", "media": "announcements/media/a.gif",
               "_files": {"announcements/media/a.gif": b"GIF89a"}}, "Tipi ammessi"),
    ("media", {"template": "foto", "media": MEDIA, "_files": {MEDIA: BIG_PNG}}, "5 MB"),
    ("media", {"template": "foto", "media": MEDIA, "_files": {MEDIA: b"\xff\xd8\xff jpeg"}},
     "non corrisponde"),
    ("media", {"template": "foto", "media": MEDIA, "_files": {MEDIA: png(8, 3)}}, "RGB/RGBA"),
    ("media", {"template": "foto", "media": MEDIA, "_files": {MEDIA: png(16, 2)}}, "8 bit"),
    ("media", {"template": "foto", "media": "http://www.comune.prova.it/a.jpg"}, "https://"),
    ("media", {"template": "foto", "media": "https://example.com/a.jpg"}, "example.com"),
    ("link-domain", {"body": "Iscriviti su https://example.com/form."}, "example.com"),
    ("link-domain", {"body": "Seguici su www.facebook.com/comune"}, "www.facebook.com"),
    ("link-domain", {"body": "[qui](https://comune.prova.it.truffa.com/x)"}, "truffa.com"),
    ("link-domain", {"body": "[il modulo](modulo.pdf)"}, "non è un indirizzo completo"),
    ("link-domain", {"body": "Vedi [sopra](#orari)"}, "«#orari»"),
    ("link-domain", {"title": "Vai su https://bit.ly/abc"}, "bit.ly"),
    ("link-domain", {"body": "Moduli su moduli-comune.com/tari."}, "moduli-comune.com"),
    ("link-domain", {"body": "Vedi Bit.ly/xyz (breve)"}, "bit.ly"),
    ("personal-data", {"body": "Chiama Mario al 333 1234567."}, "cellulare"),
    ("personal-data", {"body": "Tel. +39 347 123 4567"}, "cellulare"),
    ("personal-data", {"body": "Tel. 0039 3471234567"}, "cellulare"),
    ("personal-data", {"body": "oppure 347.1234567"}, "cellulare"),
    ("personal-data", {"body": "Chiama il +44 7700 900123"}, "cellulare"),
    ("personal-data", {"body": "Tel. 035 123456"}, "allowed_phone_numbers"),
    ("personal-data", {"body": "Tel: 06 1234 5678"}, "allowed_phone_numbers"),
    ("personal-data", {"body": "cell. (+39) 347-1234567"}, "cellulare"),
    ("personal-data", {"body": "Tel. 0721/654321"}, "allowed_phone_numbers"),
    ("personal-data", {"body": "[Chiama](tel:+393471234567)"}, "cellulare"),
    ("personal-data", {"body": "ore 10 0721 654321"}, "allowed_phone_numbers"),
    ("personal-data", {"body": "Scrivi a mario.rossi@gmail.com"}, "gmail.com"),
    ("personal-data", {"body": "[Scrivi](mailto:m.rossi@libero.it)"}, "libero.it"),
    ("personal-data", {"body": "Intestato a RSSMRA80A01H501U."}, "codice fiscale"),
    ("personal-data", {"body": "cf rssmra80a01h501u"}, "codice fiscale"),
    ("personal-data", {"body": "IBAN IT60 X054 2811 1010 0000 0123 456"}, "IBAN"),
    ("personal-data", {"body": "IBAN IT60X0542811101000000123456"}, "IBAN"),
    ("personal-data", {"body": "IBAN DE89370400440532013000"}, "IBAN"),
    ("title-label", {"_files": chain(), "title": "\"Rettifica: nuovi orari\"",
                     "updates": "2024-04-02-originale"}, "«RETTIFICA: Rettifica…»"),
    ("lifecycle-reference", {"_files": chain(), "updates": "2024-04-02-originale",
                             "cancels": "2024-04-02-originale"}, "non entrambe"),
    ("lifecycle-reference", {"updates": "2024-04-03-prova"}, "a sé stesso"),
    ("lifecycle-reference", {"_files": chain(), "cancels": "2024-04-02-original"},
     "«2024-04-02-originale»?"),
    ("lifecycle-withdrawn", {"_files": {**chain(), "announcements/2024/2024-04-02-revoca.md":
                                        announcement(cancels="2024-04-02-originale")},
                             "updates": "2024-04-02-originale"}, "già stato revocato da"),
    ("lifecycle-category", {"_files": chain(category="eventi"), "category": "info-comune",
                            "updates": "2024-04-02-originale"}, "category: eventi"),
    ("exercise-recipients", {"status": "exercise"}, "BANDITORE_TEST_RECIPIENTS"),
    # A correction of an ordinary announcement is news like any other.
    ("weekly-cap", {"_files": {**week_of_three(), **chain()},
                    "updates": "2024-04-02-originale"}, "settimana da lunedì 1"),
]


@pytest.mark.parametrize(("rule", "fields"), GOOD, ids=[f"{r}-{i}" for i, (r, _) in
                                                        enumerate(GOOD)])
def test_good(repo, rule, fields):
    problems = problems_for(repo, fields)
    assert problems == [], f"{rule}: unexpected {problems}"


@pytest.mark.parametrize(("rule", "fields", "says"), BAD, ids=[f"{r}-{i}" for i, (r, *_) in
                                                              enumerate(BAD)])
def test_bad(repo, rule, fields, says):
    problems = problems_for(repo, fields)
    found = [p for p in problems if p.rule == rule]
    assert found, f"{rule} not reported; got {problems}"
    assert any(says in p.message for p in found), [p.message for p in found]


def test_every_rule_has_good_and_bad_cases_and_is_documented():
    import runner.announcements.rules

    assert set(rule_ids()) == {r for r, _ in GOOD} == {r for r, *_ in BAD}
    assert all(rule_id in runner.announcements.rules.__doc__ for rule_id in rule_ids())


def test_problems_point_at_the_line_and_column(repo):
    body = "Prima riga.\nSeconda con 333 1234567 dentro.\nTerza: https://example.com"
    problems = problems_for(repo, {"body": body, "category": "evento"})
    where = {p.rule: (p.line, p.col) for p in problems}
    # Lines: 1 ---, 2 title, 3 category, 4 ---, 5 body...
    assert where == {"category": (3, 1), "personal-data": (6, 13), "link-domain": (7, 8)}
    assert all(p.file == TARGET for p in problems)


def test_weekly_cap_counts_the_whole_repo_and_flags_the_file_under_review(repo):
    for day in ("01", "02", "03", "04"):
        repo.add(f"2024-04-{day}-avviso")
    late = repo.add("2024-04-05-ultimo")
    early = repo.add("2024-04-01-nuovo")  # under review: it does not take an earlier slot
    result = check(repo.settings(), [early])
    assert [p.rule for p in result.problems] == ["weekly-cap"]
    assert result.budget == {"2024-W14": 6}
    everything = check(repo.settings())  # the whole repo: the latest ones are over the cap
    assert sorted({p.file for p in everything.problems}) == [
        "announcements/2024/2024-04-03-avviso.md", "announcements/2024/2024-04-04-avviso.md",
        late.relative_to(repo.root).as_posix()]


def test_phone_finder_reports_where_the_number_starts():
    [(offset, number, kind)] = list(find_phones("alle ore 10 0721 654321."))
    assert (offset, number, kind) == (12, "0721 654321", "landline")


def test_a_bad_file_does_not_hide_the_others(repo):
    repo.write("announcements/2024/2024-04-01-rotto.md", b"---\ntitle: [\n---\n")
    good = repo.add("2024-04-02-buono")
    bad = repo.add("2024-04-03-cattivo", category="nessuna")
    result = check(repo.settings())
    assert [p.rule for p in result.problems] == ["yaml-syntax", "category"]
    assert [a.path.resolve() for a in result.valid] == [good]
    assert bad.name not in [a.path.name for a in result.valid]


def test_worker_processes_give_the_same_result(repo, monkeypatch):
    import runner.announcements.validate as validate

    repo.add("2024-04-01-uno", body="Chiama 333 1234567")
    repo.add("2024-04-02-due", categroy="x")
    repo.add("2024-04-03-tre", template="parti", body="Uno.\n\nDue.")
    repo.write("announcements/2024/2024-04-04-rotto.md", b"\xff")
    serial = check(repo.settings())
    monkeypatch.setattr(validate, "PARALLEL_FROM", 2)  # a real process pool, few files
    parallel = check(repo.settings())
    assert parallel.problems == serial.problems and len(serial.problems) == 3
    assert [a.id for a in parallel.valid] == [a.id for a in serial.valid] == ["2024-04-03-tre"]
    assert parallel.rendered == serial.rendered
    assert parallel.valid[0].effective_expires_at == serial.valid[0].effective_expires_at


def test_every_message_key_used_exists_in_both_languages():
    import re as regex
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "runner"
    used = set()
    for path in (root / "announcements").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        used |= set(regex.findall(r'\bt\(\s*"([\w.-]+)"', source))
        used |= {f"policy.{k}" for k in regex.findall(
            r'problem\(ann, "[\w-]+", "([\w-]+)"', source)}
        used |= {f"announcement.{k}" for k in regex.findall(r'problem\("[\w-]+", "([\w-]+)"',
                                                             source)}
    used |= {"policy.phone-mobile", "policy.phone-landline"}  # f"phone-{kind}"
    used |= {f"render.kind-{k}" for k in ("image", "video", "document")}
    flat = {}
    for path in ("announcements", "templates", "topics", "reach"):
        catalogue = tomllib.loads((root / f"messages/{path}.toml").read_text("utf-8"))
        flat |= {f"{area}.{key}": texts for area, keys in catalogue.items()
                 for key, texts in keys.items() if set(texts) <= {"it", "en"}}
    assert used - set(flat) == set()
    assert len(used) > 60
    for key, texts in flat.items():
        assert set(texts) == {"it", "en"}, key
        fields = [set(regex.findall(r"\{(\w+)\}", texts[lang])) for lang in ("it", "en")]
        assert fields[0] == fields[1], key


def test_unreadable_and_crashing_files_are_reported_and_the_rest_checked(repo, monkeypatch):
    import runner.announcements.validate as validate

    (repo.root / "announcements/2024/2024-04-01-cartella.md").mkdir()  # a folder named .md
    repo.add("2024-04-02-buono")
    repo.add("2024-04-03-strano")
    result = check(repo.settings())
    assert [(p.file, p.rule) for p in result.problems] == [
        ("announcements/2024/2024-04-01-cartella.md", "file-unreadable")]
    real_read = validate.read

    def read_that_breaks(path, settings, content=None):  # a bug in a parser, simulated
        if "strano" in str(path):
            raise KeyError("boom")
        return real_read(path, settings, content)

    monkeypatch.setattr(validate, "read", read_that_breaks)
    result = check(repo.settings())
    assert [(p.file, p.rule) for p in result.problems][-1] == (
        "announcements/2024/2024-04-03-strano.md", "internal-error")
    assert "KeyError" in result.problems[-1].message
    assert [a.id for a in result.valid] == ["2024-04-02-buono"]


def test_history_is_not_held_to_todays_policy(repo):
    # Expired files may predate a policy change: only reading errors and ids matter.
    repo.add("2024-03-01-vecchio", category="categoria-abolita", body="Tel. 333 1234567")
    repo.write("announcements/2024/2024-03-02-rotto.md", "senza intestazione")
    assert [(p.rule, p.file) for p in check(repo.settings()).problems] == [
        ("front-matter-missing", "announcements/2024/2024-03-02-rotto.md")]
    # ...but a pull request adding an already expired file is told, with everything
    # else that is wrong with it, in the same round (issue 25).
    problems = check(repo.settings(), ["announcements/2024/2024-03-01-vecchio.md"]).problems
    assert {p.rule for p in problems} == {"expired", "category", "personal-data"}


def test_history_still_counts_in_the_weekly_budget(repo):
    # Sent on Monday morning and expired by the evening: it used the budget anyway.
    for hour in (8, 9, 10):
        repo.add(f"2024-04-01-ore-{hour}", publish_at=f"2024-04-01T{hour:02d}:00:00+02:00",
                 expires_at=f"2024-04-01T{hour + 1:02d}:00:00+02:00")
    repo.add("2024-04-03-mercoledi")
    result = check(repo.settings(now="2024-04-02T12:00:00+02:00"))
    assert [(p.rule, p.file) for p in result.problems] == [
        ("weekly-cap", "announcements/2024/2024-04-03-mercoledi.md")]
    assert result.budget == {"2024-W14": 4}


def test_duplicate_ids_matter_even_in_history(repo):
    repo.add("2024-03-01-doppio")
    repo.write("announcements/2024/vecchi/2024-03-01-doppio.md", announcement())
    assert {p.rule for p in check(repo.settings()).problems} == {"duplicate-id"}
