"""mypy runs inside the suite, as ruff does (tests/test_lint.py): a type error fails CI
like any other test. What it checks, and how strictly, is in pyproject.toml
([tool.mypy]); its cache (.mypy_cache, git-ignored) makes a second run fast."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_mypy_finds_nothing():
    done = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT,
                          capture_output=True, text=True)
    assert "No module named mypy" not in done.stderr, \
        "mypy is a test dependency: pip install -e '.[test]'"
    assert done.returncode == 0, done.stdout + done.stderr
