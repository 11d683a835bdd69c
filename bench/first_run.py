"""A town's first run: an emergency merged after the first sync of 16,000 subscribers who
wrote MI ISCRIVO months ago reaches all of them, in that run, at the configured rate.

    .venv/bin/python bench/first_run.py                     # about 5 minutes
    .venv/bin/python bench/first_run.py --rate 80 --repeat 1   # Meta's default rate

Each run is a fresh town in a child process, made as its data arrives
(bench/town_logs.py): the webhook logs of 16,000 citizens who subscribed four months
ago, and no welcome template, so every welcome is outside the 24-hour window. The
child syncs the logs (the first sync) and sends the emergency, as ``run`` does,
against the loopback Cloud API (tests/support/cloud_api_server.py, 150 ms latency, in its
own process). The baseline, side by side: the same send with no welcome rows in the
way (the same citizens, whose welcomes went out when they subscribed: their status
webhooks are in the logs). Runs of the two cases are interleaved.

Printed per case, median of ``--repeat`` runs (by achieved rate, with the range):
citizens reached / subscribers, the achieved rate (accepted messages per second of
the sending phase) and its ratio to the configured rate, skipped welcomes; then the
first run's rate as a ratio of the baseline's. Before issue 20 the first run sent
0 / 16,000 (every delivery skipped as welcome_not_delivered) and exited 0.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
NOW = datetime.fromisoformat("2024-04-03T10:00:00+02:00")
SLUG = "2024-04-03-allerta"


def child(args) -> dict:
    """One town: its logs written, synced for the first time, the emergency sent."""
    import town_logs

    from runner.announcements.reading import load_all
    from runner.config import Settings
    from runner.send import send

    folder = Path(args.folder)
    subscribed = NOW - timedelta(days=120)
    logs = folder / "logs" / "2023-12-05.jsonl"
    town_logs.write(logs, town_logs.subscriptions(args.subscribers, subscribed))
    if args.case == "baseline":
        town_logs.write(logs, town_logs.welcomes_gone(args.subscribers,
                                                      subscribed + timedelta(minutes=5)))
    town_logs.announcement(folder / "announcements", SLUG, category="allerta-meteo",
                           urgency="emergency", title="Allerta meteo rossa",
                           publish_at=(NOW - timedelta(minutes=10)).isoformat())
    settings = Settings(database=folder / "town.duckdb", webhook_logs=str(folder / "logs"),
                        announcements_dir=folder / "announcements",
                        outbox=folder / "outbox.jsonl", now=NOW,
                        rate_per_second=args.rate, templates={}, default_template=None,
                        whatsapp_token="test-token", whatsapp_phone_number_id="1234",
                        whatsapp_api_base=args.base)
    os.environ["CI"] = "true"  # plain progress lines, no bar
    town_logs.sync_logs(settings)
    with open(os.devnull, "w") as quiet:
        summary = send(settings, load_all(settings), out=quiet)
    reached = next((row[2] + row[3] for row in summary.table if row[0] == SLUG), 0)
    return {"reached": reached, "rate": round(summary.rate, 1),
            "seconds": round(summary.send_elapsed, 1), "exit": summary.exit_code,
            # (getattr: the same script measures a checkout from before issue 20)
            "skipped_welcomes": sum(n for (kind, _), n in getattr(summary, "skipped_by",
                                                                  {}).items()
                                    if kind == "welcome")}


def run_child(case: str, base: str, args) -> dict:
    folder = Path(tempfile.mkdtemp(prefix=f"bench-first-run-{case}-"))
    try:
        out = subprocess.run(
            [sys.executable, __file__, "--child", "--case", case, "--folder", str(folder),
             "--base", base, "--rate", str(args.rate), "--subscribers", str(args.subscribers)],
            capture_output=True, text=True, check=True, cwd=ROOT)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def median(runs: list[dict]) -> dict:
    runs = sorted(runs, key=lambda r: r["rate"])
    r = dict(runs[len(runs) // 2])
    r["range"] = f"{runs[0]['rate']:g}-{runs[-1]['rate']:g}"
    return r


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--case", choices=["first-run", "baseline"])
    parser.add_argument("--folder")
    parser.add_argument("--base")
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--subscribers", type=int, default=16_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per case (median shown)")
    parser.add_argument("--latency", type=float, default=0.15)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args)))
        return
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "support" / "cloud_api_server.py"), "--latency",
         str(args.latency)], stdout=subprocess.PIPE, text=True)
    base = server.stdout.readline().strip()
    runs: dict[str, list[dict]] = {"baseline": [], "first-run": []}
    try:
        for _ in range(args.repeat):  # interleaved: the machine's noise falls on both
            for case in runs:
                runs[case].append(run_child(case, base, args))
                print(case, runs[case][-1], flush=True)
    finally:
        server.terminate()
        server.wait()
    n, rate = args.subscribers, args.rate
    lines = [f"Loopback Cloud API, {args.latency * 1000:.0f} ms latency; {os.cpu_count()} CPUs; "
             f"configured rate {rate:g} msg/s; {n:,} subscribers; median of {args.repeat} "
             "runs (range of msg/s in brackets).", "",
             "| case | reached / subscribers | skipped welcomes | msg/s | vs configured | "
             "exit |", "|---|--:|--:|--:|--:|--:|"]
    medians = {case: median(found) for case, found in runs.items()}
    labels = {"baseline": "baseline: welcomes went out when they subscribed",
              "first-run": "first run over 4-month-old logs, no welcome template"}
    for case, r in medians.items():
        lines.append(f"| {labels[case]} | {r['reached']:,} / {n:,} ({r['reached'] / n:.2f}) | "
                     f"{r['skipped_welcomes']:,} | {r['rate']:g} ({r['range']}) | "
                     f"{r['rate'] / rate:.2f}x | {r['exit']} |")
    ratio = medians["first-run"]["rate"] / max(medians["baseline"]["rate"], 1e-9)
    lines += ["", f"first run vs baseline, achieved rate: {ratio:.2f}x"]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
