"""The package's floors, read from the code itself (in the manner of CausalPy's inventory test).

- Imports between the floors named in ARCHITECTURE.md go only downward (or stay on a floor).
- ARCHITECTURE.md's module table lists exactly the package's modules.
- No import circles between modules, counting function-local imports too.
- No module over 600 lines, no function over 80 lines of code (docstrings, comments and
  blank lines not counted).
- ``import secdilemma`` does not import PyMC, numba, matplotlib or Dask.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "src" / "secdilemma"

#: The floors, lowest first: a module may import from its own floor or any floor below.
FLOORS: tuple[tuple[str, ...], ...] = (
    ("secdilemma._version", "secdilemma._paths", "secdilemma.errors", "secdilemma.progress"),
    ("secdilemma.io",),
    ("secdilemma.model",),
    ("secdilemma.data",),
    ("secdilemma.engines", "secdilemma.engines.exact"),
    ("secdilemma.observers",),
    ("secdilemma.decision",),
    ("secdilemma.spec",),
    ("secdilemma.engines.pymc",),
    ("secdilemma.study", "secdilemma.whatif", "secdilemma.reference"),
    ("secdilemma.interfaces", "secdilemma.__main__"),
)
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80


def _modules() -> dict[str, Path]:
    out = {}
    for f in sorted(PKG.rglob("*.py")):
        parts = list(f.relative_to(PKG.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = f
    return out


def _floor(module: str) -> int | None:
    """The floor of the longest name in FLOORS that ``module`` is, or lies under."""
    best: tuple[int, int] | None = None
    for i, names in enumerate(FLOORS):
        for n in names:
            if (module == n or module.startswith(n + ".")) and (best is None or len(n) > best[0]):
                best = (len(n), i)
    return None if best is None else best[1]


def _imports(path: Path, module: str) -> set[str]:
    """Every secdilemma module that ``path`` imports, at the top or inside functions."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_pkg = path.name == "__init__.py"
    base = module.split(".") if is_pkg else module.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("secdilemma"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                stem = base[: len(base) - node.level + 1]
                target = ".".join([*stem, node.module] if node.module else stem)
            else:
                target = node.module or ""
            if not target.startswith("secdilemma"):
                continue
            found.add(target)
            mods = _modules()
            for a in node.names:
                if f"{target}.{a.name}" in mods:
                    found.add(f"{target}.{a.name}")
    found.discard(module)
    return found


def _resolve(name: str, mods: dict[str, Path]) -> str:
    while name not in mods and "." in name:
        name = name.rsplit(".", 1)[0]
    return name


def test_every_module_sits_on_a_floor() -> None:
    lost = [m for m in _modules() if m != "secdilemma" and _floor(m) is None]
    assert not lost, f"modules on no floor (add them to FLOORS and ARCHITECTURE.md): {lost}"


def test_imports_go_only_downward() -> None:
    mods = _modules()
    upward = []
    for mod, path in mods.items():
        if mod == "secdilemma":
            continue
        mine = _floor(mod)
        assert mine is not None
        for imp in _imports(path, mod):
            theirs = _floor(_resolve(imp, mods))
            if theirs is not None and theirs > mine:
                upward.append(f"{mod} -> {imp}")
    assert not upward, "imports that go up a floor:\n" + "\n".join(sorted(upward))


def test_no_import_circles() -> None:
    mods = _modules()
    graph = {m: {_resolve(i, mods) for i in _imports(p, m)} - {m} for m, p in mods.items()}
    # A package's __init__ re-exporting its own submodules is not a circle.
    for m in graph:
        graph[m] = {i for i in graph[m] if not (m == "secdilemma" or i.startswith(m + "."))}
    seen: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[str] = []

    def visit(node: str) -> None:
        seen[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if seen.get(nxt) == 1:
                cyc = [*stack[stack.index(nxt) :], nxt]
                if not any(p == "secdilemma" for p in cyc):
                    cycles.append(" -> ".join(cyc))
            elif nxt not in seen:
                visit(nxt)
        stack.pop()
        seen[node] = 2

    for m in sorted(graph):
        if m not in seen:
            visit(m)
    assert not cycles, "import circles:\n" + "\n".join(cycles)


def _code_lines(lines: list[str], node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    doc = None
    first = node.body[0] if node.body else None
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        doc = (first.lineno, first.end_lineno or first.lineno)
    n = 0
    for i in range(node.lineno, (node.end_lineno or node.lineno) + 1):
        if doc and doc[0] <= i <= doc[1]:
            continue
        s = lines[i - 1].strip()
        if s and not s.startswith("#"):
            n += 1
    return n


def test_modules_and_functions_stay_small() -> None:
    long_modules, long_functions = [], []
    for mod, path in _modules().items():
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        if len(lines) > MAX_MODULE_LINES:
            long_modules.append(f"{mod}: {len(lines)} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                n = _code_lines(lines, node)
                if n > MAX_FUNCTION_LINES:
                    long_functions.append(f"{mod}.{node.name}: {n} lines of code")
    assert not long_modules, f"modules over {MAX_MODULE_LINES} lines: {long_modules}"
    assert not long_functions, f"functions over {MAX_FUNCTION_LINES} lines: {long_functions}"


def _architecture_table() -> set[str]:
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    section = text.split("## Module map", 1)[1].split("\n## ", 1)[0]
    names = set()
    for row in section.splitlines():
        m = re.match(r"\|\s*`([\w./]+)`", row)
        if m:
            names.add(m.group(1))
    return names


def test_architecture_md_lists_every_module() -> None:
    listed = _architecture_table()
    actual = {
        str(p.relative_to(PKG))
        for p in PKG.rglob("*.py")
        if p.name != "__init__.py" or p.parent != PKG
    }
    actual = {
        a.removesuffix("/__init__.py") + "/" if a.endswith("__init__.py") else a for a in actual
    }
    missing = sorted(a for a in actual if a not in listed)
    stale = sorted(name for name in listed if name not in actual)
    assert not missing, f"modules missing from ARCHITECTURE.md's module map: {missing}"
    assert not stale, f"ARCHITECTURE.md lists modules that do not exist: {stale}"


@pytest.mark.parametrize("heavy", ["pymc", "pytensor", "numba", "matplotlib", "dask", "nutpie"])
def test_import_secdilemma_stays_light(heavy: str) -> None:
    code = (
        "import sys, secdilemma; "
        f"print(any(m == {heavy!r} or m.startswith({heavy!r} + '.') for m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "False", f"`import secdilemma` imports {heavy}"
