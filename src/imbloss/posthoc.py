"""Post-hoc logit adjustment (Menon et al., "Long-tail learning via logit adjustment", ICLR 2021).

A model trained on the natural class mix learns the training prior ``π_c = n_c / n``
into its logits. Subtracting ``τ log π`` at prediction time,

    ŷ = argmax_c ( z_c − τ log π_c ),

moves the decision threshold toward the small classes without retraining: ``τ = 0``
is the model's own rule, ``τ = 1`` is the Bayes rule for a balanced test set when
the softmax estimates the training posterior. Here ``τ`` is chosen on the
validation logits, separately for each target metric, from :data:`TAUS` (which
includes 0, so the rule can decline to adjust).
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import balanced_accuracy_score, f1_score

TAUS = tuple(float(t) for t in np.round(np.arange(0.0, 2.01, 0.25), 2))


def log_prior(class_counts) -> np.ndarray:
    """``log π_c = log(n_c / Σ n)`` of positive class counts (float64)."""
    counts = np.asarray(class_counts, dtype=np.float64)
    if counts.ndim != 1 or counts.size < 2 or not np.all(counts > 0):
        raise ValueError(
            f"class_counts must be a 1-D vector of at least 2 positive counts; got {counts!r}"
        )
    return np.log(counts / counts.sum())


def adjusted_predictions(logits, class_counts, tau: float) -> np.ndarray:
    """``argmax_c (z_c − τ log π_c)`` for every row of ``logits`` (N, C)."""
    z = np.asarray(logits, dtype=np.float64)
    prior = log_prior(class_counts)
    if z.ndim != 2 or z.shape[1] != prior.size:
        raise ValueError(
            f"logits must have shape (N, {prior.size}) for {prior.size} classes; got {z.shape}"
        )
    return np.argmax(z - tau * prior, axis=1)


def score(labels, predictions, metric: str, num_classes: int) -> float:
    """``macro_f1`` over all ``num_classes`` or ``balanced_accuracy`` (mean recall)."""
    if metric == "macro_f1":
        return float(
            f1_score(
                labels,
                predictions,
                labels=np.arange(num_classes),
                average="macro",
                zero_division=0,
            )
        )
    if metric == "balanced_accuracy":
        return float(balanced_accuracy_score(labels, predictions))
    raise ValueError(f"metric={metric!r} is not valid; expected 'macro_f1' or 'balanced_accuracy'")


def choose_tau(val_logits, val_labels, class_counts, metric: str, taus=TAUS) -> tuple[float, float]:
    """The ``τ`` of ``taus`` with the best validation ``metric``, and that score.

    Ties go to the first ``τ`` in ``taus`` (the smallest adjustment of the default grid).
    """
    num_classes = np.asarray(val_logits).shape[1]
    scores = [
        score(val_labels, adjusted_predictions(val_logits, class_counts, tau), metric, num_classes)
        for tau in taus
    ]
    best = int(np.argmax(scores))
    return float(taus[best]), scores[best]
