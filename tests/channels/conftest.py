"""The channels' town: the town, once its announcements went out
(tests/support/sent_town.py). It keeps its logs where its pyproject.toml says, for the
commands a test runs in it as subprocesses: no logs folder of the shared town's."""

from __future__ import annotations

import pytest

from runner.config import Settings
from tests.support.sent_town import sent_town
from tests.support.towns import make_town


@pytest.fixture
def town(tmp_path, monkeypatch) -> Settings:
    # the current directory: media paths are relative to the repository root
    return sent_town(make_town(tmp_path, monkeypatch, logs=False))
