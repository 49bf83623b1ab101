"""Statistics over seeds: intervals of a mean, paired tests, Holm's correction and power.

Every function takes plain sequences of numbers and returns plain floats, so the
results tables, the notebooks and the tests share one implementation. The
formulas are the textbook ones; the tests check them against scipy.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import optimize, stats

from imbloss.checks import check_int, check_real

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


def paired_t_power(effect: float, sd: float, n: int, alpha: float = 0.05) -> float:
    """Power of the two-sided paired t-test at level ``alpha`` with ``n`` pairs when the
    differences have mean ``effect`` and standard deviation ``sd``.

    Under that alternative ``T = d̄ / (s / √n)`` follows a noncentral t with ``n − 1``
    degrees of freedom and noncentrality ``δ = effect · √n / sd``, so
    ``power = P(T > t_c) + P(T < −t_c)`` with ``t_c = t_{n−1, 1−α/2}`` (Cohen 1988, ch. 2).
    """
    _check_power_inputs(sd, n, alpha)
    df, critical = n - 1, stats.t.ppf(1 - alpha / 2, n - 1)
    if sd == 0:  # every difference equals the mean: any nonzero mean is found
        return 1.0 if effect != 0 else alpha
    shift = effect * np.sqrt(n) / sd
    upper, lower = stats.nct.sf(critical, df, shift), stats.nct.cdf(-critical, df, shift)
    # scipy's noncentral t returns nan for a tail far below 1e-30; that tail is 0 to any use
    return float(np.nan_to_num(upper) + np.nan_to_num(lower))


def paired_mde(sd: float, n: int, alpha: float = 0.05, power: float = 0.8) -> float:
    """Minimum detectable effect: the smallest mean difference that the two-sided paired
    t-test at level ``alpha`` finds with probability ``power`` (:func:`paired_t_power`
    solved for ``effect``; for large ``n`` it tends to ``(z_{1−α/2} + z_power) · sd / √n``).

    A null result reads "no difference detected; differences of this size or more would
    have been found in ``power`` of repeated experiments". For a row of a Holm family of
    ``m`` tests, pass ``alpha / m``: the level of Holm's first step, a conservative bound.
    """
    _check_power_inputs(sd, n, alpha)
    check_real("power", power, low=0.0, high=1.0, low_open=True, high_open=True)
    if sd == 0:
        return 0.0
    high = sd
    while paired_t_power(high, sd, n, alpha) < power:
        high *= 2
    return float(optimize.brentq(lambda e: paired_t_power(e, sd, n, alpha) - power, 0.0, high))


def _check_power_inputs(sd: float, n: int, alpha: float) -> None:
    check_real("sd", sd, low=0.0, high=np.inf, high_open=True)
    check_int("n", n, minimum=MIN_PAIRS)
    check_real("alpha", alpha, low=0.0, high=1.0, low_open=True, high_open=True)
