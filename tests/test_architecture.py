"""The house rules of runner/, read from the code itself with ``ast``.

- no import cycle between modules, imports inside functions included;
- imports flow down the pipeline: a stage never imports a later one;
- no module over 400 lines, no class over 200;
- every subpackage says in its ``__init__`` docstring what it owns.

Imports under ``if TYPE_CHECKING:`` are annotations only and never run: the
layer check leaves them out. The cycle check and the rooms' order count them: a
circle closed by ``TYPE_CHECKING`` is still a circle for the reader (the checker
depending on its presenter), so the types several modules share live in leaf
modules that import nothing above them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

RUNNER = Path(__file__).resolve().parents[1] / "runner"
MAX_MODULE_LINES = 400
MAX_CLASS_LINES = 200

# Lower layers first. A module may import its own layer and any layer before it.
LAYERS = [
    {"runner", "runner.errors", "runner.messages", "runner.config"},
    {"runner.db"},
    {"runner.whatsapp"},
    {"runner.announcements"},
    {"runner.subscribers"},
    {"runner.send"},
    {"runner.webhook", "runner.reports", "runner.channels"},
    {"runner.pipeline", "runner.towns", "runner.cms"},
    {"runner.cli", "runner.cli_staff", "runner.__main__"},
]


def module_name(path: Path) -> str:
    parts = path.relative_to(RUNNER.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(RUNNER.rglob("*.py"))}


def _type_checking_only(node: ast.AST) -> set[int]:
    """ids of the import nodes inside ``if TYPE_CHECKING:`` blocks."""
    skipped = set()
    for block in ast.walk(node):
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test):
            skipped |= {id(n) for stmt in block.body for n in ast.walk(stmt)}
    return skipped


def imports(name: str, *, type_only: bool = False) -> set[str]:
    """The runner modules ``name`` imports, anywhere in its body (with ``type_only``,
    under ``if TYPE_CHECKING:`` too)."""
    path = MODULES[name]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = set() if type_only else _type_checking_only(tree)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # "from . import x" imports the module x when there is one
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base
                       for a in node.names]
        else:
            continue
        found |= {t for t in targets if t in MODULES and t != name}
    return found


GRAPH = {name: imports(name) for name in MODULES}  # what runs
TYPED_GRAPH = {name: imports(name, type_only=True) for name in MODULES}  # what a reader follows


def _layer(name: str) -> int:
    for depth, layer in enumerate(LAYERS):
        if any(name == top or name.startswith(top + ".") for top in layer - {"runner"}):
            return depth
    return 0


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """The first import cycle of ``graph`` (module -> the modules it imports), as the
    path that closes it, or [] when there is none."""
    state: dict[str, int] = {}  # 1 visiting, 2 done
    stack: list[str] = []

    def visit(name: str) -> list[str]:
        state[name] = 1
        stack.append(name)
        for dep in sorted(graph[name]):
            # A package's __init__ importing its own modules is how packages work,
            # not a cycle: only edges from a module to a package it is not in count back.
            if name.startswith(dep + ".") or dep not in graph:
                continue
            if state.get(dep) == 1:
                return stack[stack.index(dep):] + [dep]
            if dep not in state and (cycle := visit(dep)):
                return cycle
        stack.pop()
        state[name] = 2
        return []

    for name in sorted(graph):
        if name not in state and (cycle := visit(name)):
            return cycle
    return []


def test_no_import_cycles_type_only_imports_included():
    cycle = find_cycle(TYPED_GRAPH)
    assert not cycle, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_finder():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "a.x": {"a"}}) == []


def test_imports_flow_down_the_pipeline():
    wrong = sorted(f"{name} imports {dep}" for name, deps in GRAPH.items() for dep in deps
                   if _layer(dep) > _layer(name))
    assert wrong == []


# The rooms of runner/subscribers/, lower first: a module imports its own room and
# those before it, type-only imports included; the store runs every SQL statement
# of the stage.
SUBSCRIBERS = [{"store"}, {"lifecycle"}, {"privacy", "repository"}, {"logs"}, {"rights"},
               {"staff"}, {"summary", "sync"}]


def _room(name: str) -> int | None:
    parts = name.split(".")
    if parts[:2] != ["runner", "subscribers"] or len(parts) < 3:
        return None
    return next(depth for depth, rooms in enumerate(SUBSCRIBERS) if parts[2] in rooms)


def test_the_subscribers_rooms_import_down_type_only_imports_included():
    wrong = sorted(f"{name} imports {dep}" for name in MODULES if _room(name) is not None
                   for dep in imports(name, type_only=True)
                   if _room(dep) is not None and _room(dep) > _room(name))
    assert wrong == []


@pytest.mark.parametrize("name", sorted(MODULES))
def test_small_modules_and_classes(name):
    source = MODULES[name].read_text(encoding="utf-8")
    assert len(source.splitlines()) <= MAX_MODULE_LINES, f"{name} is over {MAX_MODULE_LINES}"
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef):
            size = node.end_lineno - node.lineno + 1
            assert size <= MAX_CLASS_LINES, f"{name}.{node.name} has {size} lines"


@pytest.mark.parametrize("name", sorted(n for n, p in MODULES.items() if p.name == "__init__.py"))
def test_each_package_says_what_it_owns(name):
    doc = ast.get_docstring(ast.parse(MODULES[name].read_text(encoding="utf-8")))
    assert doc and len(doc) > 40, f"{name}/__init__.py needs a docstring saying what it owns"


def test_the_checker_sees_imports_inside_functions():
    assert "runner.subscribers.sync" in GRAPH["runner.cli"]
    assert "runner.announcements.validate" in GRAPH["runner.pipeline"]


def test_the_send_job_and_the_receiver_need_no_reports_stack():
    """pandas, matplotlib and Jupyter are the `reports` extra: everything but `report`
    must import without them (the send job and the receiver install lean)."""
    import subprocess
    import sys

    code = ("import sys, runner.cli, runner.pipeline, runner.webhook.server; "
            "print(sorted(m for m in ('pandas', 'matplotlib', 'nbclient', 'nbformat', "
            "'IPython', 'numpy') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=RUNNER.parent, check=True)
    assert done.stdout.strip() == "[]"


# Where SQL runs (issue 21): db/ (connections, transactions, migrations) and one store
# per stage, each query named there; whatsapp/'s store is its reader of the template
# states. A reader who asks "where does a delivery's state change?" opens one file.
STORES = ("runner.db", "runner.subscribers.store", "runner.send.store", "runner.reports.store",
          "runner.channels.store", "runner.whatsapp.template_state")


def _in(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == top or name.startswith(top + ".") for top in packages)


def runs_sql(name: str) -> bool:
    """Whether the module calls ``.execute`` or ``.executemany`` on anything."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    return any(isinstance(node, ast.Attribute) and node.attr in ("execute", "executemany")
               for node in ast.walk(tree))


def test_only_db_and_the_stores_run_sql():
    assert sorted(name for name in MODULES if runs_sql(name) and not _in(name, STORES)) == []


def test_a_deliverys_state_changes_in_one_file():
    """Every UPDATE of deliveries is in the send store's transitions, but the one that
    moves a citizen's rows to the id a business-scoped id turned out to be."""
    updates = sorted(name for name, path in MODULES.items()
                     if "UPDATE deliveries" in path.read_text(encoding="utf-8"))
    assert updates == ["runner.send.store.transitions", "runner.subscribers.store.inbound"]
    inbound = MODULES["runner.subscribers.store.inbound"].read_text(encoding="utf-8")
    assert inbound.count("UPDATE deliveries") == 1
    assert "UPDATE deliveries SET citizen_id = ? WHERE citizen_id = ?" in inbound
