"""The send engine as its tests drive it: an audience of invented citizens, a run on
the fake clock, and the deliveries' states afterwards."""

from __future__ import annotations

import os
import shutil
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

from pydantic import SecretStr

from runner.announcements.reading import load_all
from runner.config import Settings, load_settings
from runner.db import connect
from runner.send import send
from runner.subscribers.sync import sync
from tests.support.clock import NOW, FakeClock
from tests.support.cloud_api_server import CloudApiServer
from tests.support.towns import sample_repository
from tests.support.webhooks import status, write

TOKEN = "test-token"  # the loopback Cloud API's (tests.support.cloud_api_server)
TOWNS = Path(__file__).resolve().parents[2] / "runner" / "towns"  # the reference towns


def number(i: int) -> str:
    """Obviously invented numbers: 39 333 000 xxxx."""
    return f"39333000{i:04d}"


def engine_settings(root: Path, **more) -> Settings:
    """The send engine's settings with its database, outbox, announcements and logs in
    ``root``, at the tests' NOW; the rest is the sample town's (this repository's
    pyproject.toml and templates.toml, copied into ``root``) as ``Settings()`` reads it
    from the current directory, unless given in ``more``."""
    sample_repository(root, ("pyproject.toml", "templates.toml"))
    return Settings(**{"database": root / "db.duckdb", "outbox": root / "outbox.jsonl",
                       "announcements_dir": root / "announcements",
                       "webhook_logs": str(root / "logs"), "now": NOW, **more})


def town_settings(root: Path, api: CloudApiServer, name: str | None = None, *,
                  catalogue: bool = True, **more) -> Settings:
    """A town's settings in ``root``, sending to the loopback API ``api`` at 200 a second:
    a reference town's configuration copied (``name``; its templates' catalogue too
    unless ``catalogue=False``) with its own templates, or the defaults with none."""
    if name:
        shutil.copy(TOWNS / f"{name}.toml", root / "pyproject.toml")
        if catalogue:
            shutil.copy(TOWNS / "templates" / f"{name}.toml", root / "templates.toml")
    (root / "logs").mkdir(exist_ok=True)
    defaults = {"now": NOW} if name else {"now": NOW, "templates": {},
                                          "default_template": None}
    return load_settings(
        database=root / "db.duckdb", announcements_dir=root / "announcements",
        outbox=root / "outbox.jsonl", webhook_logs=str(root / "logs"),
        decisions_file=root / "decisions.txt", templates_file=root / "templates.toml",
        rate_per_second=200, whatsapp_token=SecretStr(TOKEN), whatsapp_phone_number_id="1234",
        whatsapp_api_base=api.base, **{**defaults, **more})


def add_citizens(db: Path, n: int, *, start: int = 0, state: str = "active",
                 last_inbound: datetime | None = None) -> None:
    """Citizens c_<i> with number 39 333 000 <i>, subscribed three days ago (one SQL step:
    DuckDB inserts row by row slowly).

    Not through the logs (nor is report_data.py): the send engine's tests need an
    audience of a known size (up to 60,000), with ids they can name and nothing else
    queued. Subscribing through log lines -> sync would queue a welcome for each
    citizen, which the engine then sends first, and give pseudonymous ids; the way
    from the logs is tested end to end in tests/send/test_reach.py, test_pause.py and
    test_lifecycle.py."""
    con = connect(db)
    params = {"start": start, "end": start + n, "state": state, "inbound": last_inbound,
              "since": NOW - timedelta(days=3)}
    con.execute("""
        INSERT INTO citizens (citizen_id, wa_id, last_inbound_at)
        SELECT 'c_' || lpad(i::VARCHAR, 5, '0'), '39333000' || lpad(i::VARCHAR, 4, '0'),
               $inbound::TIMESTAMPTZ
        FROM range($start, $end) t(i)""",
                {k: v for k, v in params.items() if k not in ("state", "since")})
    con.execute("""
        INSERT INTO subscribers (citizen_id, state, keyword, since, subscribed_at)
        SELECT 'c_' || lpad(i::VARCHAR, 5, '0'), $state, 'MI ISCRIVO', $since, $since
        FROM range($start, $end) t(i)
    """, {k: v for k, v in params.items() if k != "inbound"})
    con.close()


def cloud(settings: Settings, api: CloudApiServer, **more) -> Settings:
    """The settings that send through the loopback Cloud API ``api``."""
    return settings.model_copy(update={"whatsapp_token": SecretStr(TOKEN),
                                       "whatsapp_phone_number_id": "1234",
                                       "whatsapp_api_base": api.base, **more})


def delivery(settings, i: int, ann: str = "2024-04-03-via-roma") -> tuple:
    """(state, error code, error title, wamid, attempts) of c_<i>'s delivery of ``ann``."""
    con = connect(settings.database)
    try:
        return con.execute(
            "SELECT state, error_code, error_title, wamid, attempts FROM deliveries "
            "WHERE delivery_id = ?", [f"a:{ann}:c_{i:05d}"]).fetchone()
    finally:
        con.close()


def send_env(settings: Settings, api: CloudApiServer) -> dict:
    """The environment of ``python -m runner send`` in CI, sending ``settings``' town
    through ``api`` at 100 messages a second."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BANDITORE_")}
    env.update({
        "BANDITORE_DATABASE": str(settings.database),
        "BANDITORE_OUTBOX": str(settings.outbox),
        "BANDITORE_ANNOUNCEMENTS_DIR": str(settings.announcements_dir),
        "BANDITORE_NOW": NOW.isoformat(),
        "BANDITORE_WHATSAPP_TOKEN": TOKEN,
        "BANDITORE_WHATSAPP_PHONE_NUMBER_ID": "1234",
        "BANDITORE_WHATSAPP_API_BASE": api.base,
        "BANDITORE_RATE_PER_SECOND": "100",
        "CI": "true",
    })
    return env


def statuses_arrive(settings: Settings, accepted, state: str, at: datetime = NOW) -> None:
    """What the receiver logs next: a ``state`` status for each message the loopback API
    ``accepted``, echoing its callback as Meta does; then sync reads them in."""
    logs = Path(settings.webhook_logs)
    logs.mkdir(exist_ok=True)
    write(logs / "statuses.jsonl", [status(a.wamid, state, int(at.timestamp()),
                                           a.to.lstrip("+"), a.callback) for a in accepted],
          mode="a")
    sync(settings)


def run(settings, **kw):
    """One send run of every announcement, on a fake clock (``fake=`` to look at it)."""
    fake = kw.pop("fake", None) or FakeClock()
    return send(settings, announcements=load_all(settings), clock=fake.clock, sleep=fake.sleep,
                **kw)


def states(settings) -> Counter:
    """How many deliveries are in each state."""
    con = connect(settings.database)
    try:
        return Counter(dict(con.execute(
            "SELECT state, count(*) FROM deliveries GROUP BY ALL").fetchall()))
    finally:
        con.close()
