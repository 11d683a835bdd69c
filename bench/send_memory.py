"""Peak memory of a send as the queue and the finished history grow.

    .venv/bin/python bench/send_memory.py             # about 90 s
    .venv/bin/python bench/send_memory.py --only outbox   # or cloud

The town is made as its data arrives (bench/town_logs.py): subscribers and the status
webhooks of what went out before are webhook log lines, synced; earlier deliveries are
planned and settled from those statuses by a run, never written into the database.
Figures in the table below are from before that, when the rows were written directly.

Each row is one ``runner.send.send`` in a fresh child process started by this
small parent (``ru_maxrss`` carries over a fork+exec, so a child of a big
process would inherit its peak). Scenarios, each with one announcement due now:

- 100,000 and 1,000,000 active subscribers: that many deliveries queued;
- 50,000 subscribers on top of 3,000,000 finished deliveries (60 earlier
  announcements, read or sent, with their status webhooks): a town after a year.

Transports: the outbox (no token) sends everything; the cloud transport sends
for a 10 s window at rate 1,000 to ``tests/support/cloud_api_server.py`` (150 ms
latency) run as its own process. Target: flat memory up to 1,000,000
queued, <= 500 MB. Prints a markdown table.

Peak RSS MB, 2 shared CPUs, before (9a419a7^) and after the memory work:

| scenario | outbox before | outbox after | cloud before | cloud after |
|---|--:|--:|--:|--:|
| 100,000 queued | 189 | 164 | 178 | 169 |
| 1,000,000 queued | 492 | 191 | 474 | 184 |
| 50,000 queued + 3,000,000 finished | 1,052 | 233 | 1,098 | 232 |

(100,000 queued on 6,000,000 finished, outbox, after: 237: the cap holds it flat.)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
NOW = "2024-04-03T10:00:00+02:00"
SCENARIOS = {  # name -> (subscribers, finished deliveries)
    "100,000 queued": (100_000, 0),
    "1,000,000 queued": (1_000_000, 0),
    "50,000 queued + 3,000,000 finished": (50_000, 3_000_000),
}


def prepare(folder: Path, subscribers: int, finished: int) -> None:
    """bench/send.py's town (subscribers from webhook log lines, synced), plus a year of
    ``finished`` deliveries of earlier announcements, as a town's data makes them: each
    earlier announcement sent to every subscriber, its status webhooks in the logs (read,
    or sent for a third); a run with those files due plans their deliveries and settles
    each from its status; then the files go (they expired long ago)."""
    from datetime import date, timedelta

    import town_logs
    from send import make_db  # bench/send.py

    from runner.announcements.reading import load_all
    from runner.config import Settings
    from runner.send import send
    from runner.subscribers.privacy import citizen_id

    db, _ = make_db(folder, subscribers)
    if not finished:
        return
    cids = [citizen_id(town_logs.number(i)) for i in range(subscribers)]
    past, logs = folder / "past", folder / "logs"
    for a in range(finished // subscribers):
        day = date(2023, 4, 1) + timedelta(days=5 * a)
        slug = f"{day.isoformat()}-avviso-{a:03d}"
        publish = f"{day.isoformat()}T10:00:00+02:00"
        town_logs.announcement(past, slug, category="eventi", publish_at=publish,
                               expires_at="2024-04-03T09:30:00+02:00", title="Earlier")
        town_logs.write(logs / f"{day.isoformat()}.jsonl", town_logs.statuses(
            ((f"a:{slug}:{cid}", i, "sent" if i % 3 == 0 else "read")
             for i, cid in enumerate(cids)), datetime.fromisoformat(publish), tag=f"P{a:03d}"))
    settings = Settings(database=db, webhook_logs=str(logs), announcements_dir=past,
                        outbox=folder / "prepare-outbox.jsonl",
                        now=datetime.fromisoformat("2024-04-03T09:00:00+02:00"),
                        templates={}, default_template=None, send_memory_mb=2048)
    town_logs.sync_logs(settings)
    with open(os.devnull, "w") as quiet:
        summary = send(settings, load_all(settings), out=quiet)
    if summary.sent:
        raise SystemExit(f"{summary.sent} earlier deliveries were sent: each should have "
                         "been settled from its status webhook")
    shutil.rmtree(past)
    shutil.rmtree(logs)
    (folder / "prepare-outbox.jsonl").unlink(missing_ok=True)


def child(args) -> dict:
    from runner.announcements.reading import load_all
    from runner.config import Settings
    from runner.send import send

    folder = Path(args.folder)
    extra = {}
    if args.base:
        extra = {"whatsapp_token": "test-token", "whatsapp_phone_number_id": "1234",
                 "whatsapp_api_base": args.base}
    settings = Settings(database=folder / "bench.duckdb", announcements_dir=folder /
                        "announcements", outbox=folder / "outbox.jsonl",
                        now=datetime.fromisoformat(NOW), rate_per_second=1000, templates={},
                        default_template=None, **extra)
    os.environ["CI"] = "true"  # plain progress lines, no bar
    with open(os.devnull, "w") as quiet:
        summary = send(settings, announcements=load_all(settings), out=quiet,
                       max_seconds=args.window)
    return {"sent": summary.sent, "failed": summary.failed, "rate": round(summary.rate),
            "seconds": round(summary.elapsed, 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def run(cmd: list[str]) -> dict:
    out = subprocess.run([sys.executable, __file__, *cmd], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    lines = out.stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines else {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", choices=["send", "prepare"])
    parser.add_argument("--folder")
    parser.add_argument("--subscribers", type=int)
    parser.add_argument("--finished", type=int, default=0)
    parser.add_argument("--base")
    parser.add_argument("--window", type=float)
    parser.add_argument("--only", choices=["outbox", "cloud"])
    args = parser.parse_args()
    if args.child == "prepare":
        prepare(Path(args.folder), args.subscribers, args.finished)
        return
    if args.child == "send":
        print(json.dumps(child(args)))
        return

    work = Path(tempfile.mkdtemp(prefix="bench-send-memory-"))
    server = None
    lines = [f"{os.cpu_count()} CPUs (shared while measuring); each row a fresh child process.",
             "", "| transport | scenario | sent | msg/s | s | peak RSS MB |",
             "|---|---|--:|--:|--:|--:|"]
    try:
        transports = [args.only] if args.only else ["outbox", "cloud"]
        if "cloud" in transports:
            server = subprocess.Popen(
                [sys.executable, str(ROOT / "tests" / "support" / "cloud_api_server.py"),
                 "--latency", "0.15"], stdout=subprocess.PIPE, text=True)
            base = server.stdout.readline().strip()
        for name, (subscribers, finished) in SCENARIOS.items():
            template = work / f"template-{subscribers}-{finished}"
            run(["--child", "prepare", "--folder", str(template), "--subscribers",
                 str(subscribers), "--finished", str(finished)])
            for transport in transports:
                folder = work / "run"
                shutil.copytree(template, folder)
                cmd = ["--child", "send", "--folder", str(folder)]
                if transport == "cloud":
                    cmd += ["--base", base, "--window", "10"]
                r = run(cmd)
                shutil.rmtree(folder)
                label = "cloud, rate 1000, 10 s" if transport == "cloud" else "outbox, all"
                lines.append(f"| {label} | {name} | {r['sent']:,} | {r['rate']:,} | "
                             f"{r['seconds']} | {r['peak_rss_mb']} |")
                print(lines[-1], flush=True)
            shutil.rmtree(template)
    finally:
        if server is not None:
            server.terminate()
            server.wait()
        shutil.rmtree(work, ignore_errors=True)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
