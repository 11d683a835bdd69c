"""The fixtures every test folder may ask for (tests/conftest.py registers this module).

- ``town``: a town's working directory in ``tmp_path`` (:func:`tests.support.towns.make_town`);
  a module or a test says how its town differs with ``pytest.mark.town(**settings)``
  (``pytestmark = pytest.mark.town(**SERVIZIO_INFO)``), the test's marks over the module's.
  A module whose tests share data extends it: ``def town(town): ... log lines, sync``.
- ``repo``: a town's repository for the announcement tests
  (:class:`tests.support.announcement_repo.Repo`), the current directory.
- ``api``: the loopback Cloud API (tests/support/cloud_api_server.py), running.
- ``github``: the fake GitHub (tests/support/github/), running.
"""

from __future__ import annotations

import pytest

from tests.support.announcement_repo import Repo
from tests.support.cloud_api_server import CloudApiServer
from tests.support.github import FakeGitHub
from tests.support.towns import make_town


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "town(**settings): how this test's town differs (tests/support/towns.py)")


@pytest.fixture
def town(tmp_path, monkeypatch, request):
    settings: dict = {}
    for mark in reversed(list(request.node.iter_markers("town"))):  # the nearest wins
        settings.update(mark.kwargs)
    return make_town(tmp_path, monkeypatch, **settings)


@pytest.fixture
def repo(tmp_path, monkeypatch):
    return Repo(make_town(tmp_path, monkeypatch, logs=False))


@pytest.fixture
def api():
    with CloudApiServer() as server:
        yield server


@pytest.fixture
def github():
    with FakeGitHub() as server:
        yield server
