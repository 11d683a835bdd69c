"""``python -m rehearsal [--short] [--keep]``: parse arguments, play the week, exit 0 or 1."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rehearsal", description=__doc__)
    parser.add_argument("--short", action="store_true",
                        help="four days and a dozen citizens (what the test suite runs)")
    parser.add_argument("--citizens", type=int, help="citizens besides the named ones")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    parser.add_argument("--verbose", action="store_true", help="print every step's output")
    args = parser.parse_args(argv)
    os.chdir(ROOT)  # the town's settings are its pyproject.toml and environment
    sys.path.insert(0, str(ROOT))
    from .actions import INPUTS
    from .scenario import Options, Week
    from .town import Town
    from .workflows import check

    started = time.monotonic()

    def log(text: str) -> None:
        print(f"[{time.monotonic() - started:6.1f}s] {text}" if text.strip() else text,
              flush=True)

    folder = Path(tempfile.mkdtemp(prefix="banditore-rehearsal-"))
    start = datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Europe/Rome"))  # a Monday
    town = Town(ROOT, folder, start, log=log)
    options = Options(short=args.short,
                      citizens=args.citizens if args.citizens is not None
                      else (8 if args.short else 40))
    ok = False
    try:
        problems = check(ROOT, INPUTS)
        for problem in problems:
            log(f"CANNOT RUN: {problem}")
        if problems:
            return 1
        town.start()
        log(f"scratch folder: {folder}")
        for name, why in town.unavailable.items():
            log(f"!!! LOG SOURCE {name} CANNOT RUN ON THIS MACHINE: {why}")
        ok = Week(town, options).play()
    finally:
        log("stopping the town")
        town.stop()
        if not args.keep:
            log("removing the scratch folder")
            town.cleanup()
    log(f"rehearsal took {time.monotonic() - started:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
