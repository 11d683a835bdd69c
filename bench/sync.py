"""Benchmark: sync 1,000,000 webhook events into DuckDB.

    .venv/bin/python bench/sync.py [--events 1000000] [--dir /tmp/banditore-bench]

Generates webhook logs in Meta's shapes (subscriptions in real-world
spellings, unsubscriptions, chatter, near misses, media, statuses with
failures and duplicates; daily files, a few gzipped), then runs each phase in
a fresh subprocess and prints wall time and peak RSS:

- cold:     sync into an empty database
- no-op:    sync again, nothing new
- append:   a new day's file (1 % more events) into the full database
- rebuild:  sync --rebuild
- baseline: a plain ``json.loads`` loop computing only the active set

Targets on a 2-core machine: cold <= 10 s, peak RSS <= 1.5 GB, no-op <= 1 s.
A benchmark prints figures; it asserts nothing (tests do that).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START = 1710716400  # 2024-03-18 00:00 Europe/Rome
DAYS = 16

SUBSCRIBE = ["MI ISCRIVO", "mi iscrivo", "Mi iscrivo!", "“MI ISCRIVO”", "mi iscrivo 🙏",
             "MI ISCRIVO.", "Mi  iscrivo", "ISCRIVIMI", "iscrivimi 👍", "MI\u00a0ISCRIVO"]
UNSUBSCRIBE = ["MI CANCELLO", "mi cancello", "Mi cancello.", "CANCELLAMI", "cancellami!"]
CHATTER = ["Grazie", "Buongiorno", "Ciao, a che ora apre l'anagrafe?", "👍", "Ok",
           "Vorrei iscrivermi", "Quando passa la raccolta del vetro in via", "Grazie mille!",
           "Ma domani le scuole sono chiuse?", "Buonasera, il mercato si fa anche con la pioggia?"]
STATUSES = ["sent", "delivered", "read", "read", "failed"]


def _envelope(value: dict) -> str:
    value = {"messaging_product": "whatsapp",
             "metadata": {"display_phone_number": "393330000000",
                          "phone_number_id": "109876543210987"}, **value}
    return json.dumps({"object": "whatsapp_business_account",
                       "entry": [{"id": "102345678901234",
                                  "changes": [{"field": "messages", "value": value}]}]},
                      separators=(",", ":"), ensure_ascii=False)


def _wamid(rng: random.Random) -> str:
    return "wamid.HBgM" + "".join(rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", k=48))


def _inbound(rng, number, ts, text, kind="text"):
    msg = {"from": number, "id": _wamid(rng), "timestamp": str(ts), "type": kind}
    if kind == "text":
        msg["text"] = {"body": text}
    else:
        msg["image"] = {"id": str(rng.randrange(10**15)), "mime_type": "image/jpeg",
                        "sha256": "x" * 44, "caption": text}
    contact = {"profile": {"name": rng.choice(["Maria", "Luca", "Giulia", "Paolo R."])},
               "wa_id": number}
    return _envelope({"contacts": [contact], "messages": [msg]})


def _status(rng, number, ts, status, wamid, callback):
    st = {"id": wamid, "status": status, "timestamp": str(ts), "recipient_id": number,
          "biz_opaque_callback_data": callback}
    if status == "failed":
        st["errors"] = [{"code": 131026, "title": "Message undeliverable.",
                         "message": "Message undeliverable.",
                         "error_data": {"details": "Message Undeliverable."}}]
    else:
        st["pricing"] = {"billable": True, "pricing_model": "PMP", "type": "regular",
                         "category": "utility"}
    return _envelope({"statuses": [st]})


def generate(folder: Path, events: int, seed: int = 7) -> int:
    """Write about ``events`` webhook lines into daily files; returns the bytes written."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    citizens = [f"39333{n:07d}" for n in rng.sample(range(10**7), events // 5)]
    days: list[list[str]] = [[] for _ in range(DAYS)]
    for i in range(events):
        day = rng.randrange(DAYS)
        ts = START + day * 86400 + rng.randrange(86400)
        number = rng.choice(citizens)
        r = rng.random()
        if r < 0.25:
            line = _inbound(rng, number, ts, rng.choice(SUBSCRIBE))
        elif r < 0.30:
            line = _inbound(rng, number, ts, rng.choice(UNSUBSCRIBE))
        elif r < 0.38:
            # Chatter is mostly distinct text: a phrase plus a number or a street.
            line = _inbound(rng, number, ts, f"{rng.choice(CHATTER)} {rng.randrange(5000)}")
        elif r < 0.40:
            line = _inbound(rng, number, ts, "foto", kind="image")
        else:
            wamid = f"wamid.OUT{i // 3:012d}"
            line = _status(rng, number, ts, rng.choice(STATUSES), wamid,
                           f"banditore:a:2024-03-{18 + day:02d}-avviso:c_{i // 3:016x}")
        days[day].append(line)
        if rng.random() < 0.01:  # Meta retries: the same POST again, another day
            days[rng.randrange(DAYS)].append(line)
    written = 0
    for day, lines in enumerate(days):
        data = ("\n".join(lines) + "\n").encode()
        name = f"2024-03-{18 + day:02d}.jsonl"
        if day % 5 == 4:  # some rotated files are compressed
            (folder / (name + ".gz")).write_bytes(gzip.compress(data, 1))
        else:
            (folder / name).write_bytes(data)
        written += len(data)
    broken = '{"object":"whatsapp_business_account","entry":[{\nnot json\n\n'
    (folder / "broken.jsonl").write_text(broken)
    return written


BASELINE = """
import gzip, json, pathlib, sys
active = set()
events = []
for path in sorted(pathlib.Path(sys.argv[1]).iterdir()):
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            try:
                body = json.loads(line)
            except ValueError:
                continue
            for entry in body.get("entry") or []:
                for change in entry.get("changes") or []:
                    for m in (change.get("value") or {}).get("messages") or []:
                        text = (m.get("text") or {}).get("body", "").strip().upper()
                        events.append((m.get("timestamp"), m.get("id"), m.get("from"), text))
events.sort()
for ts, wamid, number, text in events:
    if text in ("MI ISCRIVO", "ISCRIVIMI"):
        active.add(number)
    elif text in ("MI CANCELLO", "CANCELLAMI"):
        active.discard(number)
print(len(active))
"""


# Each phase runs in its own process and reports its own peak RSS on exit. VmHWM,
# not ru_maxrss: Linux carries ru_maxrss across fork+exec, so a child would
# report the generator's (the parent's) peak instead of its own.
PEAK = ("import re; print('peak_kb', re.search(r'VmHWM:\\s+(\\d+)', "
        "open('/proc/self/status').read()).group(1))")


def _run(label: str, code: list[str], env: dict) -> None:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu0 = usage.ru_utime + usage.ru_stime
    t0 = time.perf_counter()
    out = subprocess.run(code, env=env, capture_output=True, text=True, cwd=ROOT)
    elapsed = time.perf_counter() - t0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = usage.ru_utime + usage.ru_stime - cpu0
    if out.returncode:
        print(out.stdout, out.stderr, file=sys.stderr)
    lines = out.stdout.strip().splitlines()
    peak = next((int(x.split()[1]) for x in lines if x.startswith("peak_kb")), 0)
    shown = [x for x in lines if not x.startswith("peak_kb")][-2:]
    print(f"{label:9s} {elapsed:6.2f} s  (CPU {cpu:5.1f} s)  peak RSS {peak / 1024:5.0f} MB  "
          f"{' / '.join(shown)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/banditore-bench"))
    parser.add_argument("--phases", default="cold,noop,append,rebuild,baseline")
    args = parser.parse_args()
    logs, db = args.dir / "logs", args.dir / "bench.duckdb"
    if not (logs / "broken.jsonl").exists() or args.events != _events_of(args.dir):
        t0 = time.perf_counter()
        size = generate(logs, args.events)
        (args.dir / "events").write_text(str(args.events))
        print(f"generated {args.events} events, {size / 1e6:.0f} MB in "
              f"{time.perf_counter() - t0:.1f} s")
    env = {"PATH": "/usr/bin:/bin", "BANDITORE_DATABASE": str(db),
           "BANDITORE_WEBHOOK_LOGS": str(logs),
           "BANDITORE_SUBSCRIBE_KEYWORDS": '["MI ISCRIVO", "ISCRIVIMI"]',
           "BANDITORE_UNSUBSCRIBE_KEYWORDS": '["MI CANCELLO", "CANCELLAMI"]',
           "BANDITORE_DECISIONS_FILE": str(args.dir / "decisions.txt")}
    py = sys.executable
    sync = [py, "-c", "import sys; from runner.settings import load_settings; "
            "from runner.subscribers.sync import sync; "
            "s = sync(load_settings(), rebuild='-r' in sys.argv); "
            "print(s.one_line()); print({k: round(v, 2) for k, v in s.steps.items()}); " + PEAK]
    # Each phase in its own process, so each peak RSS is its own.
    phases = args.phases.split(",")
    for phase in phases:
        if phase == "cold":
            for suffix in ("", ".wal"):
                Path(str(db) + suffix).unlink(missing_ok=True)
            _run("cold", sync, env)
        elif phase == "noop":
            if not db.exists():
                continue
            _run("no-op", sync, env)
        elif phase == "append":
            # The receiver wrote a new day: 1 % more events into an existing database.
            extra = logs / "2024-04-09.jsonl"
            generate(args.dir / "extra", args.events // 100, seed=11)
            with extra.open("wb") as out:
                for day in sorted((args.dir / "extra").glob("2024-*.jsonl")):
                    out.write(day.read_bytes())
            _run("append", sync, env)
            extra.unlink()
        elif phase == "rebuild":
            _run("rebuild", [*sync, "-r"], env)
        elif phase == "baseline":
            _run("baseline", [py, "-c", BASELINE + PEAK, str(logs)], env)


def _events_of(folder: Path) -> int:
    try:
        return int((folder / "events").read_text())
    except (OSError, ValueError):
        return -1


if __name__ == "__main__":
    main()
