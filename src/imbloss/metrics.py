"""Classification metrics returned as plain JSON-ready values.

The full report (:func:`classification_metrics`) is scikit-learn's; the three numbers the
trainer tracks every epoch (:func:`epoch_metrics`) come from one confusion matrix counted
with ``np.bincount``, with scikit-learn's formulas, because scikit-learn's input validation
cost more than a small model's whole epoch (0.9 of 3.9 s of a digits run).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)

SUMMARY_METRICS = ("accuracy", "balanced_accuracy", "macro_f1")


def _as_labels(values, name: str) -> np.ndarray:
    array = np.asarray(values.cpu() if hasattr(values, "cpu") else values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D class indices; got shape {array.shape}")
    return array


def classification_metrics(y_true, y_pred, class_names: Sequence[str]) -> dict:
    """Accuracy, balanced accuracy, macro-F1, per-class precision / recall / F1 and the confusions.

    ``y_true`` and ``y_pred`` are class indices (arrays, lists or tensors) into
    ``class_names``. Every class is reported, also one absent from ``y_true``
    (its recall is 0 and it counts in the macro average, ``zero_division=0``);
    balanced accuracy is the mean recall over the classes present in ``y_true``,
    as scikit-learn defines it. ``confusion_matrix[i][j]`` counts true class
    ``i`` predicted as ``j``.
    """
    y_true = _as_labels(y_true, "y_true")
    y_pred = _as_labels(y_pred, "y_pred")
    if y_true.shape != y_pred.shape or len(y_true) == 0:
        raise ValueError(
            f"y_true and y_pred must be non-empty and of equal length; got {len(y_true)} "
            f"and {len(y_pred)}"
        )
    labels = np.arange(len(class_names))
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "balanced_accuracy": float(balanced_accuracy_score(y_true, y_pred)),
        "macro_f1": _macro_f1(y_true, y_pred, labels),
        "per_class": {
            name: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, name in enumerate(class_names)
        },
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        "class_names": list(class_names),
    }


def _macro_f1(y_true: np.ndarray, y_pred: np.ndarray, labels: np.ndarray) -> float:
    return float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0))


def epoch_metrics(y_true, y_pred, num_classes: int) -> dict:
    """The numbers tracked every epoch: accuracy, macro-F1 and balanced accuracy.

    From the confusion matrix ``M`` (``M[i, j]`` counts true ``i`` predicted ``j``) of
    class indices in ``[0, num_classes)``: accuracy ``trace(M) / n``; macro-F1 the mean
    over all ``num_classes`` of ``2 M[c, c] / (sum_j M[c, j] + sum_i M[i, c])`` (0 where
    that denominator is 0); balanced accuracy the mean recall ``M[c, c] / sum_j M[c, j]``
    over the classes present in ``y_true``. These are scikit-learn's ``accuracy_score``,
    ``f1_score(average="macro", zero_division=0)`` and ``balanced_accuracy_score``,
    computed the same way (tests/test_metrics.py checks equality).
    """
    y_true = _as_labels(y_true, "y_true")
    y_pred = _as_labels(y_pred, "y_pred")
    if y_true.shape != y_pred.shape or len(y_true) == 0:
        raise ValueError(
            f"y_true and y_pred must be non-empty and of equal length; got {len(y_true)} "
            f"and {len(y_pred)}"
        )
    for name, labels in (("y_true", y_true), ("y_pred", y_pred)):
        low, high = labels.min(), labels.max()
        if low < 0 or high >= num_classes:
            bad = low if low < 0 else high
            raise ValueError(f"{name} holds class {bad}; expected classes in [0, {num_classes})")
    counts = np.bincount(y_true * num_classes + y_pred, minlength=num_classes**2)
    confusion = counts.reshape(num_classes, num_classes)
    hits = np.diag(confusion).astype(np.float64)
    true_sum = confusion.sum(axis=1).astype(np.float64)
    pred_sum = confusion.sum(axis=0).astype(np.float64)
    f1_denominator = true_sum + pred_sum
    f1 = 2 * hits / np.where(f1_denominator == 0, 1, f1_denominator)
    present = true_sum > 0
    return {
        "accuracy": float(hits.sum() / len(y_true)),
        "macro_f1": float(np.mean(f1)),
        "balanced_accuracy": float(np.mean(hits[present] / true_sum[present])),
    }
