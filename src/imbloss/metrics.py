"""Classification metrics returned as plain JSON-ready values, from one confusion matrix.

Every number is computed from the confusion matrix ``M`` (``M[i, j]`` counts true class ``i``
predicted as ``j``), counted with one ``np.bincount``, by scikit-learn's formulas, so the
numbers are scikit-learn's bit for bit (``tests/test_metrics.py`` checks it): scikit-learn's
own input validation cost more than a small model's whole epoch (0.9 of 3.9 s of a digits
run) and, for the full report, more than the rest of the run's evaluation.

* accuracy ``trace(M) / n``;
* per class ``c``: precision ``M[c, c] / sum_i M[i, c]``, recall ``M[c, c] / sum_j M[c, j]``
  and F1 ``2 M[c, c] / (sum_j M[c, j] + sum_i M[i, c])``, each 0 where its denominator is 0
  (scikit-learn's ``zero_division=0``);
* macro-F1 the mean F1 over all classes, also those absent from ``y_true``;
* balanced accuracy the mean recall over the classes present in ``y_true``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

SUMMARY_METRICS = ("accuracy", "balanced_accuracy", "macro_f1")


def _as_labels(values, name: str) -> np.ndarray:
    array = np.asarray(values.cpu() if hasattr(values, "cpu") else values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D class indices; got shape {array.shape}")
    return array


def confusion(y_true, y_pred, num_classes: int) -> np.ndarray:
    """The (C, C) int64 confusion matrix of class indices in ``[0, num_classes)``."""
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
    return counts.reshape(num_classes, num_classes)


def _divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """``numerator / denominator`` in float64, 0 where the denominator is 0."""
    return numerator / np.where(denominator == 0, 1, denominator)


def _summary(matrix: np.ndarray) -> tuple[dict, np.ndarray, np.ndarray, np.ndarray]:
    """The three summary numbers and the per-class precision, recall and F1 of ``matrix``."""
    hits = np.diag(matrix).astype(np.float64)
    true_sum = matrix.sum(axis=1).astype(np.float64)
    pred_sum = matrix.sum(axis=0).astype(np.float64)
    recall = _divide(hits, true_sum)
    f1 = _divide(2 * hits, true_sum + pred_sum)
    present = true_sum > 0
    numbers = {
        "accuracy": float(hits.sum() / true_sum.sum()),
        "macro_f1": float(np.mean(f1)),
        "balanced_accuracy": float(np.mean(hits[present] / true_sum[present])),
    }
    return numbers, _divide(hits, pred_sum), recall, f1


def classification_metrics(y_true, y_pred, class_names: Sequence[str]) -> dict:
    """Accuracy, balanced accuracy, macro-F1, per-class precision / recall / F1 and the confusions.

    ``y_true`` and ``y_pred`` are class indices (arrays, lists or tensors) into
    ``class_names``. Every class is reported, also one absent from ``y_true``
    (its recall is 0 and it counts in the macro average, ``zero_division=0``);
    balanced accuracy is the mean recall over the classes present in ``y_true``,
    as scikit-learn defines it. ``confusion_matrix[i][j]`` counts true class
    ``i`` predicted as ``j``.
    """
    matrix = confusion(y_true, y_pred, len(class_names))
    numbers, precision, recall, f1 = _summary(matrix)
    support = matrix.sum(axis=1)
    return {
        "accuracy": numbers["accuracy"],
        "balanced_accuracy": numbers["balanced_accuracy"],
        "macro_f1": numbers["macro_f1"],
        "per_class": {
            name: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, name in enumerate(class_names)
        },
        "confusion_matrix": matrix.tolist(),
        "class_names": list(class_names),
    }


def epoch_metrics(y_true, y_pred, num_classes: int) -> dict:
    """The numbers tracked every epoch: accuracy, macro-F1 and balanced accuracy.

    Macro-F1 averages over all ``num_classes``; balanced accuracy is the mean recall
    over the classes present in ``y_true`` (scikit-learn's definition).
    """
    return _summary(confusion(y_true, y_pred, num_classes))[0]
