"""imbloss: losses for imbalanced classification.

The package's top level re-exports :mod:`imbloss.losses` (whose ``__all__`` is the one list
of the public losses) and ``__version__``.
"""

from importlib import metadata

from . import losses
from .losses import *  # noqa: F403  the names of losses.__all__, listed once there

try:  # the one version is pyproject.toml's, read from the installed package's metadata
    __version__ = metadata.version("imbloss")
except metadata.PackageNotFoundError:  # imported from a source tree that is not installed
    __version__ = "unknown"

__all__ = [*losses.__all__, "__version__"]
