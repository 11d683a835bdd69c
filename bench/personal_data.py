"""Benchmark: the phone finder of the privacy check on announcement bodies.

    .venv/bin/python bench/personal_data.py [--bodies 2000] [--runs 5]

Times ``find_phones`` (the table-driven finder: separators, prefixes, look-alikes
blanked around runs of digits) on bodies as offices write them (dates, opening
hours, amounts, protocol numbers, links to the town's site, an office number, now
and then a private mobile in some spelling), side by side with a baseline run
alternately on the same bodies: one pass of the single regular expression the
finder used before the table (``\\+?\\d[\\d .\\-/]{4,}\\d``), which finds runs of digits
and judges nothing. Prints the medians per body and their ratio. A benchmark
prints figures; it asserts nothing (tests do that).
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from runner.announcements.personal_data import find_phones  # noqa: E402

PARTS = [
    "Dal {d:02d}.04.2024 al {e:02d}/04/2024 l'ufficio anagrafe è aperto dalle 8.30 alle 12.30.",
    "Il contributo è di € 1.{n:03d},00 (delibera n. {n}/2024, prot. n. 00{n:05d}).",
    "Per informazioni chiama l'ufficio tecnico allo 0721 123456 o scrivi a urp@comune.it.",
    "Il modulo è su https://www.comune.bench.it/modulistica/{n:010d} (CAP 24060).",
    "Chiama il signor Rossi al 347.{n:03d}.45.67 per le chiavi della palestra.",
    "**Via Roma** resta chiusa; i bus fermano in piazza Garibaldi, civici 30 e 32.",
]
BASELINE = re.compile(r"(?<![\w.,/+-])(?:\+|00)?\d[\d .\-/]{4,}\d(?![\w])")


def bodies(count: int) -> list[str]:
    out = []
    for n in range(count):
        chosen = [p for i, p in enumerate(PARTS) if (n + i) % 3 or i == 5]
        out.append("\n\n".join(p.format(n=n % 1000, d=1 + n % 27, e=2 + n % 27)
                               for p in chosen))
    return out


def timed(work, texts: list[str]) -> float:
    began = time.perf_counter()
    for text in texts:
        work(text)
    return (time.perf_counter() - began) / len(texts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bodies", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    texts = bodies(args.bodies)
    finder, baseline = [], []
    for _ in range(args.runs):  # alternately, so the machine's load falls on both
        finder.append(timed(lambda text: list(find_phones(text)), texts))
        baseline.append(timed(lambda text: list(BASELINE.finditer(text)), texts))
    found = sum(1 for text in texts for _ in find_phones(text))
    f, b = statistics.median(finder), statistics.median(baseline)
    print(f"{len(texts)} bodies, {found} phone numbers found; median per body over "
          f"{args.runs} runs: finder {f * 1e3:.3f} ms, baseline {b * 1e3:.3f} ms, "
          f"ratio {f / b:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
