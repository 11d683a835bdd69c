"""Peak memory of a send as the queue and the finished history grow.

    .venv/bin/python bench/send_memory.py             # about 90 s
    .venv/bin/python bench/send_memory.py --only outbox   # or cloud

Each row is one ``runner.send.send`` in a fresh child process started by this
small parent (``ru_maxrss`` carries over a fork+exec, so a child of a big
process would inherit its peak). Scenarios, each with one announcement due now:

- 100,000 and 1,000,000 active subscribers: that many deliveries queued;
- 50,000 subscribers on top of 3,000,000 finished deliveries (60 earlier
  announcements, read or sent, with their status webhooks): a town after a year.

Transports: the outbox (no token) sends everything; the cloud transport sends
for a 10 s window at rate 1,000 to ``tests/cloud_api_server.py`` (150 ms
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
NOW = "2024-04-03T10:00:00+02:00"
SCENARIOS = {  # name -> (subscribers, finished deliveries)
    "100,000 queued": (100_000, 0),
    "1,000,000 queued": (1_000_000, 0),
    "50,000 queued + 3,000,000 finished": (50_000, 3_000_000),
}


def prepare(folder: Path, subscribers: int, finished: int) -> None:
    """bench/send.py's database, plus ``finished`` deliveries of earlier announcements."""
    from runner.db import connect

    sys.path.insert(0, str(ROOT / "bench"))
    from send import make_db  # bench/send.py

    db, _ = make_db(folder, subscribers)
    if not finished:
        return
    past = finished // subscribers
    con = connect(db)
    con.execute("""
        INSERT INTO announcements (announcement_id, path, title, category, urgency, publish_at)
        SELECT 'past-' || lpad(a::VARCHAR, 3, '0'), 'x.md', 'Earlier', 'eventi', 'normal',
               TIMESTAMPTZ '2023-04-01 10:00:00+02' + INTERVAL (a * 5) DAY
        FROM range(?) t(a)""", [past])
    # One status webhook per message sent, carrying the callback, as in a real year.
    con.execute("""
        CREATE TEMP TABLE past AS
        SELECT 'a:past-' || lpad(a::VARCHAR, 3, '0') || ':c_' || lpad(i::VARCHAR, 8, '0') AS id,
               'past-' || lpad(a::VARCHAR, 3, '0') AS ann, 'c_' || lpad(i::VARCHAR, 8, '0') AS cit,
               'wamid.' || a || '.' || i AS wamid, CASE WHEN i % 3 = 0 THEN 'sent' ELSE 'read' END
               AS state, TIMESTAMPTZ '2023-04-01 10:00:00+02' + INTERVAL (a * 5) DAY AS ts
        FROM range(?) t(a), range(?) u(i)""", [past, subscribers])
    con.execute("""
        INSERT INTO deliveries (delivery_id, kind, announcement_id, citizen_id, state, wamid,
                                attempts, created_at, sent_at, updated_at)
        SELECT id, 'announcement', ann, cit, state, wamid, 1, ts, ts, ts FROM past""")
    con.execute("""
        INSERT INTO statuses (wamid, status, ts, sent_at, read_at, recipient_id, callback)
        SELECT wamid, state, ts, ts, CASE WHEN state = 'read' THEN ts END, '39' || cit,
               'banditore:' || id FROM past""")
    con.close()


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
                [sys.executable, str(ROOT / "tests" / "cloud_api_server.py"), "--latency",
                 "0.15"], stdout=subprocess.PIPE, text=True)
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
