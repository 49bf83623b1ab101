"""The notebooks are committed clean and wired to the book.

Each notebook: valid nbformat 4, no outputs and no execution counts (the book shows what
CI executes, never a stale local run), kernel ``python3``, exactly one papermill
``parameters`` cell setting ``PROFILE = "ci"``, a first code cell that installs the package
only in Colab from the repository named in ``_config.yml`` and stops with the command to
run when pip fails, a Colab badge pointing at the
notebook's own path in that repository, and an entry in ``_toc.yml``.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
REPO_URL = CONFIG["repository"]["url"].rstrip("/")
BRANCH = CONFIG["repository"].get("branch", "main")
COLAB = CONFIG["launch_buttons"]["colab_url"].rstrip("/")
INSTALL_RE = re.compile(r'^\s+PACKAGE = "imbloss\[plots\] @ (?P<url>git\+\S+)"\s*$', re.M)
BADGE_RE = re.compile(r"\[!\[Open In Colab\]\([^)]*\)\]\((?P<url>[^)\s]+)\)")


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def code_cells(nb) -> list:
    return [c for c in nb.cells if c.cell_type == "code"]


def toc_entries() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    found = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                found.append(entry["file"])
            walk(entry.get("sections"))
            walk(entry.get("chapters"))

    walk(toc.get("parts"))
    walk(toc.get("chapters"))
    return found


def test_there_are_notebooks():
    assert NOTEBOOKS, "notebooks/ holds no .ipynb"


@pytest.fixture(params=NOTEBOOKS, ids=lambda p: p.name)
def nb_path(request) -> Path:
    return request.param


def test_valid_nbformat_4(nb_path):
    nb = read(nb_path)
    nbformat.validate(nb)
    assert nb.nbformat == 4


def test_committed_without_outputs(nb_path):
    nb = read(nb_path)
    dirty = [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, (
        f"{nb_path.name}: cells {dirty} have outputs or execution counts; clear them with "
        "`python scripts/build_book.py --strip` (the book is built from executed copies)"
    )
    assert "papermill" not in nb.metadata, f"{nb_path.name} is a papermill output, not a source"
    injected = [
        i for i, c in enumerate(nb.cells) if "injected-parameters" in c.metadata.get("tags", [])
    ]
    assert not injected, f"{nb_path.name}: cells {injected} were injected by papermill"
    stale = [i for i, c in enumerate(nb.cells) if {"papermill", "execution"} & set(c.metadata)]
    assert not stale, f"{nb_path.name}: cells {stale} carry execution metadata"


def test_kernel_is_python3(nb_path):
    assert read(nb_path).metadata.get("kernelspec", {}).get("name") == "python3"


def test_one_parameters_cell_with_profile_ci(nb_path):
    nb = read(nb_path)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{nb_path.name}: {len(tagged)} cells tagged 'parameters', expected 1"
    cell = tagged[0]
    assert cell.cell_type == "code"
    assert cell is code_cells(nb)[1], "the parameters cell must be the second code cell"
    values = {
        node.targets[0].id: ast.literal_eval(node.value)
        for node in ast.parse(cell.source).body
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
    }
    assert values.get("PROFILE") == "ci", f"{nb_path.name}: parameters cell sets {values}"
    later = "\n".join(c.source for c in code_cells(nb)[2:])
    assert "check_profile(PROFILE)" in later, f"{nb_path.name} never checks PROFILE"


def test_first_code_cell_installs_only_in_colab_from_config_url(nb_path):
    first = code_cells(read(nb_path))[0].source
    assert 'if "google.colab" in sys.modules:' in first
    installs = INSTALL_RE.findall(first)
    assert installs == [f"git+{REPO_URL}"], (
        f"{nb_path.name}: install line(s) {installs} do not match _config.yml's "
        f"repository.url {REPO_URL!r} (run `make book-urls`)"
    )
    assert "pick_device()" in first, f"{nb_path.name}: the first cell must pick the device"
    assert "%pip" not in first, "%pip does not stop the notebook when the install fails"


def _install_block(nb_path: Path) -> str:
    first = code_cells(read(nb_path))[0].source
    return first[: re.search(r"^(from|import) imbloss", first, re.M).start()]


def test_install_cell_is_the_synced_block(nb_path):
    """`make book-urls` writes the install block; a hand edit would drift from it."""
    spec = importlib.util.spec_from_file_location("build_book", ROOT / "scripts" / "build_book.py")
    build_book = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build_book)
    expected = build_book.INSTALL_BLOCK.format(url=f"git+{REPO_URL}")
    assert _install_block(nb_path) == expected, f"{nb_path.name}: run `make book-urls`"


def test_a_failed_colab_install_stops_the_notebook_with_the_command(nb_path, tmp_path):
    """In a kernel where google.colab is imported, pip failing raises, naming the command."""
    block = _install_block(nb_path).replace(f"git+{REPO_URL}", (tmp_path / "no.whl").as_uri())
    script = (
        "import sys, types\n"
        "sys.modules['google'] = types.ModuleType('google')\n"
        "sys.modules['google.colab'] = types.ModuleType('google.colab')\n" + block
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert run.returncode != 0
    assert "RuntimeError: installing imbloss failed" in run.stderr
    assert '!pip install "imbloss[plots] @ file:' in run.stderr, run.stderr[-2000:]
    # outside Colab the block does nothing
    outside = subprocess.run([sys.executable, "-c", block], capture_output=True, text=True)
    assert outside.returncode == 0, outside.stderr


def test_colab_badge_matches_config(nb_path):
    nb = read(nb_path)
    first_md = next(c for c in nb.cells if c.cell_type == "markdown")
    owner_repo = REPO_URL.removeprefix("https://github.com/")
    prefix = CONFIG["repository"].get("path_to_book", "").strip("/")
    path = "/".join(p for p in (prefix, nb_path.relative_to(ROOT).as_posix()) if p)
    expected = f"{COLAB}/github/{owner_repo}/blob/{BRANCH}/{path}"
    badges = BADGE_RE.findall(first_md.source)
    assert badges == [expected], (
        f"{nb_path.name}: badge {badges} should be {expected!r} (run `make book-urls`)"
    )
    assert first_md.source.startswith("# "), f"{nb_path.name} must start with its title"


def test_every_notebook_is_in_the_toc_and_every_entry_exists():
    entries = toc_entries()
    in_toc = {e for e in entries if (ROOT / f"{e}.ipynb").exists()}
    on_disk = {p.relative_to(ROOT).with_suffix("").as_posix() for p in NOTEBOOKS}
    assert on_disk == in_toc, f"not in _toc.yml: {on_disk - in_toc}"
    missing = [e for e in entries if not list(ROOT.glob(f"{e}.md")) + list(ROOT.glob(f"{e}.ipynb"))]
    assert not missing, f"_toc.yml entries without a file: {missing}"
