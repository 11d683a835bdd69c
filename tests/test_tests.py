"""The tests' own house rules (STYLE 20): helpers are fixtures and modules in
tests/support/, never other tests. A test module that imports another runs that
module's tests' imports, fixtures and constants in its own, and couples two files a
reader takes as independent."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"
# Where test helpers are imported from outside the suite.
USERS = [ROOT / "bench", ROOT / "rehearsal"]
# Beside the tests, only the vendored Cloud API description and the script that cuts it.
NOT_HELPERS = {TESTS / "openapi"}


def module_of(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def file_of(module: str) -> Path | None:
    base = ROOT.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imported(path: Path, source: str | None = None) -> set[str]:
    """Every module ``path`` (or ``source``, as if it were there) imports, relative
    imports resolved, ``from a import b`` counted as ``a.b`` too (b may be a module)."""
    package = module_of(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found: set[str] = set()
    source = path.read_text(encoding="utf-8") if source is None else source
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *(node.module or "").split(".")]).strip(".")
            found.add(module)
            found |= {f"{module}.{alias.name}" for alias in node.names}
    return found


def is_a_test(path: Path) -> bool:
    return path.name.startswith("test_") or path.name == "conftest.py"


def test_no_module_imports_a_test_module_or_a_conftest():
    offences = []
    for folder in [TESTS, *USERS]:
        for path in sorted(folder.rglob("*.py")):
            for module in sorted(imported(path)):
                target = file_of(module) if module.startswith("tests") else None
                if target is not None and is_a_test(target):
                    offences.append(f"{path.relative_to(ROOT)} imports {module}")
    assert offences == [], ("take the helper into tests/support/ (a fixture, or a "
                            "function to import):\n" + "\n".join(offences))


def test_helpers_live_in_tests_support():
    strays = [str(path.relative_to(ROOT)) for path in sorted(TESTS.rglob("*.py"))
              if not is_a_test(path) and path.name != "__init__.py"
              and TESTS / "support" not in path.parents
              and not any(folder in path.parents for folder in NOT_HELPERS)]
    assert strays == [], "helpers go in tests/support/: " + ", ".join(strays)


def test_the_check_sees_every_way_of_importing():
    """The rule above must be able to fail: absolute, from-package and relative imports
    of a test module are all found."""
    sample = TESTS / "subscribers" / "test_sync.py"
    for text in ("from tests.subscribers.test_sync import message\n",
                 "from tests.subscribers import test_sync\n",
                 "import tests.subscribers.test_sync\n",
                 "from .test_sync import message\n",
                 "from . import test_sync\n"):
        modules = imported(TESTS / "subscribers" / "test_x.py", text)
        assert sample in [file_of(m) for m in modules if m.startswith("tests")], text
