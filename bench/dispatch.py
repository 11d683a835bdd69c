"""Benchmark keyword -> dispatch: how soon the receiver asks GitHub for a send run.

Everything on loopback, each in its own process: the real receiver
(``python -m runner webhook serve``, configured from the environment as
docs/town-setup.md says), the fake GitHub API of the tests
(tests/support/github/), and this client. For each run a fresh receiver and
logs folder (so no coalescing window is open), one signed keyword webhook:

- **keyword -> dispatch**: from sending the POST to the fake GitHub receiving
  ``POST .../dispatches`` (after reading the workflow's state and the default
  branch, as in production);
- **floor**, side by side: the same three calls made directly from this process, the
  least a dispatch can cost here;
- **Meta's 200**, with and without dispatch configured: the dispatcher must not
  slow the answer Meta waits for.

Medians of ``--runs`` runs. Then, unless ``--no-burst``, 100 keywords in 10 s
against one receiver, to show the coalescing window at work (takes 70 s): the
dispatches GitHub received, in seconds after the first keyword.

What GitHub adds after the dispatch (queue, runner start, set-up) cannot be
measured on loopback: docs/town-setup.md gives what to expect.

    .venv/bin/python bench/dispatch.py            # 7 runs, then the burst
    .venv/bin/python bench/dispatch.py --runs 3 --no-burst
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from runner.webhook.app import sign  # noqa: E402
from runner.webhook.coalesce import WINDOW  # noqa: E402
from runner.webhook.github import GitHubActions  # noqa: E402
from tests.support.github import REPOSITORY, TOKEN  # noqa: E402
from tests.support.webhooks import message  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from receiver import SECRET  # noqa: E402 (bench/receiver.py)
from receiver import start_receiver as serve  # noqa: E402


def keyword(i: int) -> bytes:
    return message(f"3933300{i % 100000:05d}", f"wamid.bench{i}", 1711960000,  # invented
                   "MI ISCRIVO").encode()


def warm_up(address: str) -> None:
    """One status webhook first: the first request of a process pays for lazy set-up."""
    post(address, json.dumps({"object": "whatsapp_business_account", "entry": []}).encode())


class GitHub:
    """The fake GitHub API in a process of its own: its threads must not compete
    with this client's for one interpreter while the answers are timed."""

    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.support.github"], cwd=ROOT,
                                     stdout=subprocess.PIPE, text=True,
                                     env={**os.environ, "PYTHONPATH": str(ROOT)})
        self.base = self.proc.stdout.readline().strip()
        self.calls: list[dict] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.calls.append(json.loads(line))

    def dispatches(self) -> list[float]:
        return [c["at"] for c in list(self.calls) if c["kind"] == "dispatch"]

    def wait_for(self, count: int, seconds: float) -> list[float]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and len(self.dispatches()) < count:
            time.sleep(0.005)
        return self.dispatches()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
        self._reader.join(5)
        self.proc.stdout.close()


def start_receiver(logs: Path, github: GitHub | None) -> tuple[subprocess.Popen, str]:
    """bench/receiver.py's receiver, dispatching to ``github`` when given."""
    settings = {} if github is None else {
        "BANDITORE_GITHUB_REPOSITORY": REPOSITORY, "BANDITORE_GITHUB_DISPATCH_TOKEN": TOKEN,
        "BANDITORE_GITHUB_API_BASE": github.base}
    proc, host, port = serve(logs, 0, settings=settings)
    return proc, f"{host}:{port}"


def post(address: str, body: bytes) -> float:
    """Seconds until the 200."""
    host, port = address.split(":")
    started = time.perf_counter()
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request("POST", "/", body=body, headers={"Content-Type": "application/json",
                                                 "X-Hub-Signature-256": sign(body, SECRET)})
    status = conn.getresponse().status
    conn.close()
    if status != 200:
        raise SystemExit(f"the receiver answered {status}")
    return time.perf_counter() - started


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait(15)
    proc.stdout.close()


def one_run(github: GitHub, n: int) -> tuple[float, float]:
    """(keyword -> dispatch, Meta's 200) in seconds, on a fresh receiver."""
    with tempfile.TemporaryDirectory(prefix="bench-dispatch-") as tmp:
        proc, address = start_receiver(Path(tmp) / "webhook-logs", github)
        try:
            before = len(github.dispatches())
            time.sleep(0.2)  # the dispatcher's first look at its ledger, at start
            warm_up(address)
            sent = time.monotonic()
            answered = post(address, keyword(n))
            dispatches = github.wait_for(before + 1, seconds=10)
            if len(dispatches) <= before:
                raise SystemExit("no dispatch within 10 s")
            return dispatches[-1] - sent, answered
        finally:
            stop(proc)


def answer_without_dispatch(n: int) -> float:
    with tempfile.TemporaryDirectory(prefix="bench-dispatch-") as tmp:
        proc, address = start_receiver(Path(tmp) / "webhook-logs", None)
        try:
            time.sleep(0.2)
            warm_up(address)
            return post(address, keyword(n))
        finally:
            stop(proc)


def floor(github: GitHub) -> float:
    client = GitHubActions(github.base, REPOSITORY, TOKEN)
    started = time.perf_counter()
    client.state()
    client.dispatch()
    return time.perf_counter() - started


def burst(github: GitHub) -> None:
    print(f"\nburst: 100 keywords in 10 s on one receiver (window {WINDOW:g} s)")
    with tempfile.TemporaryDirectory(prefix="bench-dispatch-") as tmp:
        proc, address = start_receiver(Path(tmp) / "webhook-logs", github)
        try:
            time.sleep(0.2)
            before = len(github.dispatches())
            first = time.monotonic()
            for i in range(100):
                post(address, keyword(10_000 + i))
                time.sleep(max(0.0, first + (i + 1) * 0.1 - time.monotonic()))
            last = time.monotonic()
            github.wait_for(before + 2, seconds=WINDOW + 15)
            time.sleep(2)
            at = [round(d - first, 2) for d in github.dispatches()[before:]]
        finally:
            stop(proc)
    print(f"  keywords from 0 to {last - first:.1f} s; dispatches at {at} s "
          f"({len(at)} in all, the last {'after' if at and at[-1] > last - first else 'BEFORE'}"
          f" the last keyword)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--no-burst", action="store_true")
    args = parser.parse_args()
    github = GitHub()
    try:
        floors = [floor(github) for _ in range(args.runs)]
        runs = [one_run(github, n) for n in range(args.runs)]
        plain = [answer_without_dispatch(n) for n in range(args.runs)]
        to_dispatch = statistics.median(r[0] for r in runs)
        answered = statistics.median(r[1] for r in runs)
        bare, least = statistics.median(plain), statistics.median(floors)
        print(f"loopback, {args.runs} runs each, medians; {os.cpu_count()} CPUs; "
              f"coalescing window {WINDOW:g} s")
        print(f"  keyword -> dispatch            {to_dispatch * 1000:8.1f} ms")
        print(f"  floor (same 3 calls, direct)  {least * 1000:8.1f} ms   "
              f"ratio {to_dispatch / least:.1f}x")
        print(f"  Meta's 200 with dispatch       {answered * 1000:8.1f} ms")
        print(f"  Meta's 200 without dispatch    {bare * 1000:8.1f} ms   "
              f"ratio {answered / bare:.2f}x")
        print(f"  the schedule alone (*/15): a keyword waits {7.5:g} min on average, "
              f"15 at worst, before GitHub's own delays")
        if not args.no_burst:
            burst(github)
    finally:
        github.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
