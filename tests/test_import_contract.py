"""Import contract of the package: layers import only downward, and only public names.

The rules (read from the source with :mod:`ast`, lazy imports inside functions included):

1. Layers, lowest first; a module may import its own unit and units of LOWER layers only::

       model < sbml < engine < {cycle, pk} < {catalog, population} < trial < design < report
       < top (cli.py, _commands, _demo, _bench, _startup)

   Units of one layer ({cycle, pk}, {catalog, population}) do not import each other.
2. Shared utilities, the other top-level private modules (``_paths``, ``_provenance``,
   ``_console``, ``_errors``, ``_manifest``, ``_inputs``, ...), may be imported from anywhere but
   import no package themselves: only other utilities and the root ``immunocycle``
   (``__version__``). They sit below ``model``.
3. Across units only public names: no ``immunocycle.X._private`` module and no ``_name`` of
   another unit is imported, except by ``cli.py``.
4. No import circle: between units (implied by 1 and 2, checked on its own so the message names
   the circle), nor between the modules of one unit, imports inside functions included (a
   package's ``__init__`` only re-exports, so importing it is no edge).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import immunocycle

SRC = Path(immunocycle.__file__).parent

#: Layer of each package (same number: the same layer, which may not import each other).
LAYERS = {"model": 0, "sbml": 1, "engine": 2, "cycle": 3, "pk": 3, "catalog": 4, "population": 4,
          "trial": 5, "design": 6, "report": 7, "validate": 8, "app": 9}
#: Top-level modules of the command line: the top layer.
TOP = {"cli", "_commands", "_demo", "_bench", "_startup"}
TOP_LAYER = 100
UTILITY_LAYER = -1
#: Modules (paths below immunocycle) allowed to import other units' private modules.
PRIVATE_OK = {("cli",)}


def _unit(parts: tuple[str, ...]) -> str:
    """The unit of a module path inside immunocycle: its package or top-level module."""
    if not parts or parts[0].startswith("__"):  # the root: __init__, __version__
        return "immunocycle"
    return parts[0]


def _layer(unit: str) -> int:
    if unit in LAYERS:
        return LAYERS[unit]
    if unit in TOP:
        return TOP_LAYER
    return UTILITY_LAYER  # top-level private modules and the root package


def _imports(path: Path, root: Path) -> Iterator[tuple[int, tuple[str, ...]]]:
    """(line, imported module path below immunocycle) of every immunocycle import in a file;
    ``from immunocycle.x import name`` yields ``(x, name)``."""
    package = path.relative_to(root).with_suffix("").parts[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "immunocycle":
                    yield node.lineno, tuple(parts[1:])
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = package[:len(package) - node.level + 1]
                parts = [*base, *(node.module.split(".") if node.module else [])]
            elif node.module and node.module.split(".")[0] == "immunocycle":
                parts = node.module.split(".")[1:]
            else:
                continue
            for alias in node.names:
                yield node.lineno, (*parts, alias.name)


def violations(root: Path = SRC) -> list[str]:
    """Every breach of the contract under ``root`` (an immunocycle source tree)."""
    out = []
    edges: dict[str, set[str]] = {}
    modules: dict[str, set[str]] = {}  # module -> modules of its own unit it imports
    files = {p.relative_to(root).with_suffix("").parts for p in root.rglob("*.py")}
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).with_suffix("").parts
        here = _unit(rel)
        where = f"{path.relative_to(root)}"
        for line, parts in _imports(path, root):
            there = _unit(parts)
            if there == here and parts:
                target = _module(parts, files)
                if target and target != rel and rel[-1] != "__init__":
                    modules.setdefault(".".join(rel), set()).add(".".join(target))
            if there == here or not parts:
                continue
            edges.setdefault(here, set()).add(there)
            lo, hi = _layer(here), _layer(there)
            if lo == UTILITY_LAYER and hi != UTILITY_LAYER:
                out.append(f"{where}:{line}: utility {here} imports package {there}")
            elif hi > lo or (hi == lo and lo not in (UTILITY_LAYER, TOP_LAYER)):
                out.append(f"{where}:{line}: {here} (layer {lo}) imports {there} (layer {hi})")
            private = [p for p in parts[1:] if p.startswith("_") and not p.startswith("__")]
            if private and rel not in PRIVATE_OK:
                out.append(f"{where}:{line}: private import immunocycle.{'.'.join(parts)}")
    out += [f"import circle: {' -> '.join(c)}" for c in _circles(edges) + _circles(modules)]
    return list(dict.fromkeys(out))  # one line per breach, not per imported name


def _module(parts: tuple[str, ...], files: set[tuple[str, ...]]) -> tuple[str, ...] | None:
    """The module file an import reaches (the longest prefix of ``parts`` that is one), or None
    for a name of a package's ``__init__``."""
    for k in range(len(parts), 0, -1):
        if parts[:k] in files:
            return parts[:k]
    return None


def _circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Simple circles of the unit graph (each reported once, from its smallest unit)."""
    found = []

    def walk(start: str, node: str, path: list[str]) -> None:
        for nxt in sorted(edges.get(node, ())):
            if nxt == start:
                found.append([*path, start])
            elif nxt not in path and nxt > start:
                walk(start, nxt, [*path, nxt])

    for start in sorted(edges):
        walk(start, start, [start])
    return found


def test_the_package_keeps_its_import_contract():
    problems = violations()
    assert not problems, "import contract broken:\n" + "\n".join(problems)


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "immunocycle"
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


CLEAN = {"__init__.py": "", "model/__init__.py": "from immunocycle.model._m import M\n",
         "model/_m.py": "M = 1\n", "cycle/__init__.py": "", "_paths.py": "",
         "cycle/_c.py": "from immunocycle.model import M\nfrom immunocycle import _paths\n"
                        "from . import _d\n",
         "cycle/_d.py": "", "cli.py": "from immunocycle.cycle._c import x\n"}


@pytest.mark.parametrize("name, text, expected", [
    ("cycle/_e.py", "def f():\n    from immunocycle.model._m import M\n",
     "private import immunocycle.model._m.M"),
    ("cycle/_e.py", "from immunocycle.model import _hidden\n", "private import"),
    ("model/_e.py", "from immunocycle.cycle import simulate_cycle\n",
     "model (layer 0) imports cycle (layer 3)"),
    ("pk/_e.py", "import immunocycle.cycle\n", "pk (layer 3) imports cycle (layer 3)"),
    ("_paths.py", "from immunocycle.model import M\n", "utility _paths imports package model"),
    ("model/_e.py", "from ..cli import app\n", "model (layer 0) imports cli (layer 100)"),
    ("_commands/x.py", "from immunocycle.trial._trial import run\n", "private import"),
])
def test_the_check_finds_each_kind_of_breach(tmp_path, name, text, expected):
    assert violations(_tree(tmp_path, CLEAN)) == []
    root = _tree(tmp_path, {name: text})
    assert any(expected in v for v in violations(root)), violations(root)


def test_the_check_finds_a_circle_inside_a_package(tmp_path):
    root = _tree(tmp_path, {**CLEAN, "cycle/_d.py": "def f():\n    from immunocycle.cycle._c import x\n"})
    assert violations(root) == ["import circle: cycle._c -> cycle._d -> cycle._c"]


def test_the_check_names_a_circle():
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
