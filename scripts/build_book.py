"""Build the book: execute every notebook once with papermill, then build the HTML from the copies.

    python scripts/build_book.py [--profile ci|full] [--reuse] [--no-html] [--only 02,03]
    python scripts/build_book.py --html-only        # rebuild _build/html from the executed copies
    python scripts/build_book.py --sync-urls        # rewrite Colab badges / install lines
    python scripts/build_book.py --strip            # clear outputs before committing

Steps (paths relative to the repository root):

1. Execute the notebooks of ``_toc.yml`` in its order with papermill (kernel ``python3`` of
   this interpreter, working directory ``notebooks/``, parameter ``PROFILE``) into
   ``_build/executed/<profile>/``. A failing cell stops the build (exit status 1); the
   partly executed copy is kept there to read the traceback. ``--reuse`` keeps copies that
   are newer than their notebook and than every file of ``src/imbloss``. Papermill's
   injected ``# Parameters`` cell is folded into the notebook's own ``parameters`` cell,
   so the page shows one cell with the values the notebook ran with. ``--only 02,03``
   executes only the notebooks whose names start with those prefixes.
2. Stage ``_config.yml``, ``_toc.yml``, ``_static/``, ``_ext/``, ``book/`` and the executed
   notebooks under ``_build/source/``, appending one autodoc section per public module of
   ``imbloss`` to the staged ``book/api.md``. With ``--only``, a notebook that has no
   executed copy is staged unexecuted and the HTML is built without ``-W`` (its glued
   values are missing): a preview of some chapters, not a build to publish.
3. ``jupyter-book build _build/source --path-output . -W --keep-going --all`` into a fresh
   ``_build/html``: warnings are errors, so a broken reference, citation, glue key or
   docstring fails the build.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pkgutil
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "_build"
SOURCE = BUILD / "source"
HTML = BUILD / "html"
KERNEL = "python3"
COLAB_URL_RE = re.compile(r"https://colab\.research\.google\.com/github/[^)\s\"']+")

#: The opening of every notebook's first code cell, up to its ``from imbloss...`` imports:
#: in Colab it installs the package from the repository of ``_config.yml`` and stops the
#: notebook with the command to run when pip fails (``%pip`` would print the error and let
#: the next cell fail on ``import imbloss``). ``--sync-urls`` rewrites it in every notebook.
INSTALL_BLOCK = """\
# Colab: install imbloss from the repository (elsewhere requirements.txt has installed it).
import subprocess
import sys

if "google.colab" in sys.modules:
    PACKAGE = "imbloss[plots] @ {url}"
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", PACKAGE],
                         capture_output=True, text=True)
    if pip.returncode != 0:
        raise RuntimeError(
            f"installing imbloss failed (pip exit status {{pip.returncode}}); run\\n"
            f"    !pip install \\"{{PACKAGE}}\\"\\nin a cell and read pip's message. It ended:\\n"
            + pip.stderr[-1500:]
        )

"""


def executed_dir(profile: str) -> Path:
    return BUILD / "executed" / profile


def load_yaml(name: str) -> dict:
    return yaml.safe_load((ROOT / name).read_text(encoding="utf-8"))


def toc_files() -> list[Path]:
    """Every file of ``_toc.yml`` in reading order, with its suffix (.md or .ipynb)."""
    toc = load_yaml("_toc.yml")
    names: list[str] = [toc["root"]]

    def walk(entries: list[dict]) -> None:
        for entry in entries:
            if "file" in entry:
                names.append(entry["file"])
            walk(entry.get("sections", []))
            walk(entry.get("chapters", []))

    walk(toc.get("parts", []))
    walk(toc.get("chapters", []))
    files = []
    for name in names:
        found = [p for p in (ROOT / f"{name}.md", ROOT / f"{name}.ipynb") if p.exists()]
        if len(found) != 1:
            raise SystemExit(f"_toc.yml entry {name!r}: expected one of {name}.md / {name}.ipynb")
        files.append(found[0])
    return files


def toc_notebooks() -> list[Path]:
    return [f for f in toc_files() if f.suffix == ".ipynb"]


def package_mtime() -> float:
    return max(p.stat().st_mtime for p in (ROOT / "src" / "imbloss").rglob("*.py"))


def is_fresh(executed: Path, source: Path) -> bool:
    """True if ``executed`` exists and is newer than ``source`` and than the package."""
    return executed.exists() and executed.stat().st_mtime > max(
        source.stat().st_mtime, package_mtime()
    )


def selected(notebooks: list[Path], only: list[str] | None) -> list[Path]:
    """The notebooks whose file names start with one of the prefixes ``only`` (all if None)."""
    if only is None:
        return notebooks
    unknown = [p for p in only if not any(nb.name.startswith(p) for nb in notebooks)]
    if unknown:
        names = [nb.name for nb in notebooks]
        raise SystemExit(f"--only {','.join(unknown)}: no notebook starts with that; have {names}")
    return [nb for nb in notebooks if any(nb.name.startswith(p) for p in only)]


def fold_injected_parameters(path: Path) -> None:
    """Fold papermill's ``injected-parameters`` cell of ``path`` into its ``parameters`` cell.

    Every ``NAME = value`` line of the tagged cell whose NAME papermill injected gets the
    injected value (its comments stay); the injected cell is removed. The rendered page
    then shows one parameters cell with the values the notebook ran with.
    """
    import nbformat

    nb = nbformat.read(path, as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    if not injected:
        return
    tagged = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    values = dict(re.findall(r"^(\w+) = (.+)$", injected[0].source, re.M))
    tagged.source = re.sub(
        r"^(\w+) = (.+)$",
        lambda m: f"{m[1]} = {values.get(m[1], m[2])}",
        tagged.source,
        flags=re.M,
    )
    nb.cells = [c for c in nb.cells if c not in injected]
    nbformat.write(nb, path)


def execute(profile: str, reuse: bool, only: list[str] | None = None) -> dict[str, float]:
    """Run the notebooks of the toc (those of ``only``) once; return seconds per notebook
    (0 when reused)."""
    import papermill

    out_dir = executed_dir(profile)
    out_dir.mkdir(parents=True, exist_ok=True)
    timings_file = out_dir / "timings.json"
    timings: dict[str, float] = (
        json.loads(timings_file.read_text()) if only and timings_file.exists() else {}
    )
    for nb in selected(toc_notebooks(), only):
        out = out_dir / nb.name
        rel = nb.relative_to(ROOT).as_posix()
        if reuse and is_fresh(out, nb):
            print(f"[book] reuse   {rel}", flush=True)
            timings[rel] = 0.0
            continue
        start = time.perf_counter()
        try:
            papermill.execute_notebook(
                str(nb),
                str(out),
                parameters={"PROFILE": profile},
                kernel_name=KERNEL,
                cwd=str(nb.parent),
                progress_bar=False,
                # a kernel without a terminal: tqdm's text bars stay off (no IProgress warning)
                kernel_env=kernel_env(),
            )
        except papermill.PapermillExecutionError as exc:
            if out.exists():  # keep it to read, but never --reuse it
                os.utime(out, (0, 0))
            raise SystemExit(
                f"[book] {rel} failed in cell {exc.exec_count}: {exc.ename}: {exc.evalue}\n"
                f"[book] the partly executed notebook is {out.relative_to(ROOT)}"
            ) from None
        fold_injected_parameters(out)
        timings[rel] = round(time.perf_counter() - start, 1)
        print(f"[book] execute {rel}: {timings[rel]} s", flush=True)
    timings_file.write_text(json.dumps(timings, indent=1) + "\n")
    return timings


def kernel_env() -> dict[str, str]:
    """The environment of the notebooks' kernels: this process's, with the package's
    ``src/`` first on ``PYTHONPATH`` (the kernel imports this checkout's imbloss)."""
    env = dict(os.environ)
    src = str(ROOT / "src")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
    return env


def api_sections() -> str:
    """MyST autodoc sections for every public module of ``imbloss``.

    A package with ``__all__`` is documented as one namespace (its public names wherever
    they are defined); a package without it by its public submodules.
    """
    import imbloss

    def public(pkg) -> list[tuple[str, bool]]:
        return [
            (f"{pkg.__name__}.{m.name}", m.ispkg)
            for m in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name)
            if not m.name.startswith("_")
        ]

    names: list[str] = []
    for name, ispkg in public(imbloss):
        module = importlib.import_module(name)  # an import error stops the build here
        names.append(name)
        if ispkg and getattr(module, "__all__", None) is None:
            for sub, _ in public(module):
                importlib.import_module(sub)
                names.append(sub)
    # the losses first, then what a reader of the experiment uses, then the rest by name
    first = [
        "imbloss.losses",
        "imbloss.posthoc",
        "imbloss.stats",
        "imbloss.results",
        "imbloss.comparison",
    ]
    names.sort(key=lambda n: (first.index(n) if n in first else len(first), n))
    blocks = [
        f"## `{name}`\n\n```{{eval-rst}}\n.. automodule:: {name}\n   :members:\n```\n"
        for name in names
    ]
    return "\n".join(blocks)


def stage(profile: str, allow_unexecuted: bool = False) -> list[str]:
    """Copy the book's sources and the executed notebooks into ``_build/source``.

    Returns the notebooks staged unexecuted (only with ``allow_unexecuted``; otherwise a
    missing executed copy stops the build).
    """
    if SOURCE.exists():
        shutil.rmtree(SOURCE)
    SOURCE.mkdir(parents=True)
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(ROOT / name, SOURCE / name)
    for folder in ("_static", "_ext"):  # the CSS, and the bibliography style extension
        shutil.copytree(ROOT / folder, SOURCE / folder)
    shutil.copytree(ROOT / "book", SOURCE / "book")
    # the package's source, which the chapters show with literalinclude (book/../src)
    shutil.copytree(
        ROOT / "src" / "imbloss",
        SOURCE / "src" / "imbloss",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    shutil.copytree(
        ROOT / "notebooks",
        SOURCE / "notebooks",
        ignore=shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints", "__pycache__"),
    )
    unexecuted = []
    for nb in toc_notebooks():
        executed = executed_dir(profile) / nb.name
        if not executed.exists():
            missing = executed.relative_to(ROOT)
            if not allow_unexecuted:
                raise SystemExit(f"[book] {missing} is missing: run without --html-only")
            unexecuted.append(nb.relative_to(ROOT).as_posix())
            executed = nb
        shutil.copy2(executed, SOURCE / nb.relative_to(ROOT))
    api = SOURCE / "book" / "api.md"
    if api.exists():
        api.write_text(api.read_text(encoding="utf-8").rstrip() + "\n\n" + api_sections())
    return unexecuted


def build_html(strict: bool = True) -> float:
    """Build ``_build/html`` from the staged sources; return seconds. ``strict``: warnings
    are errors (``-W``)."""
    start = time.perf_counter()
    if HTML.exists():  # no stale pages from an earlier build
        shutil.rmtree(HTML)
    cmd = [
        sys.executable, "-c", "from jupyter_book.cli.main import main; main()",
        "build", str(SOURCE), "--path-output", str(ROOT),
        "--builder", "html", *(["-W"] if strict else []), "--keep-going", "--all",
    ]  # fmt: skip
    result = subprocess.run(cmd, cwd=ROOT)
    if result.returncode != 0:
        raise SystemExit(f"[book] jupyter-book build failed (exit {result.returncode})")
    seconds = round(time.perf_counter() - start, 1)
    print(f"[book] html    {HTML.relative_to(ROOT)}: {seconds} s", flush=True)
    return seconds


def expected_urls(nb: Path) -> tuple[str, str]:
    """(Colab badge URL, ``git+`` install URL) that ``_config.yml`` implies for ``nb``."""
    config = load_yaml("_config.yml")
    repo = config["repository"]["url"].rstrip("/")
    branch = config["repository"].get("branch", "main")
    prefix = config["repository"].get("path_to_book", "").strip("/")
    path = "/".join(p for p in (prefix, nb.relative_to(ROOT).as_posix()) if p)
    colab = config["launch_buttons"]["colab_url"].rstrip("/")
    owner_repo = repo.removeprefix("https://github.com/")
    return f"{colab}/github/{owner_repo}/blob/{branch}/{path}", f"git+{repo}"


def install_cell(source: str, install_url: str) -> str:
    """``source`` (a first code cell) with its install block replaced by :data:`INSTALL_BLOCK`.

    The block is everything before the cell's first ``from imbloss`` / ``import imbloss``
    line; what follows (the imports and ``DEVICE``) is kept as it is.
    """
    match = re.search(r"^(from|import) imbloss", source, re.M)
    if match is None:
        raise SystemExit("the first code cell must import imbloss after its install block")
    return INSTALL_BLOCK.format(url=install_url) + source[match.start() :]


def sync_urls() -> None:
    """Rewrite every notebook's Colab badge and install cell to match ``_config.yml``."""
    import nbformat

    for nb_path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        badge, install = expected_urls(nb_path)
        nb = nbformat.read(nb_path, as_version=4)
        changed = False
        first_code = next(c for c in nb.cells if c.cell_type == "code")
        for cell in nb.cells:
            new = COLAB_URL_RE.sub(badge, cell.source)
            if cell is first_code:
                new = install_cell(new, install)
            changed |= new != cell.source
            cell.source = new
        if changed:
            nbformat.write(nb, nb_path)
            print(f"[book] updated {nb_path.relative_to(ROOT)}")


def strip_outputs() -> None:
    """Clear outputs, execution counts and run metadata of every notebook, in place."""
    import nbformat

    for nb_path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(nb_path, as_version=4)
        before = nbformat.writes(nb)
        nb.metadata.pop("papermill", None)
        nb.cells = [c for c in nb.cells if "injected-parameters" not in c.metadata.get("tags", [])]
        for cell in nb.cells:
            for key in ("papermill", "execution", "collapsed", "scrolled"):
                cell.metadata.pop(key, None)
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        if nbformat.writes(nb) != before:
            nbformat.write(nb, nb_path)
            print(f"[book] stripped {nb_path.relative_to(ROOT)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default=os.environ.get("PROFILE", "ci"))
    parser.add_argument("--reuse", action="store_true", help="keep fresh executed copies")
    parser.add_argument("--no-html", action="store_true", help="execute only")
    parser.add_argument("--html-only", action="store_true", help="build from executed copies")
    parser.add_argument("--sync-urls", action="store_true", help="rewrite badges, then stop")
    parser.add_argument("--strip", action="store_true", help="clear notebook outputs, then stop")
    parser.add_argument(
        "--only",
        type=lambda text: [p.strip() for p in text.split(",") if p.strip()],
        help="execute only the notebooks starting with these comma-separated prefixes "
        "(e.g. 02,03); the others keep their executed copy or are staged unexecuted",
    )
    args = parser.parse_args(argv)
    if args.sync_urls or args.strip:
        if args.sync_urls:
            sync_urls()
        if args.strip:
            strip_outputs()
        return 0
    sys.path.insert(0, str(ROOT / "src"))
    from imbloss.book import check_profile

    profile = check_profile(args.profile)
    start = time.perf_counter()
    if not args.html_only:
        execute(profile, reuse=args.reuse, only=args.only)
    if not args.no_html:
        unexecuted = stage(profile, allow_unexecuted=args.only is not None)
        if unexecuted:
            print(f"[book] staged unexecuted (no -W: a preview): {', '.join(unexecuted)}")
        build_html(strict=not unexecuted)
    print(f"[book] done in {time.perf_counter() - start:.0f} s (PROFILE={profile})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
