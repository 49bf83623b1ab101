"""imbloss: losses for imbalanced classification.

The package's top level re-exports :mod:`imbloss.losses` (whose ``__all__`` is the one list
of the public losses) and ``__version__``.
"""

from . import losses
from .losses import *  # noqa: F403  the names of losses.__all__, listed once there
from .runtime import __version__

__all__ = [*losses.__all__, "__version__"]
