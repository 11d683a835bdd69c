"""A town's existing lists as they arrive: a phone's contacts export (vCard) and a
spreadsheet saved by Italian Excel (CSV). The numbers are invented (39 333 000 xxxx)."""

# A phone's export, as messy as they come: 2.1 with quoted-printable names and soft line
# breaks, a quoted-printable TEL, a base64 photo ended by a blank line; 3.0 with groups,
# TYPE lists, a folded TEL, a tel: URI; several TEL per card, a number in a NOTE (never
# read), a card without any number.
MESSY_VCARD = (
    b"BEGIN:VCARD\r\n"
    b"VERSION:2.1\r\n"
    b"N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:Rossi;Niccol=C3=B2;;;\r\n"
    b"FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:Niccol=C3=B2 Rossi detto il pi=C3=B9 lun=\r\n"
    b"go nome della rubrica\r\n"
    b"TEL;CELL;PREF:+39 333 000 0001\r\n"                      # 6
    b"TEL;HOME:06/1234567\r\n"                                 # 7
    b"END:VCARD\r\n"
    b"BEGIN:VCARD\r\n"
    b"VERSION:2.1\r\n"
    b"N:Bianchi;Anna;;;\r\n"
    b"TEL;CELL;ENCODING=QUOTED-PRINTABLE:333=20000=20=\r\n"   # 12
    b"0002\r\n"
    b"EMAIL;INTERNET:anna@example.org\r\n"
    b"PHOTO;ENCODING=BASE64;JPEG:/9j/4AAQSkZJRgABAQAAAQABAAD\r\n"
    b" /2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8UHRofHh0aHBwg\r\n"
    b" JC4nICIsIxwcKDcpLDAxNDQ0Hyc5PTgyPC4zNDL/\r\n"
    b"\r\n"
    b"END:VCARD\r\n"
    b"BEGIN:VCARD\r\n"                                         # 20
    b"VERSION:3.0\r\n"
    b"N:Verdi;Paolo;;;\r\n"
    b"FN:Paolo Verdi\r\n"
    b"item1.TEL;type=CELL;type=VOICE;type=pref:0039 (333) 000-0003\r\n"  # 24
    b"item1.X-ABLabel:_$!<Mobile>!$_\r\n"
    b"TEL;TYPE=CELL:+41 79 123 45 67\r\n"                      # 26
    b"TEL;TYPE=\"WORK,VOICE\":+39 0\r\n"                        # 27, folded
    b" 2 1234 5678\r\n"
    b"NOTE:Numero vecchio: 333 000 0009\\, non usare\r\n"
    b"END:VCARD\r\n"
    b"BEGIN:VCARD\r\n"
    b"VERSION:3.0\r\n"
    b"FN:Doppione\r\n"
    b"TEL;TYPE=CELL:333.000.0001\r\n"                           # 34, the same as line 6
    b"TEL;TYPE=CELL:+39 333 000 0002\r\n"                       # 35, the same as line 12
    b"END:VCARD\r\n"
    b"BEGIN:VCARD\r\n"
    b"VERSION:3.0\r\n"
    b"FN:Sbagliati\r\n"
    b"TEL;TYPE=CELL:12345\r\n"                                  # 40
    b"TEL;TYPE=HOME:333 000 00\r\n"                             # 41
    b"END:VCARD\r\n"
    b"BEGIN:VCARD\r\n"                                          # 43, no number
    b"VERSION:3.0\r\n"
    b"FN:Senza Numero\r\n"
    b"EMAIL:x@example.org\r\n"
    b"END:VCARD\r\n"
    b"BEGIN:VCARD\r\n"
    b"VERSION:4.0\r\n"
    b"FN:Carla Neri\r\n"
    b"TEL;VALUE=uri;TYPE=cell:tel:+44-20-7946-0958\r\n"          # 51
    b"TEL;TYPE=CELL:+39 333 000 0004\r\n"                        # 52
    b"END:VCARD\r\n"
)

NAMES = ("Rossi", "Niccol", "Bianchi", "Anna", "Verdi", "Paolo", "Doppione", "Carla", "Neri",
         "anna@example.org", "333 000 0009", "Mario", "Franz", "Huber", "Giò")

# Italian Excel: semicolons, Windows-1252, a multi-line note, a blank row, a row without
# a number; one number is also in the vCard (line 6), two are new.
EXCEL_CSV = ('Nome;Cognome;Cellulare;Note\r\n'
             'Mario;Rossi;+39 333 000 0005;\r\n'
             'Niccolò;Bianchi;333 000 0001;"una nota\r\nsu due righe"\r\n'
             ';;;\r\n'
             'Giò;Verdi;;\r\n'
             'Franz;Huber;0041 79 765 43 21;\r\n').encode("cp1252")
