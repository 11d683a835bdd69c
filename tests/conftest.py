"""Shared fixtures: the helpers' (tests/support/fixtures.py: town, api, github), and
each test runs with no BANDITORE_* variables (nor CI) from the shell."""

import os

import pytest

pytest_plugins = ["tests.support.fixtures"]


@pytest.fixture(autouse=True)
def _clean_banditore_env(monkeypatch):
    for name in list(os.environ):
        # CI=true (as CI runs the suite) changes what some commands require: tests
        # that care set it themselves.
        if name.startswith("BANDITORE_") or name in ("GITHUB_STEP_SUMMARY", "CI"):
            monkeypatch.delenv(name)
