"""Shared fixtures. Each test runs with no BANDITORE_* variables from the developer's shell."""

import os

import pytest


@pytest.fixture(autouse=True)
def _clean_banditore_env(monkeypatch):
    for name in list(os.environ):
        if name.startswith("BANDITORE_") or name == "GITHUB_STEP_SUMMARY":
            monkeypatch.delenv(name)
