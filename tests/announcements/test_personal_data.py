"""The phone finder against a table of Italian spellings, and of look-alikes it must leave.

Every spelling is written inside a sentence, the way an announcement carries it;
the finder must return exactly the number (where it starts, what it is) and
nothing else. The policy rule and the masking of citizens' texts use this finder.
"""

import pytest

from runner.announcements.personal_data import find_personal, find_phones, national_number
from runner.announcements.validate import check
from tests.support.announcement_repo import Repo, announcement

NBSP, NNBSP, NBH, NDASH, MDASH, MINUS = "\u00a0", "\u202f", "\u2011", "\u2013", "\u2014", "\u2212"

# (the number as written, its kind): each is tried inside several sentences below.
SPELLINGS = [
    # mobile, every grouping and separator
    ("3471234567", "mobile"),
    ("347 1234567", "mobile"),
    ("347 123 4567", "mobile"),
    ("347 12 34 567", "mobile"),
    ("347 123 45 67", "mobile"),
    ("3471 234567", "mobile"),
    ("347.1234567", "mobile"),
    ("347.123.4567", "mobile"),
    ("347.123.45.67", "mobile"),
    ("347-1234567", "mobile"),
    ("347-123-4567", "mobile"),
    ("347 - 1234567", "mobile"),
    ("347/1234567", "mobile"),
    ("347 / 123 45 67", "mobile"),
    ("(347) 1234567", "mobile"),
    ("(347)1234567", "mobile"),
    (f"347{NBSP}1234567", "mobile"),
    (f"347{NBSP}123{NBSP}4567", "mobile"),
    (f"347{NNBSP}123{NNBSP}45{NNBSP}67", "mobile"),
    (f"347{NBH}1234567", "mobile"),
    (f"347{NBH}123{NBH}4567", "mobile"),
    (f"347{NDASH}1234567", "mobile"),
    (f"347 {MDASH} 1234567", "mobile"),
    (f"347{MINUS}1234567", "mobile"),
    ("333 123456", "mobile"),  # nine digits: older numbers
    ("3 4 7 1 2 3 4 5 6 7", "mobile"),  # one digit at a time
    ("３４７ １２３４５６７", "mobile"),  # full-width digits (a phone's keyboard)
    ("347\n1234567", "mobile"),  # wrapped in the source: one line in the bubble
    # mobile with the country prefix
    ("+393471234567", "mobile"),
    ("+39 347 1234567", "mobile"),
    ("+39 347 123 4567", "mobile"),
    ("+39347 1234567", "mobile"),
    ("+39-347-1234567", "mobile"),
    ("+39.347.123.45.67", "mobile"),
    (f"+39{NBSP}347{NBSP}1234567", "mobile"),
    ("(+39) 347 1234567", "mobile"),
    ("(+39)3471234567", "mobile"),
    ("0039 347 1234567", "mobile"),
    ("0039-347-1234567", "mobile"),
    ("00393471234567", "mobile"),
    ("39 347 1234567", "mobile"),
    ("393471234567", "mobile"),  # as WhatsApp writes it (wa_id)
    # landline, every area code length
    ("0721 654321", "landline"),
    ("0721654321", "landline"),
    ("0721/654321", "landline"),
    ("0721-654321", "landline"),
    ("0721.654321", "landline"),
    ("0721 65 43 21", "landline"),
    ("0721.65.43.21", "landline"),
    ("(0721) 654321", "landline"),
    (f"0721{NBSP}654321", "landline"),
    (f"0721{NBH}65{NBH}43{NBH}21", "landline"),
    (f"0721 {NDASH} 654321", "landline"),
    ("035 123456", "landline"),
    ("035/12.34.56", "landline"),
    ("02 12345678", "landline"),
    ("02 1234 5678", "landline"),
    ("06 1234 5678", "landline"),
    ("06.12.34.56.78", "landline"),
    ("06-12345678", "landline"),
    ("+39 0721 654321", "landline"),
    ("+390721654321", "landline"),
    ("0039 06 12345678", "landline"),
    ("(+39) 02 1234 5678", "landline"),
    # other countries
    ("+44 7700 900123", "mobile"),
    ("+41 79 123 45 67", "mobile"),
    ("0041 79 123 45 67", "mobile"),
]

# Sentences a number is found in: "{}" is where it goes.
SENTENCES = [
    "{}",
    "Chiama il signor Rossi al {} per informazioni.",
    "Per informazioni: {}.",
    "Tel. {}, dalle 9 alle 12.",
    "Cell.{}",
    "Rossi ({}) risponde.",
    "«{}»",
    "**{}**",
    "alle ore 10 {} oppure dopo",
]


@pytest.mark.parametrize("sentence", SENTENCES)
@pytest.mark.parametrize(("number", "kind"), SPELLINGS, ids=[s for s, _ in SPELLINGS])
def test_every_spelling_is_found_inside_a_sentence(number, kind, sentence):
    text = sentence.format(number)
    found = list(find_phones(text))
    offset = sentence.index("{}")
    assert found == [(offset, number, kind)], text


# Look-alikes: none of these may be taken for a phone number.
NOT_PHONES = [
    # dates
    "Dal 03.04.2024 al 10/04/2024.",
    "Il 06.04.2024 - 12.04.2024 chiuso.",
    "scade il 2-4-24, poi il 02.12.2024",
    "nato il 06/12/1980",
    # times and opening hours
    "ore 10.30-12.00",
    "orario 08.30 - 12.30 / 14.30 - 18.00",
    "Aperto alle ore 08 12 14 18; anni 2023-2024 e 2024/2025.",
    "dalle 06.30-12.30",
    "orari: 9-12 / 15-18",
    # amounts
    "Stanziati € 3.500.000 e 1.200.000 euro.",
    "Costo: 347.000 euro; rimborso € 0721,50.",
    "bilancio di 347 123 456 euro",
    "EUR 3.471.234,56",
    # postal codes, protocol and register numbers, public codes
    "CAP 24040, 00184 Roma, 35010 - 35012.",
    "Prot. n. 0012345/2024 del 2 aprile.",
    "delibera n. 0721/2024 e determina 045/2024",
    "Comune, P.IVA 01234567890, C.F. 80012345678.",
    "Codice ISTAT 016205; codice avviso 301000000012345678.",
    "CIG 0721654321, CUP 3471234567",
    "pratica n. 3471234567 del registro",
    # bank accounts
    "IBAN IT60 X054 2811 1010 0000 0123 456",
    "IBAN: IT 60 X 05428 11101 000000123456",
    "IBAN IT60X0542811101000000123456",
    # numbers that are not phones
    "Numero verde 800 123 456, emergenze 112, 1515.",
    "abitanti 3.471, superficie 12,5 km²",
    "civici 30, 32 e 34",
    "Ordinanza 12/2024 in vigore.",
    "Via Roma 3, 24060 Sovere (BG)",
    "art. 3, comma 4, legge 241/1990",
    # web addresses of the town's site carry ids
    "Vedi https://www.comune.prova.it/albo/atto/3471234567 e www.comune.prova.it/doc?id=0721654321",
]


@pytest.mark.parametrize("text", NOT_PHONES)
def test_look_alikes_are_not_phone_numbers(text):
    assert list(find_phones(text)) == []


def test_two_numbers_side_by_side_are_two():
    text = "Tel. 0721 654321 - 347 1234567 / 347.765.43.21"
    assert [n for _, n, _ in find_phones(text)] == ["0721 654321", "347 1234567", "347.765.43.21"]


def test_a_link_to_a_private_chat_is_a_phone():
    assert [k for _, _, k in find_phones("Scrivi a https://wa.me/393471234567")] == ["mobile"]
    assert [k for _, _, k in find_phones("[Chiama](tel:+393471234567)")] == ["mobile"]


def test_national_number_reads_every_spelling_alike():
    numbers = {national_number(n) for n, kind in SPELLINGS
               if kind == "mobile" and not n.startswith(("+4", "004"))}
    assert numbers == {"3471234567", "333123456"}


def test_masking_a_citizens_text_cuts_the_number_out():
    text = "sono Rossi, 347.123.45.67"
    [(start, end, kind)] = find_personal(text)
    assert (text[start:end], kind) == ("347.123.45.67", "phone")


# --- through validate: the town's own numbers pass, in any spelling ---------------------

@pytest.mark.parametrize("written", ["0721 123456", "0721.123.456", "+39 0721 123456",
                                     f"0721{NBH}123456", "(0721) 12 34 56", "0039 0721123456"])
def test_the_towns_allowed_number_passes_in_any_spelling(tmp_path, monkeypatch, written):
    monkeypatch.chdir(tmp_path)
    repo = Repo(tmp_path)
    path = repo.write("announcements/2024/2024-04-03-prova.md",
                      announcement(body=f"Per informazioni chiama l'ufficio al {written}."))
    assert check(repo.settings(), [path]).problems == []


@pytest.mark.parametrize("written", ["347.123.45.67", "347 12 34 567", "(347) 1234567",
                                     f"347{NBSP}1234567", f"347{NBH}123{NBH}4567"])
def test_validate_refuses_a_private_mobile_in_any_spelling(tmp_path, monkeypatch, written):
    monkeypatch.chdir(tmp_path)
    repo = Repo(tmp_path)
    path = repo.write("announcements/2024/2024-04-03-prova.md",
                      announcement(body=f"Chiama il signor Rossi al {written}."))
    [problem] = check(repo.settings(), [path]).problems
    assert problem.rule == "personal-data" and "cellulare" in problem.message
    assert problem.col == len("Chiama il signor Rossi al ") + 1


def test_the_instruction_is_checked_like_the_body(tmp_path, monkeypatch):
    # The instruction is published in the CAP feed, which anyone can read.
    monkeypatch.chdir(tmp_path)
    repo = Repo(tmp_path)
    path = repo.write("announcements/2024/2024-04-03-prova.md",
                      announcement(instruction="Per un passaggio chiamate Mario al 347 1234567"))
    [problem] = check(repo.settings(), [path]).problems
    assert problem.rule == "personal-data" and "cellulare" in problem.message
    assert (problem.line, problem.col) == (4, len("Per un passaggio chiamate Mario al ") + 1)
