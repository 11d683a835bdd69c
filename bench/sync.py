"""Benchmark: sync 1,000,000 webhook lines into DuckDB, messy ones included.

    .venv/bin/python bench/sync.py [--events 1000000] [--runs 3] [--dir /tmp/banditore-bench-messy]
                                   [--against CHECKOUT]

Generates webhook logs in Meta's shapes (subscriptions in real-world
spellings, unsubscriptions, chatter, near misses, media, statuses with
failures and duplicates; daily files, a few gzipped) as a receiver meets them:
1 % of the lines malformed, of every kind (empty, cut short, not JSON, JSON of
the wrong shape, invalid UTF-8), and a few files of other shapes (CRLF line
ends, a byte-order mark, pretty-printed bodies, batched webhooks, bodies the
receiver re-serialised, a body nested 50,000 deep, a 1 MB line, concatenated
gzip members, no final newline). Then, each run in a fresh subprocess, with
wall time and peak RSS:

- cold:     sync into an empty database
- baseline: a plain single-threaded stdlib ``json.loads`` reader over the same
            files (computing only the active set), run alternately with cold
- floor:    the least any sync into DuckDB could cost:
            DuckDB's own multi-threaded JSON reader storing the valid lines'
            messages and statuses as flat tables, and nothing else (no line
            numbers, no malformed lines, no pseudonyms, no duplicates, no state)
- no-op:    sync again, nothing new
- append:   a new day's file (1 % more lines) into the full database
- rebuild:  sync --rebuild

and the medians: cold / baseline (target <= 0.75), no-op / cold (target
<= 5 %), peak RSS (target <= 1.5 GB). Each sync also prints the seconds of its
steps (parse, identify, classify, inbound, statuses, imports, state machine,
minimise and notify, write and commit): where the time goes.

With ``--against CHECKOUT`` (another checkout, e.g. ``git worktree add`` of the
commit before a change) each phase of sync runs there too, alternating with this
one's, and the ratio of this one's median to it is printed: a change's cost,
measured side by side. A benchmark prints figures; it asserts nothing (tests do
that).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
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


def _malformed(rng: random.Random, good: str, kind: str) -> bytes:
    """One malformed line of ``kind``, made from a good one."""
    if kind == "empty":
        return rng.choice([b"", b" ", b"\t", b"\r"])
    if kind == "truncated":
        return good.encode()[: rng.randrange(1, len(good) - 1)]
    if kind == "not_json":
        return rng.choice([b"GET /webhook HTTP/1.1", b"<html><body>502 Bad Gateway</body></html>",
                           b"ok", b"{'entry': []}", b"NaN", b"\x00\x00\x00\x00"])
    if kind == "invalid_utf8":
        # A proxy that re-encoded the body as Latin-1, or a byte flipped on disk.
        return good.encode().replace(b'"timestamp"', b'"timestamp\xe0"', 1)
    return rng.choice(WRONG_SHAPES).encode()


WRONG_SHAPES = [
    '{"hello":"world"}', "[1,2,3]", '"just a string"', "42", "null", '{"entry":5}',
    '{"object":"whatsapp_business_account","entry":[{"changes":"none"}]}',
    _envelope({"messages": [{"type": "text", "text": {"body": "MI ISCRIVO"}}]}),  # no id
    _envelope({"messages": [{"from": 393330000001, "id": "wamid.WS1", "timestamp": "1710716400",
                             "type": "text", "text": {"body": "MI ISCRIVO"}}]}),  # from a number
    _envelope({"messages": [{"from": "393330000002", "id": "wamid.WS2", "timestamp": "1710716400",
                             "type": "text", "text": {"body": ["MI ISCRIVO"]}}]}),  # body a list
    _envelope({"messages": [{"from": "393330000003", "id": "wamid.WS3",
                             "timestamp": "253402300800", "type": "text",  # year 10000
                             "text": {"body": "MI ISCRIVO"}}]}),
    _envelope({"statuses": [{"id": "wamid.WS4", "status": "exploded",
                             "timestamp": "1710716400", "recipient_id": "393330000004"}]}),
]
MALFORMED_KINDS = ("empty", "truncated", "not_json", "wrong_shape", "invalid_utf8")


def _event(rng: random.Random, i: int, day: int, citizens: list[str]) -> str:
    ts = START + day * 86400 + rng.randrange(86400)
    number = rng.choice(citizens)
    r = rng.random()
    if r < 0.25:
        return _inbound(rng, number, ts, rng.choice(SUBSCRIBE))
    if r < 0.30:
        return _inbound(rng, number, ts, rng.choice(UNSUBSCRIBE))
    if r < 0.38:
        # Chatter is mostly distinct text: a phrase plus a number or a street.
        return _inbound(rng, number, ts, f"{rng.choice(CHATTER)} {rng.randrange(5000)}")
    if r < 0.40:
        return _inbound(rng, number, ts, "foto", kind="image")
    wamid = f"wamid.OUT{i // 3:012d}"
    return _status(rng, number, ts, rng.choice(STATUSES), wamid,
                   f"banditore:a:2024-03-{18 + day:02d}-avviso:c_{i // 3:016x}")


def generate(folder: Path, events: int, seed: int = 7, messy: float = 0.01) -> int:
    """Write ``events`` webhook lines (``messy`` of them malformed) into daily
    files, plus a few files of other shapes; returns the bytes written."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    citizens = [f"39333{n:07d}" for n in rng.sample(range(10**7), max(1, events // 5))]
    days: list[list[bytes]] = [[] for _ in range(DAYS)]
    for i in range(events):
        day = rng.randrange(DAYS)
        line = _event(rng, i, day, citizens)
        if rng.random() < messy:
            days[day].append(_malformed(rng, line, MALFORMED_KINDS[i % len(MALFORMED_KINDS)]))
            continue
        days[day].append(line.encode())
        if rng.random() < 0.01:  # Meta retries: the same POST again, another day
            days[rng.randrange(DAYS)].append(line.encode())
    written = 0
    for day, lines in enumerate(days):
        data = b"\n".join(lines) + b"\n"
        name = f"2024-03-{18 + day:02d}.jsonl"
        if day % 5 == 4:  # some rotated files are compressed
            (folder / (name + ".gz")).write_bytes(gzip.compress(data, 1))
        else:
            (folder / name).write_bytes(data)
        written += len(data)
    return written + _other_shapes(folder, rng, citizens)


def _other_shapes(folder: Path, rng: random.Random, citizens: list[str]) -> int:
    """Files a town's logs folder collects besides the receiver's daily files."""
    some = [_event(rng, 10**8 + i, 0, citizens) for i in range(2000)]
    files = {
        # Copied through a Windows machine; saved by an editor with a BOM.
        "windows-copy.jsonl": "\r\n".join(some[:500]).encode() + b"\r\n",
        "bom.jsonl": b"\xef\xbb\xbf" + "\n".join(some[500:600]).encode() + b"\n",
        # Someone pretty-printed bodies into a log: every line of them is malformed.
        "pretty.jsonl": "\n".join(json.dumps(json.loads(x), indent=2)
                                  for x in some[600:620]).encode() + b"\n",
        # Batched webhooks: many changes and messages in one body.
        "batched.jsonl": "\n".join(_batched(rng, some[620:1620], 50)).encode() + b"\n",
        # The receiver's own re-serialised form (ASCII-escaped, marked).
        "reserialised.jsonl": "\n".join(
            json.dumps({**json.loads(x), "banditore_reserialised": True},
                       separators=(",", ":"), ensure_ascii=True)
            for x in some[1620:1720]).encode() + b"\n",
        # A signed body nested 50,000 deep, a 1 MB line, and no final newline.
        "odd.jsonl": ("[" * 50_000 + "]" * 50_000 + "\n" + some[1720] + "\n"
                      + _envelope({"messages": [{"from": citizens[0], "id": "wamid.BIG",
                                                 "timestamp": str(START), "type": "text",
                                                 "text": {"body": "x" * 1_000_000}}]})
                      + "\n" + "\n".join(some[1721:1800])).encode(),
    }
    # logrotate's copytruncate + gzip: one file, several gzip members.
    members = [gzip.compress(("\n".join(some[n:n + 50]) + "\n").encode(), 1)
               for n in range(1800, 2000, 50)]
    files["members.jsonl.gz"] = b"".join(members)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return sum(len(d) for d in files.values())


def _batched(rng: random.Random, lines: list[str], per: int) -> list[str]:
    out = []
    for n in range(0, len(lines), per):
        values = [json.loads(x)["entry"][0]["changes"][0] for x in lines[n:n + per]]
        out.append(json.dumps({"object": "whatsapp_business_account", "entry": [
            {"id": "102345678901234", "changes": values[: per // 2]},
            {"id": "102345678901234", "changes": values[per // 2:]}]},
            separators=(",", ":"), ensure_ascii=False))
    return out


# A plain single-threaded stdlib reader: what a town could write in an afternoon.
BASELINE = """
import gzip, json, pathlib, sys
active = set()
events = []
for path in sorted(pathlib.Path(sys.argv[1]).iterdir()):
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        for line in f:
            try:
                body = json.loads(line)
            except (ValueError, RecursionError):
                continue
            if not isinstance(body, dict) or not isinstance(body.get("entry"), list):
                continue
            for entry in body["entry"]:
                for change in (entry.get("changes") or []) if isinstance(entry, dict) else []:
                    value = change.get("value") if isinstance(change, dict) else None
                    for m in (value.get("messages") or []) if isinstance(value, dict) else []:
                        text = (m.get("text") or {}).get("body", "")
                        if isinstance(text, str) and isinstance(m.get("from"), str):
                            events.append((str(m.get("timestamp")), str(m.get("id")),
                                           m["from"], text.strip().upper()))
events.sort()
for ts, wamid, number, text in events:
    if text in ("MI ISCRIVO", "ISCRIVIMI"):
        active.add(number)
    elif text in ("MI CANCELLO", "CANCELLAMI"):
        active.discard(number)
print(len(active))
"""


# DuckDB's own reader over the valid lines only (it gives up on a file at an
# invalid UTF-8 byte, so they are copied out once): parse and store, no logic.
FLOOR = """
import duckdb, pathlib, sys
pathlib.Path(sys.argv[2]).unlink(missing_ok=True)
con = duckdb.connect(sys.argv[2], config={"enable_progress_bar": False})
con.execute(\"\"\"CREATE TEMP TABLE ev AS SELECT
    e.entry[1].changes[1].value.messages[1] AS m, e.entry[1].changes[1].value.statuses[1] AS s,
    e.entry[1].changes[1].value.contacts[1] AS c
FROM read_json(?, format='newline_delimited', maximum_object_size=2000000, columns={'entry':
    'STRUCT(changes STRUCT(value STRUCT(
     contacts STRUCT(wa_id VARCHAR, profile STRUCT(name VARCHAR))[],
     messages STRUCT("from" VARCHAR, id VARCHAR, "timestamp" VARCHAR, type VARCHAR,
                     text STRUCT(body VARCHAR))[],
     statuses STRUCT(id VARCHAR, status VARCHAR, "timestamp" VARCHAR, recipient_id VARCHAR,
                     biz_opaque_callback_data VARCHAR, errors STRUCT(code INTEGER)[])[]))[])[]'})
    AS e\"\"\", [sys.argv[1] + '/*.jsonl'])
con.execute(\"\"\"CREATE TABLE inbound AS SELECT m.id AS wamid, m."from" AS number,
    to_timestamp(m.timestamp::BIGINT) AS ts, m.type, m.text.body AS text, c.profile.name AS name
    FROM ev WHERE m IS NOT NULL\"\"\")
con.execute(\"\"\"CREATE TABLE statuses AS SELECT s.id AS wamid, s.status,
    to_timestamp(s.timestamp::BIGINT) AS ts, s.recipient_id, s.biz_opaque_callback_data AS callback,
    s.errors[1].code AS error_code FROM ev WHERE s IS NOT NULL\"\"\")
con.execute("CHECKPOINT")
print("messages, statuses:", con.execute(
    "SELECT (SELECT count(*) FROM inbound), (SELECT count(*) FROM statuses)").fetchall()[0])
"""


def _floor(folder: Path) -> list[str]:
    """The floor's command, after copying out (once) the lines a stdlib reader
    finds to be webhooks, uncompressed, one file each."""
    valid = folder / "valid"
    if not valid.exists():
        _valid_copy(folder / "logs", valid)
    return [sys.executable, "-c", FLOOR + PEAK, str(valid), str(folder / "floor.duckdb")]


def _valid_copy(logs: Path, valid: Path) -> None:
    valid.mkdir()
    for path in sorted(logs.iterdir()):
        kept = []
        with (gzip.open if path.suffix == ".gz" else open)(path, "rb") as f:
            for line in f:
                try:
                    body = json.loads(line.decode())
                except (ValueError, RecursionError):
                    continue
                if _webhook(body):
                    kept.append(line.rstrip(b"\r\n"))
        (valid / path.name.removesuffix(".gz")).write_bytes(b"\n".join(kept) + b"\n")


def _webhook(body) -> bool:
    """Whether ``body`` has the shape of a webhook, down to each change's value."""
    entries = body.get("entry") if isinstance(body, dict) else None
    return isinstance(entries, list) and all(
        isinstance(e, dict) and isinstance(e.get("changes"), list)
        and all(isinstance(c, dict) and isinstance(c.get("value"), dict) for c in e["changes"])
        for e in entries)


# Each phase runs in its own process and reports its own peak RSS on exit. VmHWM,
# not ru_maxrss: Linux carries ru_maxrss across fork+exec, so a child would
# report the generator's (the parent's) peak instead of its own.
PEAK = ("import re; print('peak_kb', re.search(r'VmHWM:\\s+(\\d+)', "
        "open('/proc/self/status').read()).group(1))")


def _run(label: str, code: list[str], env: dict, cwd: Path = ROOT) -> tuple[float, float]:
    """Run one phase in its own process (in ``cwd``: the checkout whose runner it
    imports); print and return (seconds, peak MB)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu0 = usage.ru_utime + usage.ru_stime
    t0 = time.perf_counter()
    out = subprocess.run(code, env=env, capture_output=True, text=True, cwd=cwd)
    elapsed = time.perf_counter() - t0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = usage.ru_utime + usage.ru_stime - cpu0
    if out.returncode:
        print(out.stdout, out.stderr, file=sys.stderr)
    lines = out.stdout.strip().splitlines()
    peak = next((int(x.split()[1]) for x in lines if x.startswith("peak_kb")), 0) / 1024
    shown = [x for x in lines if not x.startswith("peak_kb")][-2:]
    print(f"{label:13s} {elapsed:6.2f} s  (CPU {cpu:5.1f} s)  peak RSS {peak:5.0f} MB  "
          f"{shown[0][:150] if shown else ''}", flush=True)
    if len(shown) > 1:
        print(f"{'':13s} {shown[1]}")  # seconds per step
    return elapsed, peak


GENERATION = "messy-1"  # bump when generate() changes, so old logs are made again


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3, help="cold and baseline runs each")
    parser.add_argument("--dir", type=Path, default=Path("/tmp/banditore-bench-messy"))
    parser.add_argument("--phases", default="cold,floor,noop,append,rebuild")
    parser.add_argument("--against", type=Path, help="another checkout of the project (the "
                        "commit before a change): its sync runs each phase too, alternating "
                        "with this one's, into its own database, and the ratios are printed")
    args = parser.parse_args()
    logs = args.dir / "logs"
    _generated(args.dir, args.events)
    env = {"PATH": "/usr/bin:/bin", "BANDITORE_WEBHOOK_LOGS": str(logs),
           "BANDITORE_SUBSCRIBE_KEYWORDS": '["MI ISCRIVO", "ISCRIVIMI"]',
           "BANDITORE_UNSUBSCRIBE_KEYWORDS": '["MI CANCELLO", "CANCELLAMI"]',
           "BANDITORE_DECISIONS_FILE": str(args.dir / "decisions.txt")}
    # Each tree's sync imports the runner of the folder it runs in, into its own database.
    trees = [Tree("", ROOT, args.dir / "bench.duckdb")]
    if args.against:
        trees.append(Tree(AGAINST, args.against.resolve(), args.dir / "against.duckdb"))
    py = sys.executable
    sync = [py, "-c", "import sys; from runner.config import load_settings; "
            "from runner.subscribers.sync import sync; "
            "s = sync(load_settings(), rebuild='-r' in sys.argv); "
            "print(s.one_line()); print({k: round(v, 2) for k, v in s.steps.items()}); " + PEAK]
    phases = args.phases.split(",")
    # Side by side: cold and the baseline (and the floor) alternate, so all meet the same noise.
    others = [("baseline", [py, "-c", BASELINE + PEAK, str(logs)])]
    if "floor" in phases:
        others.append(("floor", _floor(args.dir)))
    times: dict[str, list[float]] = {}
    peaks: dict[str, float] = {}

    def run(label: str, code: list[str], tree: Tree = trees[0]) -> None:
        seconds, peak = _run(label + tree.label, code,
                             {**env, "BANDITORE_DATABASE": str(tree.db)}, tree.root)
        times.setdefault(label + tree.label, []).append(seconds)
        peaks[label + tree.label] = max(peak, peaks.get(label + tree.label, 0))

    for phase in phases:
        _phase(phase, args, trees, sync, others, run)
    _summary(times, peaks)


def _phase(phase: str, args, trees: list[Tree], sync: list[str],
           others: list[tuple[str, list[str]]], run) -> None:
    """One phase, each tree's sync in turn (and, cold, the baseline and floor after)."""
    if phase == "cold":
        for _ in range(args.runs):
            for tree in trees:
                tree.empty()
                run("cold", sync, tree)
            for label, code in others:
                run(label, code)
    elif phase == "noop":
        for _ in range(args.runs):
            for tree in (t for t in trees if t.db.exists()):
                run("no-op", sync, tree)
    elif phase == "append":
        extra = _new_day(args.dir, args.events // 100)
        for tree in trees:
            run("append", sync, tree)
        extra.unlink()
    elif phase == "rebuild":
        for tree in trees:
            run("rebuild", [*sync, "-r"], tree)


AGAINST = "@against"


@dataclass(frozen=True)
class Tree:
    """A checkout whose sync is measured: its label's suffix, its root, its database."""

    label: str
    root: Path
    db: Path

    def empty(self) -> None:
        """No database: the next sync is cold."""
        for suffix in ("", ".wal"):
            Path(str(self.db) + suffix).unlink(missing_ok=True)


def _generated(folder: Path, events: int) -> None:
    """Make the logs, unless the folder holds them from the same generator."""
    stamp = f"{events} {GENERATION}"
    if _stamp_of(folder) == stamp:
        return
    for made in ("logs", "valid"):
        shutil.rmtree(folder / made, ignore_errors=True)
    t0 = time.perf_counter()
    size = generate(folder / "logs", events)
    (folder / "events").write_text(stamp)
    print(f"generated {events} lines (1 % malformed) and files of other shapes, "
          f"{size / 1e6:.0f} MB in {time.perf_counter() - t0:.1f} s")


def _new_day(folder: Path, events: int) -> Path:
    """The receiver wrote a new day: 1 % more lines into an existing database."""
    extra = folder / "logs" / "2024-04-09.jsonl"
    generate(folder / "extra", events, seed=11)
    with extra.open("wb") as out:
        for day in sorted((folder / "extra").glob("2024-*.jsonl")):
            out.write(day.read_bytes())
    return extra


def _summary(times: dict[str, list[float]], peaks: dict[str, float]) -> None:
    median = {label: statistics.median(values) for label, values in times.items()}
    print("\nmedians: " + ", ".join(f"{k} {v:.2f} s" for k, v in median.items()))
    if "cold" in median and "baseline" in median:
        print(f"cold / baseline = {median['cold'] / median['baseline']:.2f} (target <= 0.75)")
    if "floor" in median and "baseline" in median:
        print(f"floor / baseline = {median['floor'] / median['baseline']:.2f} "
              "(DuckDB's reader storing the valid events, nothing else)")
    if "cold" in median and "no-op" in median:
        print(f"no-op / cold = {100 * median['no-op'] / median['cold']:.1f} % (target <= 5 %)")
    if syncs := [peak for label, peak in peaks.items() if label not in ("baseline", "floor")]:
        print(f"peak RSS of any sync: {max(syncs):.0f} MB (target <= 1536 MB)")
    for label in [k for k in median if k + AGAINST in median]:
        print(f"{label}: this / against = {median[label] / median[label + AGAINST]:.2f}, "
              f"peak RSS {peaks[label]:.0f} / {peaks[label + AGAINST]:.0f} MB")


def _stamp_of(folder: Path) -> str:
    try:
        return (folder / "events").read_text()
    except OSError:
        return ""


if __name__ == "__main__":
    main()
