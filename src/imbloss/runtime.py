"""The process a run trains in: seeds, torch threads, library versions and devices.

A bottom floor of the package: it imports torch and nothing of imbloss, so the book's
helpers, the command line and the sweep's dispatcher use it without importing the trainer
(:mod:`imbloss.train`), which uses it too. The package's ``__version__`` is read here.
"""

from __future__ import annotations

import contextlib
import os
import random
import sys
from importlib import metadata

import numpy as np
import torch

try:  # the one version is pyproject.toml's, read from the installed package's metadata
    __version__ = metadata.version("imbloss")
except metadata.PackageNotFoundError:  # imported from a source tree that is not installed
    __version__ = "unknown"

DEVICES = ("auto", "cpu", "cuda", "mps")


# --- seeds -----------------------------------------------------------------------------------


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's global generators."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


# --- threads ---------------------------------------------------------------------------------


def default_num_threads() -> int:
    """Torch threads for a run that does not set them: the cores left idle, at least 1.

    That is torch's own count (one per core) less the 1-minute load average. Beside busy
    processes torch's count over-subscribes the cores and its threads wait on each other: on
    2 cores beside two busy processes a names run fell from 14k names/s (idle) to 2.2k with
    2 threads, and kept 7.8k with 1.
    """
    threads = torch.get_num_threads()
    with contextlib.suppress(AttributeError, OSError):  # no load average on Windows
        threads -= round(os.getloadavg()[0])
    return max(1, threads)


@contextlib.contextmanager
def torch_threads(num_threads: int):
    """Use ``num_threads`` torch CPU threads inside the block, then restore the previous count."""
    previous = torch.get_num_threads()
    torch.set_num_threads(num_threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def check_num_threads(num_threads: int | None) -> None:
    """A thread count this machine can run: None (the default) or at most its cores."""
    cores = os.cpu_count() or 1
    if num_threads is not None and num_threads > cores:
        raise ValueError(
            f"num_threads={num_threads} is more than the {cores} cores of this machine; "
            f"expected at most {cores}"
        )


# --- versions --------------------------------------------------------------------------------


def library_versions() -> dict[str, str]:
    """The versions a run records: Python, torch, NumPy, scikit-learn and imbloss."""
    import sklearn

    return {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "numpy": np.__version__,
        "sklearn": sklearn.__version__,
        "imbloss": __version__,
    }


def current_versions() -> dict[str, str]:
    """The versions a run must have been made with to be reused without a note."""
    return {"imbloss": __version__, "torch": torch.__version__}


# --- devices ---------------------------------------------------------------------------------


def is_cuda_index(device: str) -> bool:
    """Whether ``device`` names one CUDA device, ``"cuda:N"``."""
    prefix, _, index = device.partition(":")
    return prefix == "cuda" and index.isdigit()


def resolve_device(name: str = "auto") -> torch.device:
    """``"auto"`` picks CUDA, then Apple MPS, then the CPU; a named device must be available."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device={name!r} was asked for but CUDA is not available")
    if name == "mps" and not torch.backends.mps.is_available():
        raise ValueError("device='mps' was asked for but MPS is not available")
    return torch.device(name)
