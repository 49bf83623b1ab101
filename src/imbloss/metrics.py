"""Classification metrics, all computed by scikit-learn and returned as plain JSON-ready values."""

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

    Macro-F1 averages over all ``num_classes``; balanced accuracy is the mean recall
    over the classes present in ``y_true`` (scikit-learn's definition).
    """
    y_true = _as_labels(y_true, "y_true")
    y_pred = _as_labels(y_pred, "y_pred")
    labels = np.arange(num_classes)
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": _macro_f1(y_true, y_pred, labels),
        "balanced_accuracy": float(balanced_accuracy_score(y_true, y_pred)),
    }
