"""Benchmark: publish the site of 10,000 announcements, against validate on the same files.

    .venv/bin/python bench/publish.py [--count 10000] [--repeat 3]

The repository is bench/validate.py's (every category, lists, links, an image on
every 20th). In the same run, alternating, it times:

- ``validate`` as bench/validate.py does (the clock before every file: every rule
  applies to every file): the baseline;
- ``publish`` with the clock after every file (all 10,000 have gone out): pages,
  Atom feeds, the CAP alerts of the warnings and the media, into a fresh folder
  each time;
- ``validate`` at publish's clock too (then every file is history: read, not
  checked), the part of publish that validate already is.

Prints the medians and the ratio publish / validate. Target: <= 2.

``--against DIR`` compares the site build with another checkout (``git worktree add
DIR <commit>``) instead: each round builds the site in a fresh process from this
checkout's code and then from DIR's (alternating which goes first), on the same
generated repository, and prints the wall-clock and CPU medians of both and their
ratios (a change that only moves code should print about 1.00; on a loaded machine
the CPU ratio is the steadier one). Use an even ``--repeat``: each side then goes
first as often.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from side_by_side import CPU, alternate, measure  # noqa: E402 (bench/side_by_side.py)
from validate import generate  # noqa: E402 (bench/validate.py)

from runner.announcements.validate import check  # noqa: E402
from runner.channels.site_build import publish  # noqa: E402
from runner.config import load_settings  # noqa: E402

AFTER_ALL = "2100-01-01T00:00:00+01:00"


def timed(action) -> tuple[float, object]:
    began = time.perf_counter()
    result = action()
    return time.perf_counter() - began, result


# One build in a fresh process, as `publish` runs, on whichever checkout PYTHONPATH
# names. CPU counts the forked workers that write the pages.
MEASURE = CPU + """
import json, sys, time
from pathlib import Path
from runner.config import load_settings
try:
    from runner.channels.site_build import publish
except ImportError:  # a checkout from before the module was named for the site build
    from runner.channels.publish import publish

settings = load_settings(now=sys.argv[2], istat_code="042021",
                         site_url="https://comune.bench.it/avvisi/")
began, began_cpu = time.perf_counter(), cpu()
built = publish(settings, Path(sys.argv[1]))
print(json.dumps({"wall": time.perf_counter() - began, "CPU": cpu() - began_cpu,
                  "pages": built.pages, "alerts": built.alerts, "feeds": built.feeds}))
"""
KEYS = ("wall", "CPU")


def side_by_side(root: Path, against: Path, repeat: int) -> None:
    """This checkout's site build and ``against``'s, alternating, in fresh processes."""

    def build(name: str, env: dict[str, str]) -> dict:
        site = root / f"site-{name}"
        built = measure(MEASURE, str(site), AFTER_ALL, cwd=root, env=env)
        shutil.rmtree(site)  # here, not in the next build's time
        return built

    alternate(against, repeat, KEYS, build, label="publish").print_summary(
        lambda first: f"{first['pages']} pages, {first['alerts']} alerts, "
                      f"{first['feeds']} feeds")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", help="where the repository and the site are made (default: "
                        "the temporary folder; /dev/shm keeps the disk out of the figures)")
    parser.add_argument("--against", type=Path, metavar="DIR",
                        help="another checkout to compare the site build with, side by side")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="banditore-bench-", dir=args.dir) as tmp:
        root = Path(tmp)
        generate(root, args.count)
        if args.against:
            side_by_side(root, args.against, args.repeat)
            return 0
        os.chdir(root)
        baseline = load_settings()  # the clock of bench/validate.py: before every file
        later = load_settings(now=AFTER_ALL, istat_code="042021",
                              site_url="https://comune.bench.it/avvisi/")
        times: dict[str, list[float]] = {"validate": [], "publish": [], "history": []}
        for _ in range(args.repeat):
            seconds, result = timed(lambda: check(baseline))
            assert len(result.valid) == args.count, result.problems[:1]
            times["validate"].append(seconds)
            shutil.rmtree(root / "site", ignore_errors=True)
            seconds, built = timed(lambda: publish(later, root / "site"))
            # Every page; an alert for each warning (CAP is not for deadlines or events).
            assert built.pages == args.count and 0 < built.alerts < args.count, built
            times["publish"].append(seconds)
            times["history"].append(timed(lambda: check(later))[0])
        files = sum(1 for _ in (root / "site").rglob("*") if _.is_file())
        size = sum(p.stat().st_size for p in (root / "site").rglob("*") if p.is_file())
        median = {k: statistics.median(v) for k, v in times.items()}
        print(f"{args.count} announcements in {root.parent} on {os.cpu_count()} CPUs, median "
              f"of {args.repeat} runs each, alternating (load average "
              f"{os.getloadavg()[0]:.1f}):")
        print(f"  validate (every rule on every file) {median['validate']:.2f} s")
        print(f"  publish  (site of all {args.count}: {files} files, {size / 1e6:.0f} MB) "
              f"{median['publish']:.2f} s, of which reading them as history "
              f"{median['history']:.2f} s")
        ratio = median["publish"] / median["validate"]
        print(f"  publish / validate = {ratio:.2f} (target <= 2)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
