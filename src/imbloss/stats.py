"""Statistics over seeds: intervals of a mean, paired tests, and Holm's correction.

Every function takes plain sequences of numbers and returns plain floats, so the
results tables, the notebooks and the tests share one implementation. The
formulas are the textbook ones; the tests check them against scipy.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats

from imbloss.checks import check_real

# A t-interval or a paired t-test from fewer pairs says nothing: with two seeds, two equal
# differences gave p = 0 and two near-equal ones p = 1e-31.
MIN_PAIRS = 3


def _values(values: Sequence[float], name: str = "values", minimum: int = 1) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim != 1 or array.size < minimum or not np.all(np.isfinite(array)):
        raise ValueError(
            f"{name} must be a 1-D sequence of at least {minimum} finite numbers; got {values!r}"
        )
    return array


def t_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float]:
    """Student-t interval of the mean: ``x̄ ± t_{n−1, (1+c)/2} · s / √n`` (needs n ≥ 3,
    :data:`MIN_PAIRS`).

    For paired differences this is the interval of the mean difference that the
    paired t-test inverts.
    """
    x = _values(values, minimum=MIN_PAIRS)
    check_real("confidence", confidence, low=0.0, high=1.0, low_open=True, high_open=True)
    half = stats.t.ppf((1 + confidence) / 2, df=x.size - 1) * x.std(ddof=1) / np.sqrt(x.size)
    return float(x.mean() - half), float(x.mean() + half)


def paired_t_p(diff: Sequence[float]) -> float:
    """Two-sided p of the paired t-test that the mean of ``diff`` is 0 (1.0 if all are 0;
    needs :data:`MIN_PAIRS` differences)."""
    d = _values(diff, "diff", minimum=MIN_PAIRS)
    if np.all(d == d[0]):
        return 1.0 if d[0] == 0 else 0.0
    return float(stats.ttest_1samp(d, 0.0).pvalue)


def holm(pvalues: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values (Holm 1979), in the input's order.

    With ``m`` p-values sorted ascending, ``p̃_(i) = max_{j ≤ i} min(1, (m − j + 1) p_(j))``;
    rejecting where ``p̃ < α`` controls the family-wise error rate at ``α``.
    """
    p = np.asarray(pvalues, dtype=float)
    if p.ndim != 1 or np.any((p < 0) | (p > 1)) or np.any(np.isnan(p)):
        raise ValueError(f"pvalues must be a 1-D sequence of numbers in [0, 1]; got {pvalues!r}")
    m = p.size
    order = np.argsort(p, kind="stable")
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    adjusted = np.empty(m)
    adjusted[order] = np.maximum.accumulate(scaled)
    return adjusted


def bootstrap_mean_interval(
    values: Sequence[float], *, n_boot: int = 10_000, confidence: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``values`` (seeded, so reproducible)."""
    x = _values(values)
    rng = np.random.default_rng(seed)
    means = rng.choice(x, size=(n_boot, x.size), replace=True).mean(axis=1)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)
