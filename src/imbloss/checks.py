"""The package's checks of Python numbers, flags and choices: one sentence for each kind of
error, naming the bad value and what was expected.

A value of the wrong type raises :class:`TypeError`, as Python, torch and kornia do; a value
of the right type outside its interval or its choices raises :class:`ValueError`. The losses
(:mod:`imbloss.losses`), :class:`imbloss.config.TrainConfig`, the datasets and samplers, the
models, the statistics, the post-hoc rule, the results tables, the profiles and the benchmark
check their numbers and choices here, so one kind of mistake reads the same everywhere.
This module imports nothing from the package (floor 0).

Examples:
    >>> check_real("gamma", 2.0, low=0.0)
    >>> check_real("gamma", -1.0, low=0.0)
    Traceback (most recent call last):
    ...
    ValueError: gamma must be a number in [0.0, inf]; got -1.0
    >>> check_int("bins", 2.5, minimum=1)
    Traceback (most recent call last):
    ...
    TypeError: bins must be an integer; got 2.5 (float)
    >>> check_choice("reduction", "avg", ("mean", "sum", "none"))
    Traceback (most recent call last):
    ...
    ValueError: reduction='avg' is not valid; expected one of ('mean', 'sum', 'none')
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from numbers import Integral, Real


def _type_name(value) -> str:
    return type(value).__name__


def check_choice(name: str, value, choices: tuple) -> None:
    """``value`` must be one of ``choices`` (a :class:`ValueError` names them all)."""
    if not isinstance(value, Hashable) or value not in choices:
        raise ValueError(f"{name}={value!r} is not valid; expected one of {choices}")


def check_bool(name: str, value) -> None:
    """``value`` must be ``True`` or ``False`` (not 0/1, not a string): else a
    :class:`TypeError`."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False; got {value!r} ({_type_name(value)})")


def check_int(name: str, value, *, minimum: int) -> None:
    """``value`` must be an integer (a bool is not one: :class:`TypeError`) of at least
    ``minimum`` (:class:`ValueError`). NumPy integers pass."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an integer; got {value!r} ({_type_name(value)})")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}")


def check_real(
    name: str,
    value,
    *,
    low: float = -math.inf,
    high: float = math.inf,
    low_open: bool = False,
    high_open: bool = False,
) -> None:
    """``value`` must be a real number (a bool is not one: :class:`TypeError`), not NaN, in
    the interval from ``low`` to ``high``, each end closed unless ``*_open``
    (:class:`ValueError`); an infinite value passes only where the interval is closed at that
    infinity (``std`` in ``(0, inf]``)."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number; got {value!r} ({_type_name(value)})")
    ok = not math.isnan(value)
    ok = ok and (value > low if low_open else value >= low)
    ok = ok and (value < high if high_open else value <= high)
    if not ok:
        interval = f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
        raise ValueError(f"{name} must be a number in {interval}; got {value!r}")


def check_finite(name: str, value) -> None:
    """``value`` must be a finite real number: :func:`check_real` on ``(-inf, inf)``."""
    check_real(name, value, low=-math.inf, high=math.inf, low_open=True, high_open=True)


def check_mapping(name: str, value) -> None:
    """``value`` must be a dict with string keys (a :class:`TypeError` otherwise)."""
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise TypeError(f"{name} must be a dict with string keys; got {value!r}")
