"""The package as it is shipped: an sdist whose tests run, a wheel with the profiles, one version.

The sdist is built from this tree and the wheel from the unpacked sdist, as ``pip`` and
``python -m build`` do; the tree is left as it was.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
BUILD = "from setuptools import build_meta as b; import sys; print(b.{}(sys.argv[1]))"


def _build(kind: str, source: Path, out: Path) -> Path:
    done = subprocess.run(
        [sys.executable, "-c", BUILD.format(kind), str(out)],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return out / done.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def sdist(tmp_path_factory) -> Path:
    """The unpacked sdist of this tree."""
    out = tmp_path_factory.mktemp("sdist")
    egg_info = ROOT / "src" / "imbloss.egg-info"
    existed = egg_info.exists()
    archive = _build("build_sdist", ROOT, out)
    if not existed:  # leave the tree as it was
        shutil.rmtree(egg_info)
    with tarfile.open(archive) as tar:
        tar.extractall(out, filter="data")
    (unpacked,) = [p for p in out.iterdir() if p.is_dir()]
    return unpacked


@pytest.fixture(scope="module")
def wheel(sdist, tmp_path_factory) -> Path:
    """The wheel built from the sdist, unpacked (importable with it on sys.path)."""
    out = tmp_path_factory.mktemp("wheel")
    archive = _build("build_wheel", sdist, out)
    with zipfile.ZipFile(archive) as zipped:
        zipped.extractall(out / "unpacked")
    return out / "unpacked"


def _tracked(folder: str) -> set[str]:
    return {
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / folder).rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and ".ipynb_checkpoints" not in p.parts
    }


@pytest.mark.slow
def test_sdist_holds_every_file_the_tests_read(sdist) -> None:
    shipped = {p.relative_to(sdist).as_posix() for p in sdist.rglob("*") if p.is_file()}
    for folder in ("tests", "notebooks", "book", "scripts", "src/imbloss"):
        assert _tracked(folder) <= shipped, _tracked(folder) - shipped
    assert {"tests/conftest.py", "tests/_ddp_worker.py", "tests/_ghm_dist_worker.py"} <= shipped
    assert {"_config.yml", "_toc.yml", "requirements.txt", "MANIFEST.in"} <= shipped


@pytest.mark.slow
def test_the_sdist_tests_are_collected_from_the_sdist(sdist) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=sdist,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(sdist / "src")},
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert re.search(r"^\d+ tests collected", done.stdout, re.M), done.stdout[-500:]


@pytest.mark.slow
def test_wheel_ships_the_profiles_and_reports_its_version(wheel, tmp_path) -> None:
    shipped = {p.relative_to(wheel).as_posix() for p in wheel.rglob("*") if p.is_file()}
    profiles = {"imbloss/profiles/ci.yaml", "imbloss/profiles/full.yaml"}
    assert profiles <= shipped
    (metadata,) = wheel.glob("imbloss-*.dist-info/METADATA")
    text = metadata.read_text()
    assert f"Version: {PYPROJECT['version']}\n" in text
    assert f"Requires-Python: {PYPROJECT['requires-python']}\n" in text
    env = {**os.environ, "PYTHONPATH": str(wheel)}  # the wheel's code and metadata come first
    run = [sys.executable, "-m", "imbloss"]
    version = subprocess.run([*run, "--version"], capture_output=True, text=True, env=env)
    assert version.stdout.split() == ["imbloss", PYPROJECT["version"]]
    # a profile runs by name outside any clone: a bad option stops it before any run
    sweep = subprocess.run(
        [*run, "sweep", "--profile", "ci", "--n-jobs", "0"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert sweep.returncode == 2 and "n_jobs must be a positive integer" in sweep.stderr


def test_build_outputs_are_ignored_by_git() -> None:
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout (e.g. the unpacked sdist)")
    paths = ["build/lib/imbloss/cli.py", "dist/imbloss-0.1.0.tar.gz", "src/imbloss.egg-info/x"]
    done = subprocess.run(["git", "check-ignore", *paths], cwd=ROOT, capture_output=True, text=True)
    assert done.stdout.split() == paths


def test_the_python_floor_is_the_one_ci_tests_and_the_readme_states() -> None:
    floor = re.fullmatch(r">=(\d+\.\d+)", PYPROJECT["requires-python"]).group(1)
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "book.yml").read_text())
    tested = {
        str(step["with"]["python-version"])
        for step in workflow["jobs"]["build"]["steps"]
        if step.get("uses", "").startswith("actions/setup-python")
    }
    assert tested == {floor}
    assert f"Python ≥ {floor}" in (ROOT / "README.md").read_text()
    assert sys.version_info[:2] >= tuple(map(int, floor.split(".")))
