"""The receiver's tests share its environment and the receiver in a thread."""

from __future__ import annotations

import threading

import pytest

from runner.webhook.app import create_app
from runner.webhook.server import make_server
from tests.support.receiver import SECRET, TOKEN


@pytest.fixture
def env(tmp_path, monkeypatch):
    logs = tmp_path / "webhook-logs"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BANDITORE_WHATSAPP_APP_SECRET", SECRET)
    monkeypatch.setenv("BANDITORE_WHATSAPP_VERIFY_TOKEN", TOKEN)
    monkeypatch.setenv("BANDITORE_WEBHOOK_LOGS", str(logs))
    return logs


@pytest.fixture
def receiver(env):
    """The receiver in a thread: yields (base url, logs folder)."""
    server = make_server(create_app(), "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", env
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
