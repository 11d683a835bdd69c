"""The short rehearsal (``python -m rehearsal --short``): four days of a town on loopback,
every workflow step as written, every log source, the bad days; no citizen missed,
nobody messaged twice, no phone number printed.

It asserts the outcome, never a time: the timings it prints are for people
(``make rehearsal`` prints the full week's)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_short_week_loses_no_one_and_messages_no_one_twice(capsys):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BANDITORE_", "GITHUB_"))}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run([sys.executable, "-m", "rehearsal", "--short"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=1500)
    out = done.stdout + done.stderr
    tail = "\n".join(out.splitlines()[-60:])
    assert done.returncode == 0, tail
    assert re.search(r"; 0 missing, 0 duplicates, 0 to someone", out), tail
    assert "rehearsal: passed" in out
    for line in ("ok: one review comment on pull request #1",
                 "ok: Meta throttled mid-broadcast (130429)",
                 "ok: the receiver restarted while webhooks arrived",
                 "ok: the run failed with the log source down",
                 "ok: disabled for inactivity, send.yml's schedule starts no run",
                 "ok: the receiver enabled send.yml, disabled for inactivity, then dispatched",
                 "ok: the site deployed to Pages has every announcement"):
        assert line in out, tail
    assert "GITHUB API ENDPOINT MISSING" not in out
    # The receiver's dispatch started the runs that welcomed citizens: measured, not assumed.
    [taken, started] = re.findall(r"dispatch exercised: (\d+) dispatches taken by GitHub's "
                                  r"API \(0 refused\), (\d+) send.yml runs started", out)[0]
    assert int(taken) >= 4 and int(started) == int(taken), tail
    assert re.search(r"keyword -> welcome accepted with the dispatch: median [\d.]+ s", out), tail
    # Paused and resumed, and every keyword answered (pause and resume acknowledged).
    assert re.search(r"by the keyword they answer: .*pause 1, resume 1", out), tail
    [sources] = re.findall(r"log sources: (.*)", out)
    assert {"git", "s3"} <= set(sources.split(", ")), tail
    if "ssh" not in sources:
        # Only where sshd truly cannot run here; said on the terminal, not hidden.
        [why] = re.findall(r"LOG SOURCE NOT EXERCISED: ssh: (.*)", out)
        with capsys.disabled():
            print(f"\n!!! the rehearsal's ssh log source was not exercised: {why}")
