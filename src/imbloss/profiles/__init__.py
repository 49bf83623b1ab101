"""The built-in sweep profiles, shipped as YAML files beside this module.

``PROFILES["ci"]`` is ``ci.yaml`` read with :func:`load_spec`; the files are the
only copy, so ``imbloss sweep --profile ci`` and
``imbloss sweep --config path/to/ci.yaml`` run the same sweep. Copy a file to
edit it::

    python -c "import imbloss.profiles as p; print(p.profile_path('ci'))"
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

import yaml

from imbloss.checks import check_choice

_HERE = Path(__file__).parent


class _SpecLoader(yaml.SafeLoader):
    """YAML that also reads ``1e-3`` (no dot) as a float, as Python does."""


_SpecLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+$"),
    list("-+0123456789."),
)


def load_spec(path: str | Path) -> dict:
    """Read a sweep spec from a YAML file (checked by :func:`imbloss.spec.expand`)."""
    with open(path) as handle:
        spec = yaml.load(handle, Loader=_SpecLoader)
    if not isinstance(spec, dict):
        raise TypeError(f"{path}: a sweep spec must be a mapping; got {type(spec).__name__}")
    return spec


def profile_path(name: str) -> Path:
    """The YAML file of the built-in profile ``name``."""
    check_choice("profile", name, PROFILE_NAMES)
    return _HERE / f"{name}.yaml"


PROFILE_NAMES: tuple[str, ...] = tuple(sorted(p.stem for p in _HERE.glob("*.yaml")))
PROFILES: Mapping[str, dict] = MappingProxyType(
    {name: load_spec(_HERE / f"{name}.yaml") for name in PROFILE_NAMES}
)

__all__ = ["PROFILES", "PROFILE_NAMES", "load_spec", "profile_path"]
