"""The book's build as the tests see it: ``scripts/build_book.py`` loaded as a module, the
profile the slow tests read (``$PROFILE``, default ``ci``), and the executed notebooks and
HTML built on demand. ``tests/conftest.py`` turns the last two into the session fixtures
``executed`` and ``html`` that tests/test_book.py and tests/test_pages.py share."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROFILE = os.environ.get("PROFILE", "ci")
HTML = ROOT / "_build" / "html"

_spec = importlib.util.spec_from_file_location("build_book", ROOT / "scripts" / "build_book.py")
build_book = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build_book)


class Executed(dict):
    """``executed[stem]``: the executed copy of ``notebooks/<stem>.ipynb``, executed first
    (alone, with ``--only``) when it is missing or older than its sources, so a test runs
    only the notebooks it reads."""

    def __missing__(self, stem: str) -> Path:
        nb = ROOT / "notebooks" / f"{stem}.ipynb"
        out = build_book.executed_dir(PROFILE) / nb.name
        if not build_book.is_fresh(out, nb):
            script = str(ROOT / "scripts" / "build_book.py")
            cmd = [sys.executable, script, "--profile", PROFILE, "--reuse", "--no-html"]
            subprocess.run([*cmd, "--only", stem], cwd=ROOT, check=True)
        self[stem] = out
        return out


def _html_is_fresh() -> bool:
    index = HTML / "index.html"
    if not index.exists():
        return False
    sources = [ROOT / "_config.yml", ROOT / "_toc.yml", *build_book.toc_files()]
    sources += list(build_book.executed_dir(PROFILE).glob("*.ipynb"))
    return index.stat().st_mtime > max(p.stat().st_mtime for p in sources if p.exists())


def built_html(executed: Executed) -> Path:
    """``_build/html``, rebuilt from the executed notebooks (executing stale ones) when older
    than its sources."""
    if not _html_is_fresh():
        for nb in build_book.toc_notebooks():
            executed[nb.stem]  # noqa: B018 - executes a stale notebook
        script = str(ROOT / "scripts" / "build_book.py")
        cmd = [sys.executable, script, "--profile", PROFILE, "--html-only"]
        subprocess.run(cmd, cwd=ROOT, check=True)
    return HTML
