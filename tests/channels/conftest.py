"""The channels' town: one whose announcements went out (tests/support/sent_town.py).
Not the logs town of tests/support/fixtures.py: it keeps its logs where its
pyproject.toml says, for the commands a test runs in it as subprocesses."""

from __future__ import annotations

import pytest

from runner.config import Settings
from tests.support.sent_town import sent_town


@pytest.fixture
def town(tmp_path, monkeypatch) -> Settings:
    monkeypatch.chdir(tmp_path)  # media paths are relative to the repository root
    return sent_town(tmp_path)
