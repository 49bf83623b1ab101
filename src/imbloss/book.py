"""What the book's notebooks share: the run profile, the device, the results cache, glue.

Every notebook starts with the same three lines after its ``parameters`` cell::

    PROFILE = check_profile(PROFILE)   # "ci" (CPU, minutes) or "full" (GPU, Colab)
    DEVICE = pick_device()
    RESULTS = results_dir(PROFILE)     # trained runs, shared by all notebooks

and stores every number the prose quotes with :func:`glue`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

#: The run profiles a notebook accepts: ``ci`` runs on the CPU of a CI machine in
#: minutes (full data, at least 3 seeds where a notebook trains); ``full`` is the
#: Colab-GPU profile (at least 10 seeds).
PROFILE_NAMES = ("ci", "full")

#: Environment variable that overrides :func:`results_dir`'s folder.
RESULTS_ENV = "IMBLOSS_RESULTS_DIR"


def check_profile(profile: Any) -> str:
    """Return ``profile`` if it names a profile in :data:`PROFILE_NAMES`, else raise ValueError."""
    if not isinstance(profile, str) or profile not in PROFILE_NAMES:
        raise ValueError(
            f"PROFILE={profile!r} is not a known profile; expected one of {PROFILE_NAMES} "
            "(set it in the notebook's parameters cell or with papermill -p PROFILE ...)"
        )
    return profile


def pick_device():
    """The device ``fit(TrainConfig(device="auto"))`` trains on: CUDA, then MPS, then CPU."""
    from imbloss.train import resolve_device

    return resolve_device("auto")


def repo_root(start: str | os.PathLike | None = None) -> Path | None:
    """The nearest folder at or above ``start`` (default: the working directory) that holds
    both ``_config.yml`` and ``pyproject.toml``, or None (e.g. in Colab)."""
    here = Path(start if start is not None else Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "_config.yml").is_file() and (folder / "pyproject.toml").is_file():
            return folder
    return None


def results_dir(profile: str, *, create: bool = True) -> Path:
    """The folder where trained results of ``profile`` are cached and shared by notebooks.

    ``$IMBLOSS_RESULTS_DIR/<profile>`` when that variable is set, else
    ``<repo root>/_build/results/<profile>`` (``./_build/results/<profile>`` outside the
    repository, e.g. in Colab).
    """
    check_profile(profile)
    base = os.environ.get(RESULTS_ENV)
    if base:
        folder = Path(base).expanduser() / profile
    else:
        root = repo_root() or Path.cwd()
        folder = root / "_build" / "results" / profile
    if create:
        folder.mkdir(parents=True, exist_ok=True)
    return folder


def plain(value: Any) -> Any:
    """Turn numpy / torch scalars into Python ``int`` / ``float`` (other values unchanged).

    Glued numbers must be plain Python numbers: their ``text/plain`` form is then a
    literal (``0.322``, not ``np.float64(0.322)``) that ``{glue:text}`` can format.
    """
    item = getattr(value, "item", None)
    if callable(item) and tuple(getattr(value, "shape", (None,))) == ():
        return item()
    return value


def glue(name: str, value: Any, display: bool = False) -> Any:
    """Store ``value`` under ``name`` in the notebook's outputs for the book, and return it.

    Calls :func:`myst_nb.glue` (numbers are first made plain with :func:`plain`). Where
    myst-nb is not installed (Colab) the value is stored in the same format: an output
    whose metadata ``scrapbook`` holds the name, which is what myst-nb reads.
    """
    value = plain(value)
    try:
        from myst_nb import glue as _glue
    except ImportError:  # pragma: no cover - exercised in Colab only
        from IPython.core.formatters import format_display_data
        from IPython.display import display as _display

        prefix = "" if display else "application/papermill.record/"
        bundle, metadata = format_display_data(value)
        metadata["scrapbook"] = {"name": name, "mime_prefix": prefix}
        _display({prefix + k: v for k, v in bundle.items()}, raw=True, metadata=metadata)
    else:
        _glue(name, value, display=display)
    return value
