"""``--against DIR``, shared by bench/publish.py, bench/report.py and bench/validate.py:
this checkout and another (``git worktree add DIR <commit>``) side by side.

Each round runs the script's measurement once in a fresh process per checkout
(PYTHONPATH names it; the working directory, a generated repository, has no
runner/), swapping which goes first every other round: with an even ``--repeat``
each side goes first as often. What is measured, the snippet and the keys of its
JSON line, is each script's own; this module runs the rounds and prints the medians
and ratios. It is not a benchmark: run by ``make bench``, it prints nothing.
"""

from __future__ import annotations

import inspect
import json
import os
import resource
import statistics
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent  # this checkout


def cpu() -> float:
    """User + system time of this process and its finished workers: the work done,
    whatever else the (shared) machine is busy with."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(
        resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


# cpu() as source, to begin the scripts' MEASURE snippets with: they run on the
# other checkout's code, which need not have this module.
CPU = "import resource\n\n" + inspect.getsource(cpu)


def measure(source: str, *args: str, cwd: Path | str, env: dict[str, str]) -> dict:
    """Run ``source`` with ``python -c`` in a fresh process: its last line is JSON."""
    done = subprocess.run([sys.executable, "-c", source, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def seconds(figures: dict, keys: tuple[str, ...]) -> str:
    return ", ".join(f"{key} {figures[key]:.2f} s" for key in keys)


def ratios(figures: dict, keys: tuple[str, ...]) -> str:
    return ", ".join(f"{key} {figures[key]:.2f}" for key in keys)


@dataclass
class Rounds:
    """Every run of both sides, in the order of the rounds."""

    sides: dict[str, Path]
    runs: dict[str, list[dict]]
    keys: tuple[str, ...]
    label: str  # before the figures of each line, as "publish"; may be empty

    def median(self, name: str) -> dict[str, float]:
        return {key: statistics.median(r[key] for r in self.runs[name]) for key in self.keys}

    def ratio_of_medians(self) -> dict[str, float]:
        this, against = self.median("this"), self.median("against")
        return {key: this[key] / max(against[key], 1e-9) for key in self.keys}

    def median_of_pairs(self) -> dict[str, float]:
        # The two runs of a round are next to each other in time: their ratio cancels
        # most of a shared machine's load drifting over the whole run (with an even
        # --repeat, each side goes first as often).
        pairs = list(zip(self.runs["this"], self.runs["against"], strict=True))
        return {key: statistics.median(t[key] / max(a[key], 1e-9) for t, a in pairs)
                for key in self.keys}

    def print_summary(self, about: Callable[[dict], str] | None = None) -> None:
        """Each side's medians (after ``about`` its first run, if given), then this /
        against: the ratio of the medians, with the load, and the median of the pairs."""
        label = f"{self.label} " if self.label else ""
        for name, path in self.sides.items():
            said = f": {about(self.runs[name][0])};" if about else ","
            print(f"{name:8} {path}{said} medians over {len(self.runs[name])} runs: "
                  + seconds(self.median(name), self.keys))
        print("this / against, medians: " + label
              + ratios(self.ratio_of_medians(), self.keys)
              + f" (load average {os.getloadavg()[0]:.1f})")
        print("this / against, median of each round's pair: " + label
              + ratios(self.median_of_pairs(), self.keys))


def alternate(against: Path, repeat: int, keys: tuple[str, ...],
              one: Callable[[str, dict[str, str]], dict], label: str = "") -> Rounds:
    """``repeat`` rounds of ``one(side, env)``, "this" checkout's and ``against``'s,
    env naming the side's code in PYTHONPATH; prints each run's ``keys``."""
    sides = {"this": HERE, "against": against.resolve()}
    rounds = Rounds(sides, {name: [] for name in sides}, keys, label)
    for round_ in range(repeat):
        order = list(sides) if round_ % 2 == 0 else list(sides)[::-1]
        for name in order:
            env = {**os.environ, "PYTHONPATH": str(sides[name])}
            rounds.runs[name].append(one(name, env))
            print(f"round {round_ + 1} {name:8} " + (f"{label} " if label else "")
                  + seconds(rounds.runs[name][-1], keys), flush=True)
    return rounds
