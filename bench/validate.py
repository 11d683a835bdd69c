"""Benchmark: validate 10,000 announcements in a temporary repository.

    .venv/bin/python bench/validate.py [--count 10000] [--repeat 3] [--against DIR]

Generates a realistic repository (every category, lists, links, some emergencies,
a shared image) under a temporary directory, then times ``runner.announcements.validate.check``
on the whole of it, as ``validate`` and ``run`` do. Prints the best and median
wall-clock times. Target: <= 5 s for 10,000 files on a 2-core machine.

``--against DIR`` compares with another checkout (``git worktree add DIR <commit>``):
each round runs the check once in a fresh process from this checkout's code and once
from DIR's, in alternating order, on the same generated repository, and prints both
medians and their ratio (a change that only moves code should print about 1.00).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from runner.announcements.validate import check  # noqa: E402
from runner.config import DEFAULT_CATEGORIES, DEFAULT_EMERGENCY_CATEGORIES, load_settings  # noqa: E402
from tests.support.announcement_repo import image_and_text_catalogue  # noqa: E402

PYPROJECT = """\
[tool.banditore]
town = "Comune di Benchmark"
town_site = "comune.bench.it"
weekly_cap = 10
now = 1999-12-31T00:00:00+01:00  # before every generated file: all rules apply to all
default_template = "avviso"
templates.avviso = { body = ["title", "body"] }
templates.immagine = { body = ["title", "body"], header = "image" }
"""

BODY = """\
Per lavori sulla rete **via Roma {n}** è chiusa dalle 8 alle 18 di _giovedì_.

- deviazione su via Manzoni
- i bus fermano in piazza Garibaldi
- informazioni su [il sito](https://www.comune.bench.it/avvisi/{n})

> Ci scusiamo per il disagio. Ufficio tecnico aperto dalle 9 alle 12.
"""


# The two templates as Meta approved them: validate holds each announcement to its
# template's text (without the catalogue every file would stop at the first rule).
CATALOGUE = image_and_text_catalogue("Comune di Benchmark")


def generate(root: Path, count: int) -> None:
    (root / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    (root / "templates.toml").write_text(CATALOGUE, encoding="utf-8")
    media = root / "announcements" / "media"
    media.mkdir(parents=True)
    # The committed sample image: a real 8-bit RGB PNG.
    sample = Path(__file__).resolve().parent.parent / "announcements/media/allerta-vento.png"
    (media / "allerta.png").write_bytes(sample.read_bytes())
    start = date(2000, 1, 3)
    for n in range(count):
        # Nine a week keeps under the weekly cap of 10; every 20th is an emergency.
        day = start + timedelta(days=(n // 9) * 7 + n % 7)
        emergency = n % 20 == 0
        category = (DEFAULT_EMERGENCY_CATEGORIES[n % 3] if emergency
                    else DEFAULT_CATEGORIES[n % len(DEFAULT_CATEGORIES)])
        extra = ("urgency: emergency\nmedia: announcements/media/allerta.png\n"
                 "template: immagine\n" if emergency else "")
        folder = root / "announcements" / str(day.year)
        folder.mkdir(exist_ok=True)
        text = (f"---\ntitle: Avviso numero {n}\ncategory: {category}\n{extra}"
                f"publish_at: {day.isoformat()}T09:00:00+01:00\n---\n" + BODY.format(n=n))
        (folder / f"{day.isoformat()}-avviso-{n}.md").write_text(text, encoding="utf-8")


def _cpu_seconds() -> float:
    """User + system time of this process and its finished workers: the work done,
    whatever else the (shared) machine is busy with."""
    own, workers = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(
        resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime


HERE = Path(__file__).resolve().parent.parent
# One check in a fresh process, as `validate` runs: the code is whichever checkout
# PYTHONPATH names (the generated repository, the working directory, has no runner/).
MEASURE = """
import json, resource, time
from runner.announcements.validate import check
from runner.config import load_settings

def cpu():
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(
        resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime

settings = load_settings()
began, began_cpu = time.perf_counter(), cpu()
result = check(settings)
print(json.dumps({"wall": time.perf_counter() - began, "cpu": cpu() - began_cpu,
                  "files": len(result.files), "valid": len(result.valid),
                  "problems": len(result.problems)}))
"""


def side_by_side(root: Path, against: Path, repeat: int) -> None:
    """This checkout's check and ``against``'s, alternating, in fresh processes."""
    sides = {"this": HERE, "against": against.resolve()}
    runs: dict[str, list[dict]] = {name: [] for name in sides}
    for round_ in range(repeat):
        order = list(sides) if round_ % 2 == 0 else list(sides)[::-1]
        for name in order:
            env = {**os.environ, "PYTHONPATH": str(sides[name])}
            done = subprocess.run([sys.executable, "-c", MEASURE], cwd=root, env=env,
                                  capture_output=True, text=True, check=True)
            runs[name].append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(f"round {round_ + 1} {name:8} wall {runs[name][-1]['wall']:.2f} s, "
                  f"CPU {runs[name][-1]['cpu']:.2f} s", flush=True)
    for name, path in sides.items():
        first = runs[name][0]
        print(f"{name:8} {path}: {first['files']} files ({first['valid']} valid, "
              f"{first['problems']} problems); wall median "
              f"{statistics.median(r['wall'] for r in runs[name]):.2f} s, CPU median "
              f"{statistics.median(r['cpu'] for r in runs[name]):.2f} s over {repeat} runs")
    ratio = {key: statistics.median(r[key] for r in runs["this"])
             / max(statistics.median(r[key] for r in runs["against"]), 1e-9)
             for key in ("wall", "cpu")}
    print(f"this / against: wall {ratio['wall']:.2f}, CPU {ratio['cpu']:.2f} "
          f"(load average {os.getloadavg()[0]:.1f})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--against", type=Path, metavar="DIR",
                        help="another checkout to compare with, side by side")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="banditore-bench-") as tmp:
        root = Path(tmp)
        generate(root, args.count)
        if args.against:
            side_by_side(root, args.against, args.repeat)
            return 0
        os.chdir(root)
        settings = load_settings()
        times, cpu = [], []
        for _ in range(args.repeat):
            began, began_cpu = time.perf_counter(), _cpu_seconds()
            result = check(settings)
            times.append(time.perf_counter() - began)
            cpu.append(_cpu_seconds() - began_cpu)
        assert len(result.files) == args.count, len(result.files)
        print(f"validated {len(result.files)} announcements "
              f"({len(result.valid)} valid, {len(result.problems)} problems) "
              f"on {os.cpu_count()} CPUs: best {min(times):.2f} s, "
              f"median {statistics.median(times):.2f} s over {args.repeat} runs; "
              f"CPU time (all processes) median {statistics.median(cpu):.2f} s; "
              f"load average {os.getloadavg()[0]:.1f}")
        if result.problems:
            print("first problem:", result.problems[0])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
