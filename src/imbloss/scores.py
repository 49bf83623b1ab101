"""Measures of a model's scores rather than its decisions: calibration and pairwise ranking.

:mod:`imbloss.metrics` scores the argmax; these read the logits ``z`` (N, C) themselves,
so a threshold (a post-hoc shift ``z − τ log π``) changes the first two and not the third.

* negative log-likelihood ``−(1/N) Σ_i log softmax(z_i)_{y_i}``, the proper scoring rule
  whose expectation is minimised by the true posterior;
* expected calibration error (Guo et al. 2017): the top-label confidences
  ``max_c softmax(z_i)_c`` are cut into ``B`` equal-width bins ``b``, and
  ``ECE = Σ_b (|b| / N) · |acc(b) − conf(b)|``;
* the pairwise AUC of classes ``a`` and ``b`` (Hand & Till 2001): among the examples of
  ``a`` and ``b``, the probability that an example of ``a`` has a larger ``z_a − z_b`` than
  one of ``b`` (ties count one half); adding a constant per class leaves it unchanged.
"""

from __future__ import annotations

import numpy as np
from scipy import stats
from scipy.special import log_softmax

from imbloss.checks import check_int

ECE_BINS = 15  # Guo et al. (2017)'s choice


def _check(logits, labels) -> tuple[np.ndarray, np.ndarray]:
    z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(labels)
    if z.ndim != 2 or y.shape != (z.shape[0],) or z.shape[0] == 0:
        raise ValueError(
            f"logits must have shape (N, C) and labels shape (N,) with N >= 1; got "
            f"{z.shape} and {y.shape}"
        )
    if not np.all(np.isfinite(z)):
        raise ValueError("logits must be finite; got nan or inf")
    if not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"labels must be integer class indices; got dtype {y.dtype}")
    if y.min() < 0 or y.max() >= z.shape[1]:
        raise ValueError(f"labels must be class indices in [0, {z.shape[1]}); got {y!r}")
    return z, y


def negative_log_likelihood(logits, labels) -> float:
    """Mean ``−log softmax(z_i)_{y_i}`` (natural log), computed in float64."""
    z, y = _check(logits, labels)
    return float(-log_softmax(z, axis=1)[np.arange(len(y)), y].mean())


def reliability(logits, labels, bins: int = ECE_BINS) -> dict[str, np.ndarray]:
    """Top-label reliability per confidence bin: ``count``, mean ``confidence`` and
    ``accuracy`` (nan in an empty bin) of ``bins`` equal-width bins of ``[0, 1]``, and their
    ``edges``; the bins of :func:`expected_calibration_error`."""
    z, y = _check(logits, labels)
    check_int("bins", bins, minimum=1)
    probabilities = np.exp(log_softmax(z, axis=1))
    confidence = probabilities.max(axis=1)
    correct = (probabilities.argmax(axis=1) == y).astype(float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, bins - 1)
    count = np.bincount(which, minlength=bins)
    with np.errstate(invalid="ignore"):
        mean_confidence = np.bincount(which, confidence, minlength=bins) / count
        accuracy = np.bincount(which, correct, minlength=bins) / count
    return {"edges": edges, "count": count, "confidence": mean_confidence, "accuracy": accuracy}


def expected_calibration_error(logits, labels, bins: int = ECE_BINS) -> float:
    """``Σ_b (|b| / N) · |acc(b) − conf(b)|`` over :func:`reliability`'s bins."""
    table = reliability(logits, labels, bins)
    used = table["count"] > 0
    gaps = np.abs(table["accuracy"][used] - table["confidence"][used])
    return float(np.sum(table["count"][used] * gaps) / table["count"].sum())


def pairwise_auc(logits, labels, a: int, b: int) -> float:
    """AUC of classes ``a`` against ``b`` on their own examples, scored by ``z_a − z_b``
    (the Mann-Whitney statistic over the rank of every pair)."""
    z, y = _check(logits, labels)
    for name, value in (("a", a), ("b", b)):
        if not 0 <= value < z.shape[1]:
            raise ValueError(f"{name}={value!r} is not a class index in [0, {z.shape[1]})")
    if a == b:
        raise ValueError(f"a and b must be two classes; got a = b = {a}")
    keep = (y == a) | (y == b)
    positive = y[keep] == a
    if positive.all() or not positive.any():
        raise ValueError(f"labels must hold examples of both class {a} and class {b}")
    ranks = stats.rankdata(z[keep, a] - z[keep, b])
    n_pos, n_neg = positive.sum(), (~positive).sum()
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
