"""A town whose announcements really went out (sent through the outbox to invented
citizens), then published: what every channel test reads."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from runner.announcements.validate import check
from runner.config import Settings, load_settings
from runner.send import send
from tests.announcement_repo import PNG_RGB, image_and_text_catalogue
from tests.send.test_send import NOW, add_citizens, write_announcement

AFTER = NOW + timedelta(hours=1)  # when the site is published

# The town's settings, as a subprocess (`python -m runner ...` in the town) reads them.
PYPROJECT = """\
[tool.banditore]
town = "Comune di Prova"
town_site = "comune.prova.it"
database = "db.duckdb"
outbox = "outbox.jsonl"
announcements_dir = "announcements"
quiet_hours_start = "00:00"
quiet_hours_end = "00:00"
allowed_link_domains = ["comune.prova.it"]
istat_code = "041044"
default_template = "avviso"
templates.avviso = { body = ["title", "body"] }
templates.immagine = { body = ["title", "body"], header = "image" }
"""

# The templates as Meta approved them (what `templates sync` writes).
CATALOGUE = image_and_text_catalogue("Comune di Prova")

# slug -> write_announcement's arguments
SENT = {
    "2024-04-01-via-roma": {
        "category": "viabilita", "publish_at": "2024-04-01T12:00:00+02:00",
        "body": "Via Roma è **chiusa**.\n\n- deviazione: via Manzoni\n- bus in piazza Garibaldi"},
    "2024-04-02-tari": {
        "category": "scadenze", "publish_at": "2024-04-02T09:00:00+02:00",
        "body": "La _prima rata_ scade il 16 aprile: "
                "[come pagare](https://www.comune.prova.it/tari)."},
    "2024-04-03-vento": {
        "category": "allerta-meteo", "urgency": "emergency",
        "publish_at": "2024-04-03T08:30:00+02:00",
        "extra": "media: announcements/media/vento.png\ntemplate: immagine\n"
                 "expires_at: 2024-04-04T23:59:00+02:00\n",
        "body": "Allerta arancione per vento forte.\n\n> Restate in casa."},
    "2024-04-03-acqua": {
        "category": "disservizi", "publish_at": "2024-04-03T09:00:00+02:00",
        "body": "Acqua sospesa giovedì dalle 8 alle 13."},
}


def make_town(root: Path, **overrides) -> Settings:
    """Announcements sent at NOW to three citizens through the outbox, then:
    one cancelled after it went out (withdrawn), one cancelled before (left out),
    one merged after the send run (not sent yet), one in the future, one broken."""
    ann = root / "announcements"
    (ann / "media").mkdir(parents=True)
    (ann / "media" / "vento.png").write_bytes(PNG_RGB)
    for slug, fields in SENT.items():
        write_announcement(ann, slug, title=f"Avviso {slug[11:]}", **fields)
    write_announcement(ann, "2024-04-03-fiera", title="Fiera annullata dopo l'invio",
                       category="eventi", publish_at="2024-04-03T09:30:00+02:00")
    write_announcement(ann, "2024-04-03-mercato", title="Mercato annullato prima",
                       category="eventi", publish_at="2024-04-03T09:40:00+02:00",
                       extra="cancelled: true\n")
    write_announcement(ann, "2024-04-20-futuro", title="Avviso futuro",
                       publish_at="2024-04-20T09:00:00+02:00")
    (root / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    (root / "templates.toml").write_text(CATALOGUE, encoding="utf-8")
    assert Path.cwd() == root, "make_town reads its pyproject.toml: chdir to it first"
    settings = load_settings(now=NOW, **overrides)
    add_citizens(settings.database, 3)
    summary = send(settings, check(settings).valid)
    assert summary.sent == 3 * 5, summary  # 4 of SENT + the fair, to 3 citizens each
    # After the run: the fair is stopped (cancelled: true), one more arrives, one breaks.
    fair = ann / "2024" / "2024-04-03-fiera.md"
    fair.write_text(fair.read_text().replace("publish_at:", "cancelled: true\npublish_at:"),
                    encoding="utf-8")
    write_announcement(ann, "2024-04-03-nuovo", title="Arrivato dopo l'invio",
                       publish_at="2024-04-03T10:30:00+02:00")
    (ann / "2024" / "2024-04-02-rotto.md").write_text("no front matter\n", encoding="utf-8")
    # Absolute paths: a test that leaves the folder never opens another database.
    return settings.model_copy(update={
        "now": AFTER, "database": root / "db.duckdb", "outbox": root / "outbox.jsonl",
        "announcements_dir": ann})


PUBLISHED = {*SENT, "2024-04-03-fiera"}  # what the site shows
WITHDRAWN = {"2024-04-03-fiera"}
