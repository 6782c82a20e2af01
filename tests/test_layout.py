"""The layout's promises: no import cycles, no imports hidden in functions to dodge them,
``import peerline.crisis`` without Flask, and one task-handler list checked at start."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from peerline import handlers
from peerline.delivery.tasks import TaskKind

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "peerline"

#: Imports of peerline modules allowed inside a function, each for a stated reason.
LAZY_ALLOWED = {
    # ``peerline.create_app`` without importing Flask with ``peerline`` itself.
    ("peerline", "__getattr__"),
}


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" in path.parts:
            continue  # Alembic loads these itself
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The peerline modules an import statement loads (submodules named in it too)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names if alias.name.startswith("peerline")]
    base = node.module or ""
    if node.level:
        package = module if MODULES[module].name == "__init__.py" else module.rsplit(".", 1)[0]
        for _ in range(node.level - 1):
            package = package.rsplit(".", 1)[0]
        base = f"{package}.{base}" if base else package
    if not base.startswith("peerline"):
        return []
    names = [f"{base}.{alias.name}" for alias in node.names]
    return [base] + [name for name in names if name in MODULES]


def _function_imports(tree: ast.AST):
    for func in ast.walk(tree):
        if isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(func):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    yield func.name, node


def test_no_function_body_imports_a_peerline_module():
    hidden = []
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(), str(path))
        for func, node in _function_imports(tree):
            if _targets(module, node) and (module, func) not in LAZY_ALLOWED:
                hidden.append(f"{module}.{func} (line {node.lineno})")
    assert hidden == []


def test_no_import_cycles_between_peerline_modules():
    graph: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(), str(path))
        edges = set()
        for node in tree.body:  # module level only: function bodies are checked above
            if isinstance(node, ast.If):  # ``if TYPE_CHECKING:`` imports never run
                continue
            if isinstance(node, ast.Import | ast.ImportFrom):
                edges.update(t for t in _targets(module, node) if t in MODULES)
        # A module's own parent packages are always imported before it: not a cycle.
        parents = {module.rsplit(".", n)[0] for n in range(1, module.count(".") + 1)}
        graph[module] = edges - {module} - parents
    cycles = []
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(trail[trail.index(nxt):] + [nxt] if nxt in trail else [node, nxt])
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_every_module_imports_in_a_fresh_interpreter():
    script = "import importlib, sys\nfor name in sys.argv[1:]:\n    importlib.import_module(name)\n"
    result = subprocess.run([sys.executable, "-c", script, *MODULES], cwd=ROOT,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_the_crisis_detector_imports_without_flask_or_the_database():
    script = ("import sys, peerline.crisis\n"
              "print(sorted(m for m in ('flask', 'sqlalchemy', 'redis', 'rq', 'twilio')"
              " if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                            text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_every_task_kind_has_a_handler():
    handlers.check()
    assert set(handlers.HANDLERS) == set(TaskKind)


def test_a_missing_handler_stops_the_line_at_start():
    partial = {kind: fn for kind, fn in handlers.HANDLERS.items()
               if kind is not TaskKind.VOICE_RING}
    with pytest.raises(RuntimeError, match="voice_ring"):
        handlers.check(partial)
