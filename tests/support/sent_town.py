"""A town whose announcements really went out (sent to invented citizens who
subscribed by WhatsApp: webhook log lines -> sync -> send, through the loopback Cloud
API, so every delivery has its wamid as in production), then published: what every
channel test reads."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import SecretStr

from runner.announcements.validate import check
from runner.config import Settings, load_settings
from runner.send import send
from runner.subscribers.sync import sync
from tests.support.announcement_repo import PNG_RGB, image_and_text_catalogue, write_announcement
from tests.support.clock import NOW, FakeClock
from tests.support.cloud_api_server import CloudApiServer
from tests.support.webhooks import message, status, write

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
site_url = "https://comune-prova.github.io/sito/"
public_number = "+39 0372 123456"
privacy_url = "https://www.comune.prova.it/privacy-whatsapp"
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
                 "expires_at: 2024-04-04T23:59:00+02:00\n"
                 "instruction: Restate in casa e fissate gli oggetti sui balconi.\n",
        "body": "Allerta arancione per vento forte.\n\n> Restate in casa."},
    "2024-04-03-acqua": {
        "category": "disservizi", "publish_at": "2024-04-03T09:00:00+02:00",
        "body": "Acqua sospesa giovedì dalle 8 alle 13."},
}


def cloud_api(api: CloudApiServer) -> dict:
    """The settings that send through ``api`` (a loopback Cloud API)."""
    return {"whatsapp_token": SecretStr(api.state.token), "whatsapp_phone_number_id": "1",
            "whatsapp_api_base": api.base}


def logs_of(root: Path) -> Path:
    return root / "webhook-logs"


def subscribe(settings: Settings, n: int) -> None:
    """``n`` citizens write MI ISCRIVO an hour before NOW (their welcome can go as a
    reply), as the receiver logs it; then sync."""
    ts = int((NOW - timedelta(hours=1)).timestamp())
    write(Path(settings.webhook_logs) / "2024-04-03.jsonl",
          [message(f"39333000{i:04d}", f"wamid.in{i}", ts + i, "MI ISCRIVO") for i in range(n)])
    sync(settings)


def delivered(settings: Settings, api: CloudApiServer) -> None:
    """What the receiver logs next: a delivered status for every message the API
    accepted (the welcomes first of all); then sync."""
    ts = int(NOW.timestamp())
    write(Path(settings.webhook_logs) / "2024-04-03.jsonl",
          [status(a.wamid, "delivered", ts, a.to, a.callback) for a in api.accepted], "a")
    sync(settings)


def sent_town(root: Path, **overrides) -> Settings:
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
    assert Path.cwd() == root, "sent_town reads its pyproject.toml: chdir to it first"
    logs_of(root).mkdir()
    with CloudApiServer() as api:
        settings = load_settings(now=NOW, webhook_logs=str(logs_of(root)),
                                 **{**cloud_api(api), **overrides})
        subscribe(settings, 3)
        valid = check(settings).valid
        # The welcomes, and the announcements once they may follow (one message per
        # citizen every 6 s: a clock that moves only when the engine waits).
        fake = FakeClock()
        send(settings, valid, clock=fake.clock, sleep=fake.sleep)
        delivered(settings, api)
        send(settings, valid, clock=fake.clock, sleep=fake.sleep)
        # 4 of SENT + the fair, to 3 citizens each, after their welcome
        assert len(api.accepted) == 3 * 5 + 3, api.accepted
    # After the run: the fair is stopped (cancelled: true), one more arrives, one breaks.
    fair = ann / "2024" / "2024-04-03-fiera.md"
    fair.write_text(fair.read_text().replace("publish_at:", "cancelled: true\npublish_at:"),
                    encoding="utf-8")
    write_announcement(ann, "2024-04-03-nuovo", title="Arrivato dopo l'invio",
                       publish_at="2024-04-03T10:30:00+02:00")
    (ann / "2024" / "2024-04-02-rotto.md").write_text("no front matter\n", encoding="utf-8")
    # Absolute paths: a test that leaves the folder never opens another database. The
    # loopback API is gone: later runs send through the outbox unless given another.
    return settings.model_copy(update={
        "whatsapp_token": None, "whatsapp_api_base": "http://127.0.0.1:9",
        "now": AFTER, "database": root / "db.duckdb", "outbox": root / "outbox.jsonl",
        "announcements_dir": ann, "webhook_logs": str(logs_of(root).resolve())})


PUBLISHED = {*SENT, "2024-04-03-fiera"}  # what the site shows
WITHDRAWN = {"2024-04-03-fiera"}
# What has a CAP alert: the warnings (roads, outages, weather), not the TARI deadline
# (scadenze) nor the fair (eventi), which stay in the Atom feeds.
WARNED = {"2024-04-01-via-roma", "2024-04-03-acqua", "2024-04-03-vento"}
