"""Metrics: the numbers are scikit-learn's, and they show the accuracy paradox."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
    precision_score,
    recall_score,
)

from imbloss.metrics import classification_metrics, epoch_metrics

Y_TRUE = [0, 0, 0, 0, 1, 1, 2, 2, 2, 0]
Y_PRED = [0, 0, 1, 2, 1, 0, 2, 2, 1, 0]
NAMES = ["a", "b", "c"]


def test_hand_made_case_matches_sklearn_and_hand_counts() -> None:
    m = classification_metrics(Y_TRUE, Y_PRED, NAMES)
    assert m["accuracy"] == pytest.approx(6 / 10)
    # recalls: a 3/5, b 1/2, c 2/3
    assert m["balanced_accuracy"] == pytest.approx((3 / 5 + 1 / 2 + 2 / 3) / 3)
    assert m["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(Y_TRUE, Y_PRED))
    assert m["macro_f1"] == pytest.approx(f1_score(Y_TRUE, Y_PRED, average="macro"))
    precision = precision_score(Y_TRUE, Y_PRED, average=None)
    recall = recall_score(Y_TRUE, Y_PRED, average=None)
    for i, name in enumerate(NAMES):
        assert m["per_class"][name]["precision"] == pytest.approx(precision[i])
        assert m["per_class"][name]["recall"] == pytest.approx(recall[i])
    assert m["per_class"]["a"]["support"] == 5
    assert m["confusion_matrix"] == confusion_matrix(Y_TRUE, Y_PRED).tolist()
    assert m["confusion_matrix"][0] == [3, 1, 1]  # true a: 3 right, one called b, one c


def test_accuracy_paradox_majority_prediction() -> None:
    """Always predicting the majority of a 95/5 split: 0.95 accuracy, 0.5 balanced accuracy."""
    y_true = np.array([0] * 95 + [1] * 5)
    m = classification_metrics(y_true, np.zeros(100, dtype=int), ["major", "minor"])
    assert m["accuracy"] == pytest.approx(0.95)
    assert m["balanced_accuracy"] == pytest.approx(0.5)
    assert m["macro_f1"] == pytest.approx((2 * 0.95 / 1.95 + 0.0) / 2)
    assert m["per_class"]["minor"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 5}


def test_a_class_missing_from_the_sample_is_still_reported() -> None:
    m = classification_metrics(torch.tensor([0, 1, 1]), torch.tensor([0, 1, 0]), NAMES)
    assert m["per_class"]["c"]["support"] == 0
    assert len(m["confusion_matrix"]) == 3
    # macro-F1 averages over all three classes, the absent one counting 0
    assert m["macro_f1"] == pytest.approx((2 / 3 + 2 / 3 + 0) / 3)


def test_epoch_metrics_agree_with_the_full_report() -> None:
    full = classification_metrics(Y_TRUE, Y_PRED, NAMES)
    quick = epoch_metrics(torch.tensor(Y_TRUE), torch.tensor(Y_PRED), 3)
    assert quick == {k: full[k] for k in ("accuracy", "macro_f1", "balanced_accuracy")}


@given(
    st.integers(2, 12).flatmap(
        lambda c: st.tuples(
            st.just(c),
            st.lists(st.tuples(st.integers(0, c - 1), st.integers(0, c - 1)), min_size=1),
        )
    )
)
def test_metrics_equal_scikit_learn_exactly(case) -> None:
    """The bincount confusion matrix gives scikit-learn's numbers bit for bit (the three
    summary numbers, per-class precision / recall / F1 / support, the matrix), also with
    classes absent from y_true or y_pred (every class present in neither counts 0)."""
    num_classes, pairs = case
    y_true, y_pred = (np.array(column) for column in zip(*pairs))
    labels = np.arange(num_classes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn warns of classes only predicted
        expected = {
            "accuracy": accuracy_score(y_true, y_pred),
            "macro_f1": f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0),
            "balanced_accuracy": balanced_accuracy_score(y_true, y_pred),
        }
    assert epoch_metrics(y_true, y_pred, num_classes) == expected
    report = classification_metrics(y_true, y_pred, [str(c) for c in labels])
    assert {k: report[k] for k in expected} == expected
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        columns = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    for i, per_class in enumerate(report["per_class"].values()):
        assert [per_class[k] for k in ("precision", "recall", "f1", "support")] == [
            column[i] for column in columns
        ]
    assert report["confusion_matrix"] == confusion_matrix(y_true, y_pred, labels=labels).tolist()


def test_epoch_metrics_name_a_class_out_of_range() -> None:
    with pytest.raises(ValueError, match=r"y_pred holds class 3; expected classes in \[0, 3\)"):
        epoch_metrics([0, 1, 2], [0, 1, 3], 3)
    with pytest.raises(ValueError, match=r"y_true holds class -1"):
        epoch_metrics([0, -1], [0, 1], 3)


def test_mismatched_inputs_are_rejected() -> None:
    with pytest.raises(ValueError, match="equal length; got 3 and 2"):
        classification_metrics([0, 1, 1], [0, 1], NAMES)
    with pytest.raises(ValueError, match="y_pred must be 1-D"):
        classification_metrics([0, 1], [[0, 1]], NAMES)
