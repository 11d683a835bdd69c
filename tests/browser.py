"""Debian's headless Chromium for the browser tests, launched one way everywhere.

The background-networking flags matter: without them Chromium keeps reaching for
hosts this closed network refuses. ``make test`` installs the package when missing.
"""

from __future__ import annotations

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def launch(playwright):
    """A headless Chromium driven by Playwright (from PyPI), never its own download."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
