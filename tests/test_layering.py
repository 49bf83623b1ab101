"""The package's floors: every module imports only modules on lower floors (so there is no
upward arrow and no circle), and the modules that read results, dispatch runs or set up the
process do so without the trainer.

``runs``, ``stats``, ``posthoc``, ``results`` and ``comparison`` do not import torch themselves
(the package's ``__init__`` imports the losses, which do); none of them, nor the spec, the
sweep and its dispatcher, the plots, the book's helpers, the command line or the runtime
imports the trainer: the sweep's workers import it when they run, the command line when it
trains.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import imbloss

PACKAGE = Path(imbloss.__file__).parent
READERS = [
    "runs",
    "store",
    "stats",
    "posthoc",
    "frames",
    "results",
    "comparison",
    "spec",
    "sweep",
    "dispatch",
    "plots",
]
NOT_TRAINER = [*READERS, "arguments", "book", "cli", "runtime", "schedules"]

# The floor of every module (a package by its __init__): a module imports (at its top level)
# only modules on lower floors. A new module gets a floor here.
FLOORS = {
    0: [
        "checks", "data.base", "data.text", "diagnostics", "distributed", "errors",
        "interrupts", "losses._docs", "metrics", "peers", "progress", "runs", "runtime",
        "schedules",
    ],
    1: [
        "data.batches", "data.longtail", "data.names", "data.samplers", "losses._checks",
        "frames", "models", "posthoc", "profiles", "scores", "stats", "store", "style",
    ],
    2: ["book", "data", "decoupled", "losses.core", "results"],
    3: [
        "comparison", "plots", "losses.class_weights", "losses.focal", "losses.ghm", "losses.gw",
        "losses.ldam", "losses.logit_adjustment", "losses.sigmoid",
    ],
    4: ["losses.factory"],
    5: ["losses"],
    6: ["", "benchmark", "config"],
    7: ["arguments", "dispatch", "spec", "train"],
    8: ["stacked", "sweep"],
    9: ["cli"],
    10: ["__main__"],
}  # fmt: skip
FLOOR = {("imbloss." + m).rstrip("."): f for f, ms in FLOORS.items() for m in ms}


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The package's modules that ``name`` imports at its top level (``from imbloss import
    stats`` imports ``imbloss.stats``, not the package)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            subs = {f"{base}.{alias.name}" for alias in node.names} & set(modules)
            out |= subs or {base}
    return {m for m in out if m in modules and m != name}


def test_every_module_has_a_floor() -> None:
    assert sorted(set(_modules()) - set(FLOOR)) == []
    assert sorted(set(FLOOR) - set(_modules())) == []


def test_every_import_goes_to_a_lower_floor() -> None:
    """No upward arrow, hence no circle."""
    modules = _modules()
    upward = [
        f"{name} (floor {FLOOR[name]}) imports {dep} (floor {FLOOR[dep]})"
        for name, path in modules.items()
        for dep in sorted(_imports(name, path, modules))
        if FLOOR[dep] >= FLOOR[name]
    ]
    assert upward == []


def _top_level_imports(module: str) -> set[str]:
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    names = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize(
    "module", ["runs", "store", "stats", "posthoc", "frames", "results", "comparison"]
)
def test_record_and_statistics_modules_do_not_import_torch(module: str) -> None:
    assert not {n for n in _top_level_imports(module) if n.split(".")[0] == "torch"}


def test_readers_dispatch_book_cli_and_runtime_do_not_import_the_trainer() -> None:
    code = (
        "import sys; "
        + "; ".join(f"import imbloss.{m}" for m in NOT_TRAINER)
        + "; print('imbloss.train' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
