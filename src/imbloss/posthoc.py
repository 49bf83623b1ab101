"""Post-hoc logit adjustment (Menon et al., "Long-tail learning via logit adjustment", ICLR 2021).

A model trained on the natural class mix learns the training prior ``π_c = n_c / n``
into its logits. Subtracting ``τ log π`` at prediction time,

    ŷ = argmax_c ( z_c − τ log π_c ),

moves the decision threshold toward the small classes without retraining: ``τ = 0``
is the model's own rule, ``τ = 1`` is the Bayes rule for a balanced test set when
the softmax estimates the training posterior. Here ``τ`` is chosen on the
validation logits, separately for each target metric, from :data:`TAUS` (which
includes 0, so the rule can decline to adjust).

τ-normalisation (Kang et al., "Decoupling representation and classifier for long-tailed
recognition", ICLR 2020) is the other post-hoc rule here: a linear classifier trained on
the natural mix gives the large classes weight vectors of larger norm, and dividing each
class's weight vector by its norm to the power ``τ``,

    z_c = w_c · h / ‖w_c‖^τ,

evens them out (``τ = 1``: every class direction at unit length). As in the authors' code the
bias is left out. It reads the run's logits ``z = W h + b`` with the layer's bias and
weight norms (:func:`tau_normalized_logits`); ``τ`` is chosen on validation from
:data:`TAUS` like the prior's.
"""

from __future__ import annotations

import numpy as np

from imbloss.checks import check_choice
from imbloss.metrics import epoch_metrics
from imbloss.runs import TARGET_METRICS

TAUS = tuple(float(t) for t in np.round(np.arange(0.0, 2.01, 0.25), 2))


def log_prior(class_counts) -> np.ndarray:
    """``log π_c = log(n_c / Σ n)`` of positive class counts (float64)."""
    counts = np.asarray(class_counts, dtype=np.float64)
    if counts.ndim != 1 or counts.size < 2 or not np.all((counts > 0) & np.isfinite(counts)):
        raise ValueError(
            f"class_counts must be a 1-D vector of at least 2 positive finite counts; "
            f"got {counts!r}"
        )
    return np.log(counts / counts.sum())


def adjusted_predictions(logits, class_counts, tau: float) -> np.ndarray:
    """``argmax_c (z_c − τ log π_c)`` for every row of ``logits`` (N, C)."""
    prior = log_prior(class_counts)
    z = _logits(logits, prior.size)
    return np.argmax(z - tau * prior, axis=1)


def _logits(logits, num_classes: int) -> np.ndarray:
    """``logits`` as a finite (N, num_classes) float64 array, or a ValueError saying why not."""
    z = np.asarray(logits, dtype=np.float64)
    if z.ndim != 2 or z.shape[1] != num_classes:
        raise ValueError(
            f"logits must have shape (N, {num_classes}) for {num_classes} classes; got {z.shape}"
        )
    if not np.all(np.isfinite(z)):
        raise ValueError(f"logits must be finite; got {int((~np.isfinite(z)).sum())} NaN or inf")
    return z


def _labels(labels, n: int, num_classes: int) -> np.ndarray:
    """``labels`` as N class indices in [0, num_classes), or a ValueError saying why not."""
    y = np.asarray(labels)
    if y.shape != (n,) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"labels must be {n} integer class indices; got {y.dtype} {y.shape}")
    if n and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(
            f"labels must be in [0, {num_classes}); got values from {y.min()} to {y.max()}"
        )
    return y


def tau_normalized_logits(logits, bias, weight_norms, tau: float) -> np.ndarray:
    """``(z_c − b_c) / ‖w_c‖^τ`` for the logits ``z = W h + b`` (N, C) of a linear layer
    with bias ``b`` and class weight norms ``‖w_c‖`` (C): ``w_c · h / ‖w_c‖^τ``.

    Examples:
        >>> w, b = np.array([[3.0, 0.0], [0.0, 1.0]]), np.array([0.5, -0.5])
        >>> h = np.array([[1.0, 2.0]])
        >>> z = h @ w.T + b  # class 0 has the larger norm and wins
        >>> tau_normalized_logits(z, b, np.linalg.norm(w, axis=1), tau=1.0)  # unit-length classes
        array([[1., 2.]])
    """
    norms = np.asarray(weight_norms, dtype=np.float64)
    bias = np.asarray(bias, dtype=np.float64)
    if norms.ndim != 1 or not np.all((norms > 0) & np.isfinite(norms)):
        raise ValueError(f"weight_norms must be a 1-D vector of positive norms; got {norms!r}")
    if bias.shape != norms.shape or not np.all(np.isfinite(bias)):
        raise ValueError(
            f"bias must be {norms.size} finite numbers, one per class; got {bias.shape}"
        )
    return (_logits(logits, norms.size) - bias) / norms**tau


def score(labels, predictions, metric: str, num_classes: int) -> float:
    """``macro_f1`` over all ``num_classes`` or ``balanced_accuracy`` (mean recall)."""
    check_choice("metric", metric, TARGET_METRICS)
    return epoch_metrics(labels, predictions, num_classes)[metric]


def choose_tau(val_logits, val_labels, class_counts, metric: str, taus=TAUS) -> tuple[float, float]:
    """The ``τ`` of ``taus`` with the best validation ``metric`` for the rule
    ``argmax(z − τ log π)``, and that score.

    Ties go to the first ``τ`` in ``taus`` (the smallest adjustment of the default grid).
    """
    num_classes = log_prior(class_counts).size
    val_logits = _logits(val_logits, num_classes)
    return _best_tau(
        lambda tau: adjusted_predictions(val_logits, class_counts, tau),
        val_labels,
        len(val_logits),
        num_classes,
        metric,
        taus,
    )


def choose_tau_norm(
    val_logits, val_labels, bias, weight_norms, metric: str, taus=TAUS
) -> tuple[float, float]:
    """The ``τ`` of ``taus`` with the best validation ``metric`` for τ-normalisation
    (:func:`tau_normalized_logits`), and that score; ties go to the first ``τ``."""
    num_classes = np.asarray(weight_norms).size
    val_logits = _logits(val_logits, num_classes)
    return _best_tau(
        lambda tau: tau_normalized_logits(val_logits, bias, weight_norms, tau).argmax(1),
        val_labels,
        len(val_logits),
        num_classes,
        metric,
        taus,
    )


def _best_tau(predict, val_labels, n: int, num_classes: int, metric: str, taus):
    val_labels = _labels(val_labels, n, num_classes)
    grid = np.asarray(taus, dtype=np.float64)
    if grid.ndim != 1 or grid.size == 0 or not np.all(np.isfinite(grid)):
        raise ValueError(f"taus must be a non-empty sequence of finite numbers; got {taus!r}")
    scores = [score(val_labels, predict(tau), metric, num_classes) for tau in taus]
    best = int(np.argmax(scores))
    return float(taus[best]), scores[best]
