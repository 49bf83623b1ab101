"""A notebook runs alone in a fresh Colab kernel.

What the simulation keeps from Colab: the notebook is a lone file outside any clone of
the repository (so there is no ``bench/``, no ``_config.yml`` and no ``src/``), the
kernel has ``google.colab`` imported before the first cell runs, and ``imbloss`` is not
installed until the notebook's own install cell installs it. What it changes: the install
cell installs the wheel built from this checkout instead of the repository on GitHub (the
line that names the URL is rewritten), and the other libraries (torch, pandas, ...) are
this interpreter's, seen through a folder of links that leaves out its ``imbloss``, so
nothing is downloaded and nothing is installed into this interpreter's environment.

Checked: one analytic notebook (02) and the training notebook 03, the latter with
``EPOCHS=1`` so that its runs take seconds.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import nbformat
import pytest
import yaml

from imbloss.profiles import PROFILES
from imbloss.spec import expand

ROOT = Path(__file__).resolve().parents[1]
REPO_URL = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"].rstrip("/")

pytestmark = pytest.mark.slow


def _run(cmd, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    output = f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    assert result.returncode == 0, f"{cmd} failed:\n{output}"
    return result


@pytest.fixture(scope="module")
def colab(tmp_path_factory) -> dict:
    """A fresh 'Colab' environment: a venv with the stub and no imbloss, and a wheel."""
    base = tmp_path_factory.mktemp("colab")
    wheels, project = base / "wheels", base / "project"  # built from a copy: no build/ here
    shutil.copytree(ROOT / "src", project / "src", ignore=shutil.ignore_patterns("*.egg-info"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, project / name)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
          "--quiet", "-w", str(wheels), str(project)])  # fmt: skip
    (wheel,) = wheels.glob("imbloss-*.whl")

    # this interpreter's libraries, without imbloss (its dist-info and editable hook)
    libs = base / "libs"
    libs.mkdir()
    site = Path(sysconfig.get_paths()["purelib"])
    for entry in site.iterdir():
        if "imbloss" in entry.name.lower() or entry.suffix == ".pth":
            continue
        (libs / entry.name).symlink_to(entry)

    venv = base / "venv"
    _run([sys.executable, "-m", "venv", str(venv)])
    python = venv / "bin" / "python"
    venv_site = Path(
        _run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
        ).stdout.strip()
    )
    (venv_site / "zz_colab_libraries.pth").write_text(f"{libs}\n")
    stub = venv_site / "google" / "colab"
    stub.mkdir(parents=True)
    (stub / "__init__.py").write_text('"""A stand-in for Colab\'s module: only its presence."""\n')
    (venv_site / "zz_colab_stub.pth").write_text("import google.colab\n")

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHONPATH", "IMBLOSS_"))}
    env["HOME"] = str(base / "home")
    if os.environ.get("IMBLOSS_NAMES_DIR"):
        env["IMBLOSS_NAMES_DIR"] = os.environ["IMBLOSS_NAMES_DIR"]  # Colab would download it
    found = subprocess.run([str(python), "-c", "import imbloss"], env=env, capture_output=True)
    assert found.returncode != 0, "the fresh environment must not see an installed imbloss"
    return {"python": python, "wheel": wheel, "env": env, "base": base}


def run_in_colab(colab: dict, name: str, parameters: dict) -> nbformat.NotebookNode:
    """Copy ``notebooks/<name>`` alone to a folder outside the repository, point its
    install cell at the wheel, and execute it there with papermill in the fresh venv."""
    work = colab["base"] / name.removesuffix(".ipynb")
    work.mkdir()
    source = (ROOT / "notebooks" / name).read_text(encoding="utf-8")
    pattern = f"imbloss[plots] @ git+{REPO_URL}"
    assert pattern in source, f"{name}: the install cell does not install {pattern!r}"
    (work / name).write_text(source.replace(pattern, f"imbloss[plots] @ {colab['wheel'].as_uri()}"))
    out = work / f"executed-{name}"
    cmd = [str(colab["python"]), "-m", "papermill", name, out.name, "-k", "python3",
           "--no-progress-bar"]  # fmt: skip
    for key, value in parameters.items():
        cmd += ["-p", key, str(value)]
    result = subprocess.run(cmd, cwd=work, env=colab["env"], capture_output=True, text=True)
    assert result.returncode == 0, f"{name} failed in Colab:\n{result.stderr[-4000:]}"
    executed = nbformat.read(out, as_version=4)
    installed = _run(
        [str(colab["python"]), "-c", "import imbloss; print(imbloss.__file__)"], env=colab["env"]
    ).stdout.strip()
    assert installed.startswith(str(colab["base"] / "venv")), installed  # from the wheel
    assert not (work / "_config.yml").exists() and not (work / "bench").exists()
    return executed


def _outputs_text(nb) -> str:
    return json.dumps([c.get("outputs", []) for c in nb.cells])


def test_an_analytic_notebook_runs_alone_in_colab(colab):
    nb = run_in_colab(colab, "02_accuracy_paradox.ipynb", {"PROFILE": "ci"})
    assert "scrapbook" in _outputs_text(nb)  # glued values are stored without myst-nb too


def test_the_training_notebook_runs_alone_in_colab(colab):
    if not os.environ.get("IMBLOSS_NAMES_DIR"):
        pytest.skip("IMBLOSS_NAMES_DIR is not set: the names data would be downloaded")
    nb = run_in_colab(colab, "03_gradient_imbalance.ipynb", {"PROFILE": "ci", "EPOCHS": 1})
    text = _outputs_text(nb)
    match = re.search(r"(\d+) runs on (\w+)", text)
    # cross-entropy on each of the profile's names seeds and six other losses on seed 0,
    # as many as the notebook's first cell says it trains
    seeds = {c.seed for e, c in expand(PROFILES["ci"]) if e == "names" and c.loss == "ce"}
    stated = re.search(r"trains (\d+) runs on the names data", nb.cells[0].source)
    assert match and int(match[1]) == len(seeds) + 6 == int(stated[1]), (match, stated)
    results = colab["base"] / "03_gradient_imbalance" / "_build" / "results" / "ci"
    assert len(list(results.glob("*.json"))) == len(seeds) + 6  # the cache is beside it
    shutil.rmtree(results)
