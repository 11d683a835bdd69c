"""Reading a town's existing list: numbers in every spelling, vCards as phones export
them, CSVs as Excel writes them. The numbers are invented (39 333 000 xxxx)."""

from __future__ import annotations

import pytest

from runner.subscribers.staff.contacts import CSV, VCARD, UnreadableFile, read_contacts
from runner.subscribers.staff.numbers import read_number
from tests.support.contact_lists import EXCEL_CSV, MESSY_VCARD, NAMES


@pytest.mark.parametrize(("written", "number"), [
    ("+39 333 000 0001", "393330000001"),
    ("+393330000001", "393330000001"),
    ("0039 333 000 0001", "393330000001"),
    ("39 333 000 0001", "393330000001"),
    ("333 000 0001", "393330000001"),
    ("333.000.0001", "393330000001"),
    ("333-000-0001", "393330000001"),
    ("333/0000001", "393330000001"),
    ("(+39) 333 000 0001", "393330000001"),
    ("[333] 000 0001", "393330000001"),
    ("+39\u00a0333\u00a0000\u00a00001", "393330000001"),  # a spreadsheet's no-break spaces
    ("\u202d+39 333 000 0001\u202c", "393330000001"),  # a copied number's direction marks
    ("＋３９ ３３３ ０００ ０００１", "393330000001"),  # full-width
    ("+39 333–000–0001", "393330000001"),  # en dashes
    ("333 123456", "39333123456"),  # an old 9-digit mobile
    ("3921234567", "393921234567"),  # a 10-digit mobile starting 39 is a mobile
    ("39 392 123 4567", "393921234567"),
    ("06 1234567", "39061234567"),  # a landline keeps its 0
    ("+39 06 1234 567", "39061234567"),
    ("0039 (06) 1234567", "39061234567"),
    ("+39 (0)6 1234567", "39061234567"),
    ("39 06 1234567", "39061234567"),
    ("0461 123456", "390461123456"),
    ("+41 79 123 45 67", "41791234567"),  # foreign numbers keep their country code
    ("0041 79 123 45 67", "41791234567"),
    ("+44 (0)20 7946 0958", "442079460958"),  # the trunk 0 in brackets is dropped
    ("tel:+41-79-123-45-67", "41791234567"),
    ("+1 (555) 010-0199", "15550100199"),
])
def test_numbers_in_every_spelling(written, number):
    assert read_number(written).number == number


@pytest.mark.parametrize(("written", "problem", "digits"), [
    ("", "empty", 0),
    (" - ", "empty", 0),
    ("12345", "no-country", 5),
    ("41791234567", "no-country", 11),  # a Swiss number without + cannot be told apart
    ("333 000 00", "mobile", 8),
    ("3330000000123", "mobile", 13),
    ("0612", "landline", 4),
    ("+39 12345678", "italian", 10),
    ("+39 333 0", "italian", 6),
    ("+41 12", "short", 4),
    ("+1234567890123456", "long", 16),
    ("+0 612345678", "country", 10),
    ("333 000 0001 int. 2", "letters", 11),
    ("chiamare la sera", "letters", 0),
])
def test_what_is_not_a_number_says_why(written, problem, digits):
    reading = read_number(written)
    assert (reading.number, reading.problem, reading.digits) == (None, problem, digits)


def test_a_messy_vcard_gives_every_tel_on_its_line_and_nothing_else():
    contacts = read_contacts(MESSY_VCARD, "rubrica.vcf")
    assert contacts.kind == VCARD and contacts.contacts == 7
    read = [(e.line, e.problem or read_number(e.text).number or read_number(e.text).problem)
            for e in contacts.entries]
    assert read == [
        (6, "393330000001"), (7, "39061234567"), (12, "393330000002"), (24, "393330000003"),
        (26, "41791234567"), (27, "390212345678"), (34, "393330000001"),
        (35, "393330000002"), (40, "no-country"), (41, "mobile"), (43, "no-number"),
        (51, "442079460958"), (52, "393330000004")]
    assert not any(name in repr(contacts) for name in NAMES)


def test_vcard_with_lf_only_a_bom_and_an_unclosed_last_card():
    data = "\ufeffBEGIN:VCARD\nVERSION:3.0\nTEL:333 000 0001\nEND:VCARD\nBEGIN:VCARD\n" \
           "FN:Ultimo\n"
    contacts = read_contacts(data.encode(), "a.vcf")
    assert contacts.contacts == 2
    assert [(e.line, e.text, e.problem) for e in contacts.entries] == [
        (3, "333 000 0001", None), (5, None, "no-number")]


def test_a_fax_is_reported_not_imported():
    data = (b"BEGIN:VCARD\r\nTEL;TYPE=WORK,FAX:06 1234567\r\nTEL;FAX:06 1234568\r\n"
            b"TEL;TYPE=\"voice,fax\":06 1234569\r\nTEL;TYPE=PAGER:06 1234560\r\n"
            b"TEL;TYPE=WORK:06 7654321\r\nEND:VCARD\r\n")
    assert [(e.line, e.problem or e.text) for e in read_contacts(data, "a.vcf").entries] == [
        (2, "fax"), (3, "fax"), (4, "fax"), (5, "fax"), (6, "06 7654321")]


def test_a_tel_in_an_unknown_charset_is_an_entry_that_cannot_be_read():
    data = b"BEGIN:VCARD\r\nTEL;CHARSET=KLINGON;ENCODING=QUOTED-PRINTABLE:333=20000\r\n" \
           b"END:VCARD\r\n"
    assert read_contacts(data, "a.vcf").entries[0].problem == "encoding"


def _numbers(contacts):
    return [(e.line, e.problem or read_number(e.text).number) for e in contacts.entries]


def test_csv_as_italian_excel_writes_it():
    """Semicolons, Windows-1252 (an accented name), a header found by its name, a
    multi-line quoted cell, a blank row, a row without number."""
    contacts = read_contacts(EXCEL_CSV, "iscritti.csv")
    assert contacts.kind == CSV and contacts.contacts == 4
    assert _numbers(contacts) == [(2, "393330000005"), (3, "393330000001"), (6, "no-number"),
                                  (7, "41797654321")]
    assert not any(name in repr(contacts) for name in NAMES)


def test_csv_with_a_bom_commas_and_several_number_columns():
    """Google Contacts: a value column per phone (the type columns are not numbers), and
    several numbers in one cell joined by ':::'; a fax is not a number to write to."""
    data = ('\ufeffName,Phone 1 - Type,Phone 1 - Value,Phone 2 - Type,Phone 2 - Value,'
            'Business Fax\n'
            'Mario,Mobile,+39 333 000 0005 ::: +39 333 000 0006,Home,06 1234567,06 7654321\n'
            ).encode()
    assert _numbers(read_contacts(data, "google.csv")) == [
        (2, "393330000005"), (2, "393330000006"), (2, "39061234567")]


def test_csv_column_by_name_by_position_or_a_list_of_numbers_alone():
    data = b"Chi,Recapito\nMario,333 000 0005\n"
    assert _numbers(read_contacts(data, "a.csv", "recapito")) == [(2, "393330000005")]
    assert _numbers(read_contacts(data, "a.csv", "2")) == [(2, "393330000005")]
    headless = b"Mario;333 000 0005\nLucia;333 000 0006\n"
    assert _numbers(read_contacts(headless, "a.csv", "2")) == [
        (1, "393330000005"), (2, "393330000006")]
    alone = "333 000 0005\r\n+41 79 765 43 21\r\n".encode("utf-16")
    assert _numbers(read_contacts(alone, "numeri.txt")) == [
        (1, "393330000005"), (2, "41797654321")]
    late = b"\r\n\r\nNumero\r\n333 000 0005\r"  # blank lines first, a lone CR
    assert _numbers(read_contacts(late, "a.csv")) == [(4, "393330000005")]


@pytest.mark.parametrize(("data", "column", "says"), [
    (b"", None, "vuoto"),
    (b"\n\n  \n", None, "vuoto"),
    (b"PK\x03\x04\x14\x00\x06\x00" + bytes(100), None, "salvalo come CSV"),  # an .xlsx
    (b"Nome;Cognome;Indirizzo\nMario;Rossi;via Roma 3\n", None, "--column"),
    (b"Mario Rossi, via Roma 3\n", None, "--column"),
    (b"Nome;Telefono\nMario;333\n", "Cellulare", "Cellulare"),
    (b'{"numeri": ["3330000001"]}', None, "--column"),
])
def test_what_is_not_a_list_is_refused_whole(data, column, says):
    with pytest.raises(UnreadableFile, match=says) as raised:
        read_contacts(data, "lista.csv", column)
    assert raised.value.exit_code == 2
    assert "Mario" not in str(raised.value) and "333" not in str(raised.value)
