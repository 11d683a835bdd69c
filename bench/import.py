"""Benchmark: `subscribers import` of a phone's contacts export with 15,000 numbers.

    .venv/bin/python bench/import.py [--numbers 15000] [--runs 5] [--dir DIR]

Generates a vCard in the shapes phones export (Android's 2.1: quoted-printable
names with soft line breaks, ``TEL;CELL;PREF:``; iPhone's 3.0: ``item1.TEL;type=...``,
folded lines, base64 photos; every spelling of Italian numbers, some foreign ones,
repeated numbers, invalid entries, cards without a number), then, each run in a fresh
subprocess and alternating so that both meet the same noise on a shared machine:

- import:   ``python -m runner subscribers import FILE --consented-on ...`` into an
            empty logs folder (interpreter start, reading, reading every number,
            merging repeats, writing the import record): the target is <= 5 s;
- baseline: a plain loop over the same file's lines that keeps the TEL values
            (interpreter start included): what reading the file costs at least;
- startup:  ``python -m runner subscribers import --help``: the command's fixed cost
            (the interpreter, the settings, the messages), part of ``import``;
- sync:     ``sync`` of that record into an empty database (the import's citizens
            become active subscribers, each with its migration message queued).

It prints each run, then the medians and the ratio import / baseline. A benchmark
prints figures; it asserts nothing (tests do that).
"""

from __future__ import annotations

import argparse
import base64
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIRST = ["Maria", "Giuseppe", "Anna", "Niccolò", "Lucia", "Francesco", "Giò", "Andrea",
         "Chiara", "Luca", "Elena", "Paolo", "Federica", "Matteo", "Sara"]
LAST = ["Rossi", "Bianchi", "Esposito", "Romano", "Colombo", "Ricci", "Marino", "Greco",
        "Bruno", "Gallo", "Conti", "De Luca", "Mancini", "Costa", "Giordano"]
BASELINE = """
import sys
values = []
with open(sys.argv[1], encoding="utf-8") as f:
    for line in f:
        name, colon, value = line.partition(":")
        if colon and name.split(";")[0].rsplit(".", 1)[-1].upper() == "TEL":
            values.append(value.strip())
print(len(values), "TEL values")
"""


def _qp(text: str) -> str:
    """Quoted-printable, as Android writes names, with a soft line break at 30 chars."""
    encoded = "".join(c if c.isascii() and c.isalnum() else
                      "".join(f"={b:02X}" for b in c.encode()) for c in text)
    return "=\r\n".join(encoded[i:i + 30] for i in range(0, len(encoded), 30))


def _spelling(rng: random.Random, number: str) -> str:
    """A number written as people do: Italian ones in every spelling, a foreign one
    with its country code; anything else (an invalid entry) as it is."""
    if not number.startswith("39") or len(number) != 12:
        return f"00{number[:2]} {number[2:]}" if number.startswith("41") else number
    national = number[2:]
    a, b, c = national[:3], national[3:6], national[6:]
    return rng.choice([f"+39 {a} {b} {c}", f"+39{national}", f"0039 {a} {b}{c}",
                       f"{a} {b} {c}", f"{a}.{b}.{c}", f"{a}-{b}{c}", f"{a}/{b}{c}",
                       f"(+39) {a} {b} {c}", f"+39\u00a0{a}\u00a0{b}\u00a0{c}"])


def generate(path: Path, numbers: int, seed: int = 7) -> None:
    """A contacts export with ``numbers`` distinct valid numbers, and the mess around them."""
    rng = random.Random(seed)
    mobiles = [f"393{n:09d}" for n in rng.sample(range(20_000_000, 999_999_999), numbers)]
    foreign = max(1, numbers // 100)
    valid = [f"41{n:09d}" for n in rng.sample(range(10**8, 10**9), foreign)] \
        + mobiles[foreign:]
    photo = base64.b64encode(rng.randbytes(600)).decode()
    cards, i = [], 0
    while i < len(valid):
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        tels = valid[i:i + (2 if rng.random() < 0.07 else 1)]
        i += len(tels)
        if rng.random() < 0.02:  # the same number again, in another card or spelling
            tels.append(rng.choice(valid[:i]))
        if rng.random() < 0.01:
            tels.append(rng.choice(["12345", "333 000 00", "chiedere in ufficio", ""]))
        written = [_spelling(rng, t) for t in tels]
        if rng.random() < 0.5:  # Android, vCard 2.1
            lines = ["BEGIN:VCARD", "VERSION:2.1",
                     f"N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:{_qp(name)}",
                     f"FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:{_qp(name)}"]
            lines += [f"TEL;{'CELL;PREF' if n == 0 else 'HOME'}:{t}" for n, t in enumerate(written)]
        else:  # iPhone, vCard 3.0, folded at 75
            lines = ["BEGIN:VCARD", "VERSION:3.0", f"N:{name.split()[-1]};{name.split()[0]};;;",
                     f"FN:{name}"]
            for n, t in enumerate(written):
                lines += [f"item{n + 1}.TEL;type=CELL;type=VOICE;type=pref:{t}",
                          f"item{n + 1}.X-ABLabel:_$!<Mobile>!$_"]
            if rng.random() < 0.05:
                folded = "PHOTO;ENCODING=b;TYPE=JPEG:" + photo
                lines += [folded[:75]] + [" " + folded[k:k + 74]
                                          for k in range(75, len(folded), 74)]
        lines.append("END:VCARD")
        cards.append("\r\n".join(lines))
        if rng.random() < 0.01:  # a contact with no number at all (an e-mail only)
            cards.append(f"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:{name}\r\n"
                         f"EMAIL:{name.split()[0].lower()}@example.org\r\nEND:VCARD")
    path.write_text("\r\n".join(cards) + "\r\n", encoding="utf-8")


def _run(label: str, code: list[str], env: dict, cwd: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(code, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 1):  # 1: the invalid entries the file holds on purpose
        sys.exit(f"{label} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    first = (done.stdout.strip().splitlines() or [""])[0]
    print(f"{label:9s} {seconds:6.2f} s   {first[:110]}", flush=True)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--numbers", type=int, default=15_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/banditore-bench-import"))
    args = parser.parse_args()
    shutil.rmtree(args.dir, ignore_errors=True)
    args.dir.mkdir(parents=True)
    vcf = args.dir / "rubrica.vcf"
    generate(vcf, args.numbers)
    print(f"{vcf}: {vcf.stat().st_size / 1e6:.1f} MB, {args.numbers:,} numbers", flush=True)
    logs, db = args.dir / "logs", args.dir / "bench.duckdb"
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "BANDITORE_DATABASE": str(db),
           "BANDITORE_WEBHOOK_LOGS": str(logs), "BANDITORE_PSEUDONYM_KEY": "bench-only",
           "BANDITORE_NOW": "2024-04-03T10:00:00+02:00"}
    py = sys.executable
    commands = {
        "import": [py, "-m", "runner", "subscribers", "import", str(vcf),
                   "--consented-on", "2024-03-01"],
        "baseline": [py, "-c", BASELINE, str(vcf)],
        "startup": [py, "-m", "runner", "subscribers", "import", "--help"],
        "sync": [py, "-m", "runner", "sync"],
    }
    times: dict[str, list[float]] = {label: [] for label in commands}
    for _ in range(args.runs):
        shutil.rmtree(logs, ignore_errors=True)
        for suffix in ("", ".wal"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        for label, code in commands.items():
            times[label].append(_run(label, code, env, args.dir))
    medians = {label: statistics.median(values) for label, values in times.items()}
    print(f"\nmedians of {args.runs} runs: " + ", ".join(
        f"{label} {seconds:.2f} s" for label, seconds in medians.items()))
    print(f"import / baseline = {medians['import'] / medians['baseline']:.1f}   "
          f"(import target <= 5 s for 15,000 numbers: {medians['import']:.2f} s)")


if __name__ == "__main__":
    main()
