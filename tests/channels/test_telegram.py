"""The Telegram mirror against a loopback fake of the Bot API: each announcement
posted once, 429 honoured, and a kill -9 mid-request never posts twice."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pydantic import SecretStr

from runner.channels import mirror as mirror_module
from runner.channels.mirror import mirror
from runner.channels.telegram import configured
from runner.db import connect
from runner.pipeline import run
from tests.support import telegram_api_server
from tests.support.sent_town import AFTER, SENT
from tests.support.telegram_api_server import CHAT, DROP, HANG, TOKEN, TelegramApiServer

REPO = Path(__file__).resolve().parents[2]
# What has gone out and is current (the withdrawn fair is not), by publish time.
CURRENT = sorted(SENT, key=lambda slug: SENT[slug]["publish_at"])


@pytest.fixture
def api():
    with TelegramApiServer() as server:
        yield server


def on(settings, api, **more):
    return settings.model_copy(update={"telegram_token": SecretStr(TOKEN),
                                       "telegram_chat_id": CHAT,
                                       "telegram_api_base": api.base, **more})


def titles(api) -> list[str]:
    """The announcement's title in every posted text or caption (the template's
    first line carries it in bold)."""
    return [re.search(r"<strong>(.*?)</strong>", m.get("text") or m.get("caption")).group(1)
            for m in api.state.posted]


def journal(settings) -> dict[str, str]:
    con = connect(settings.database)
    rows = con.execute("SELECT announcement_id, state FROM channel_posts").fetchall()
    con.close()
    return dict(rows)


def test_off_when_not_configured(town, api):
    assert not mirror(town).enabled
    assert not mirror(town.model_copy(update={"telegram_chat_id": CHAT})).enabled
    assert api.state.requests == []


def test_each_current_announcement_is_posted_once_in_order(town, api):
    settings = on(town, api)
    first = mirror(settings)
    assert first.posted == CURRENT and first.exit_code == 0
    assert titles(api) == [f"Avviso {slug[11:]}" for slug in CURRENT]
    again = mirror(settings)
    assert again.posted == [] and again.already == len(CURRENT)
    assert len(api.state.posted) == len(CURRENT)
    assert set(journal(settings).values()) == {"posted"}


def test_text_and_photo_as_telegram_shows_them(town, api):
    mirror(on(town, api))
    by_title = dict(zip(titles(api), api.state.posted, strict=True))
    roma = by_title["Avviso via-roma"]
    assert roma["method"] == "sendMessage" and roma["parse_mode"] == "HTML"
    assert roma["text"] == (
        "Avviso del Comune di Prova: <strong>Avviso via-roma</strong>\n\n"
        "Via Roma è <strong>chiusa</strong>. Deviazione: via Manzoni; bus in piazza Garibaldi."
        "\n\nPer cancellarti scrivi MI CANCELLO")
    wind = by_title["Avviso vento"]
    assert wind["method"] == "sendPhoto"
    assert wind["photo"] == (town.announcements_dir / "media" / "vento.png").read_bytes()
    assert wind["caption"].startswith("Allerta dal Comune di Prova: <strong>Avviso vento")


def test_a_text_too_long_for_a_caption_follows_the_photo(town, api, monkeypatch):
    monkeypatch.setattr(mirror_module, "CAPTION_LIMIT", 40)  # the wind alert's text is longer
    settings = on(town, api)
    assert mirror(settings).posted == CURRENT
    wind = [m for m in api.state.posted if m["method"] == "sendPhoto"
            or "<strong>Avviso vento</strong>" in m["text"]]
    assert [(m["method"], "caption" in m) for m in wind] == [("sendPhoto", False),
                                                             ("sendMessage", False)]
    assert journal(settings)["2024-04-03-vento"] == "posted"
    assert mirror(settings).already == len(CURRENT) + 1


def test_429_waits_retry_after_and_posts_once(town, api):
    api.state.script.extend([(429, 7), (429, 3)])
    waits: list[float] = []
    summary = mirror(on(town, api), sleep=waits.append)
    assert waits == [7.0, 3.0] and summary.waits == waits
    assert summary.posted == CURRENT
    assert len(api.state.posted) == len(CURRENT)
    assert api.state.requests.count("sendMessage") + api.state.requests.count("sendPhoto") \
        == len(CURRENT) + 2


def test_a_setup_error_stops_and_nothing_is_lost(town, api):
    wrong = on(town, api, telegram_token=SecretStr("123:revoked"))
    summary = mirror(wrong)
    assert "(401 Unauthorized)" in summary.stopped and summary.exit_code == 1
    assert summary.pending == CURRENT and api.state.posted == []
    assert "FERMATA" in "\n".join(summary.lines())
    assert mirror(on(town, api)).posted == CURRENT


def test_a_refused_message_is_failed_and_waits_for_staff(town, api):
    settings = on(town, api)
    with pytest.MonkeyPatch.context() as mp:
        # Telegram refuses a text it cannot parse; here the fake refuses the TARI one.
        mp.setattr(telegram_api_server, "parses", lambda text: "scade" not in text)
        summary = mirror(settings)
    assert summary.failed == [("2024-04-02-tari", "400 Bad Request: can't parse entities")]
    assert summary.posted == [s for s in CURRENT if s != "2024-04-02-tari"]
    assert mirror(settings).unresolved == ["2024-04-02-tari"]  # not tried again by itself
    assert mirror(settings, repost="2024-04-02-tari").posted == ["2024-04-02-tari"]


def test_a_connection_that_never_opened_is_tried_again(town, api):
    closed = on(town, api, telegram_api_base="http://127.0.0.1:9")  # discard: refused
    summary = mirror(closed)
    assert summary.pending == CURRENT and summary.unknown == []
    assert "127.0.0.1:9" in summary.stopped and TOKEN not in "\n".join(summary.lines())
    assert mirror(on(town, api)).posted == CURRENT


def test_a_dropped_answer_is_unknown_never_reposted_until_staff_say(town, api):
    api.state.script.extend([None, DROP])
    settings = on(town, api)
    summary = mirror(settings)
    assert summary.unknown == [CURRENT[1]] and summary.exit_code == 1
    assert journal(settings)[CURRENT[1]] == "unknown"
    later = mirror(settings)
    assert later.posted == [] and later.unresolved == [CURRENT[1]] and later.exit_code == 0
    assert mirror(settings, repost=CURRENT[1]).posted == [CURRENT[1]]


def test_reposting_an_id_with_nothing_to_repost_says_so(town, api):
    from runner.errors import BanditoreError

    api.state.script.extend([None, DROP])
    settings = on(town, api)
    mirror(settings)  # CURRENT[1] is left unknown
    with pytest.raises(BanditoreError) as err:
        mirror(settings, repost="2024-04-02-tary")  # a typo: nothing to repost
    assert "«2024-04-02-tary» non ha post in sospeso" in str(err.value)
    assert CURRENT[1] in str(err.value)  # what could be meant
    assert journal(settings)[CURRENT[1]] == "unknown"  # nothing changed, nothing posted


def _telegram_process(town, api) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BANDITORE_")}
    env |= {"BANDITORE_TELEGRAM_TOKEN": TOKEN, "BANDITORE_TELEGRAM_CHAT_ID": CHAT,
            "BANDITORE_TELEGRAM_API_BASE": api.base, "BANDITORE_NOW": AFTER.isoformat(),
            "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-m", "runner", "telegram"], cwd=Path.cwd(),
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)


def _wait_for(condition, process, seconds: float = 60) -> None:
    end = time.monotonic() + seconds
    while not condition():
        assert process.poll() is None, process.communicate()[1]
        assert time.monotonic() < end, "timed out"
        time.sleep(0.02)


def test_kill_9_mid_request_then_resume_posts_each_once(town, api):
    """Killed while Telegram holds the second post: it did arrive, and resuming must
    not post it again; everything else is posted once."""
    api.state.script.extend([None, HANG])
    process = _telegram_process(town, api)
    _wait_for(lambda: len(api.state.posted) == 2, process)
    os.kill(process.pid, signal.SIGKILL)
    process.communicate()
    settings = on(town, api)
    resumed = mirror(settings)
    assert resumed.unknown == [] and resumed.unresolved == [CURRENT[1]]
    assert resumed.posted == [CURRENT[0], *CURRENT[2:]][1:] and resumed.already == 1
    assert sorted(titles(api)) == sorted(f"Avviso {slug[11:]}" for slug in CURRENT)


def test_kill_9_while_waiting_on_429_then_resume_posts_once(town, api):
    """Killed during a retry_after wait: that post certainly did not go out, so the
    next run posts it, once."""
    api.state.script.extend([(429, 60)])
    process = _telegram_process(town, api)
    _wait_for(lambda: len(api.state.requests) == 1, process)
    time.sleep(0.3)  # the journal's 'pending' is written before the sleep begins
    os.kill(process.pid, signal.SIGKILL)
    process.communicate()
    settings = on(town, api)
    assert journal(settings) == {CURRENT[0]: "pending"}
    assert mirror(settings).posted == CURRENT
    assert len(api.state.posted) == len(CURRENT)


def test_run_mirrors_after_sending(town, api, monkeypatch):
    settings = on(town, api)
    lines: list[str] = []
    assert run(settings, {}, emit=lines.append) == 1  # the broken file is a problem
    # The one merged after the first run goes out now, on WhatsApp and then Telegram.
    assert "Telegram: 5 avvisi pubblicati ora" in "\n".join(lines)
    assert titles(api)[-1] == "Arrivato dopo l'invio"


def test_the_token_is_a_secret_never_read_from_a_file(tmp_path, monkeypatch):
    from runner.config import load_settings
    from runner.errors import ConfigError

    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.banditore]\ntelegram_chat_id = "{CHAT}"\ntelegram_token = "{TOKEN}"\n')
    with pytest.raises(ConfigError, match="BANDITORE_TELEGRAM_TOKEN"):
        load_settings()
    (tmp_path / "pyproject.toml").write_text(f'[tool.banditore]\ntelegram_chat_id = "{CHAT}"\n')
    monkeypatch.setenv("BANDITORE_TELEGRAM_TOKEN", TOKEN)
    settings = load_settings()
    assert configured(settings) and TOKEN not in repr(settings)
