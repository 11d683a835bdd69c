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
import os
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from side_by_side import CPU, alternate, cpu, measure  # noqa: E402 (bench/side_by_side.py)

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


# One check in a fresh process, as `validate` runs, on whichever checkout PYTHONPATH names.
MEASURE = CPU + """
import json, time
from runner.announcements.validate import check
from runner.config import load_settings

settings = load_settings()
began, began_cpu = time.perf_counter(), cpu()
result = check(settings)
print(json.dumps({"wall": time.perf_counter() - began, "CPU": cpu() - began_cpu,
                  "files": len(result.files), "valid": len(result.valid),
                  "problems": len(result.problems)}))
"""
KEYS = ("wall", "CPU")


def side_by_side(root: Path, against: Path, repeat: int) -> None:
    """This checkout's check and ``against``'s, alternating, in fresh processes."""
    rounds = alternate(against, repeat, KEYS,
                       lambda name, env: measure(MEASURE, cwd=root, env=env))
    for name, path in rounds.sides.items():
        first, median = rounds.runs[name][0], rounds.median(name)
        print(f"{name:8} {path}: {first['files']} files ({first['valid']} valid, "
              f"{first['problems']} problems); wall median {median['wall']:.2f} s, "
              f"CPU median {median['CPU']:.2f} s over {repeat} runs")
    ratio = rounds.ratio_of_medians()
    print(f"this / against: wall {ratio['wall']:.2f}, CPU {ratio['CPU']:.2f} "
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
        times, cpu_times = [], []
        for _ in range(args.repeat):
            began, began_cpu = time.perf_counter(), cpu()
            result = check(settings)
            times.append(time.perf_counter() - began)
            cpu_times.append(cpu() - began_cpu)
        assert len(result.files) == args.count, len(result.files)
        print(f"validated {len(result.files)} announcements "
              f"({len(result.valid)} valid, {len(result.problems)} problems) "
              f"on {os.cpu_count()} CPUs: best {min(times):.2f} s, "
              f"median {statistics.median(times):.2f} s over {args.repeat} runs; "
              f"CPU time (all processes) median {statistics.median(cpu_times):.2f} s; "
              f"load average {os.getloadavg()[0]:.1f}")
        if result.problems:
            print("first problem:", result.problems[0])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
