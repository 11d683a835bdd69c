"""``make cms`` (``python -m runner cms serve``): a scratch clone, the page, a clean stop."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from runner.cms.server import DECAP_SERVER
from tests.support.towns import git, sample_repository

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(not (ROOT / DECAP_SERVER).exists(), reason="make test runs npm ci")
def test_serve_works_on_a_scratch_clone_and_leaves_the_working_copy_alone(tmp_path):
    town = sample_repository(tmp_path / "town", ("admin", "announcements", "pyproject.toml",
                                                 "templates.toml"), branch="work",
                             commit=("admin", "announcements", "pyproject.toml"),
                             node_modules=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BANDITORE_")}
    # SIGINT restored in the child: a suite run in the background (no job control)
    # starts its children with SIGINT ignored, and Ctrl-C would never reach it.
    server = subprocess.Popen([sys.executable, "-m", "runner", "cms", "serve", "--port", "0"],
                              cwd=town, env=env, stdout=subprocess.PIPE, text=True,
                              preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        line = server.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/admin/\?token=[\w-]+", line).group(0)
        base = url.split("/admin/")[0]
        browser = requests.Session()
        browser.get(url, timeout=10)
        config = browser.get(base + "/admin/config.yml", timeout=10).text
        proxy = re.search(r"url: (http://127\.0\.0\.1:\d+/api/v1)", config).group(1)
        assert proxy == base + "/api/v1"  # the admin server itself: no second port
        info = browser.post(proxy, json={"action": "info"}, timeout=10).json()
        assert "editorial_workflow" in info["publish_modes"]
    finally:
        server.send_signal(signal.SIGINT)
        try:
            code = server.wait(30)
        finally:  # never leave a server (and its pipe) behind for the next tests
            if server.poll() is None:
                server.kill()
                server.wait()
            server.stdout.close()
    assert code in (0, 130)
    # The clone is on the configured branch; the working copy kept its own.
    assert git(town / ".cms" / "repo", "branch", "--show-current").strip() == "main"
    assert git(town, "branch", "--show-current").strip() == "work"
    with pytest.raises(requests.ConnectionError):  # both stopped
        browser.post(proxy, json={"action": "info"}, timeout=5)
