"""The run records, statistics, results tables and plots read results without the trainer.

``runs``, ``stats``, ``posthoc`` and ``results`` do not import torch themselves (the package's
``__init__`` imports the losses, which do); none of them, nor the sweep or the plots, imports
the trainer: the sweep's workers import it when they run.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import imbloss

PACKAGE = Path(imbloss.__file__).parent
READERS = ["runs", "store", "stats", "posthoc", "results", "sweep", "plots"]


def _top_level_imports(module: str) -> set[str]:
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    names = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("module", ["runs", "store", "stats", "posthoc", "results"])
def test_record_and_statistics_modules_do_not_import_torch(module: str) -> None:
    assert not {n for n in _top_level_imports(module) if n.split(".")[0] == "torch"}


def test_readers_do_not_import_the_trainer() -> None:
    code = (
        "import sys; "
        + "; ".join(f"import imbloss.{m}" for m in READERS)
        + "; print('imbloss.train' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
