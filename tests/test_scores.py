"""Calibration and pairwise AUC of logits, against scikit-learn and hand-counted cases."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import softmax
from sklearn.metrics import log_loss, roc_auc_score

from imbloss import scores

RNG = np.random.default_rng(0)
LOGITS = RNG.normal(size=(300, 4)) * 2
LABELS = RNG.integers(0, 4, size=300)


def test_nll_is_sklearns_log_loss() -> None:
    expected = log_loss(LABELS, softmax(LOGITS, axis=1), labels=range(4))
    assert scores.negative_log_likelihood(LOGITS, LABELS) == pytest.approx(expected, rel=1e-9)
    # large logits (LDAM's scale 30) stay finite: log-softmax, not log of a rounded softmax
    big = np.array([[900.0, 0.0], [0.0, 900.0]])
    assert scores.negative_log_likelihood(big, np.array([1, 1])) == pytest.approx(450.0)


def test_ece_counts_the_gap_per_bin_by_hand() -> None:
    # two classes; confidences 0.9 (4 examples, 3 right) and 0.6 (2 examples, 1 right)
    z9, z6 = np.log(9.0), np.log(1.5)
    logits = np.array([[z9, 0]] * 4 + [[z6, 0]] * 2)
    labels = np.array([0, 0, 0, 1, 0, 1])
    table = scores.reliability(logits, labels, bins=10)
    assert table["count"][8] == 4 and table["count"][5] == 2 and table["count"].sum() == 6
    assert table["accuracy"][8] == pytest.approx(0.75)
    assert table["confidence"][5] == pytest.approx(0.6)
    expected = (4 * abs(0.75 - 0.9) + 2 * abs(0.5 - 0.6)) / 6
    assert scores.expected_calibration_error(logits, labels, bins=10) == pytest.approx(expected)
    # a model that is right exactly as often as it says it is has no calibration error
    confident = np.array([[np.log(4.0), 0.0]] * 5)  # p = 0.8, right on 4 of 5
    assert scores.expected_calibration_error(confident, np.array([0, 0, 0, 0, 1])) == (
        pytest.approx(0.0, abs=1e-12)
    )


def test_pairwise_auc_is_sklearns_and_ignores_a_shift_per_class() -> None:
    keep = (LABELS == 1) | (LABELS == 3)
    margin = LOGITS[keep, 1] - LOGITS[keep, 3]
    expected = roc_auc_score(LABELS[keep] == 1, margin)
    assert scores.pairwise_auc(LOGITS, LABELS, 1, 3) == pytest.approx(expected)
    shifted = LOGITS - 0.7 * np.log([0.5, 0.3, 0.15, 0.05])  # post-hoc tau: same ranking
    assert scores.pairwise_auc(shifted, LABELS, 1, 3) == pytest.approx(expected)
    assert scores.pairwise_auc(LOGITS, LABELS, 3, 1) == pytest.approx(expected)  # symmetric
    # ties count one half
    tied = np.zeros((4, 2))
    assert scores.pairwise_auc(tied, np.array([0, 0, 1, 1]), 0, 1) == 0.5


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: scores.negative_log_likelihood(LOGITS[0], LABELS[:1]), r"shape \(N, C\)"),
        (lambda: scores.negative_log_likelihood(LOGITS, LABELS + 4), r"indices in \[0, 4\)"),
        (lambda: scores.reliability(LOGITS, LABELS, bins=0), "bins must be an integer >= 1"),
        (lambda: scores.pairwise_auc(LOGITS, LABELS, 2, 2), "two classes"),
        (lambda: scores.pairwise_auc(LOGITS, LABELS, 0, 7), r"b=7 is not a class index"),
        (lambda: scores.pairwise_auc(LOGITS, np.zeros(300, int), 0, 1), "examples of both"),
    ],
)
def test_bad_inputs_name_the_value_and_what_was_expected(call, message) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_labels_of_a_float_dtype_are_a_type_error() -> None:
    with pytest.raises(TypeError, match="labels must be integer class indices; got dtype float64"):
        scores.negative_log_likelihood(LOGITS, LABELS.astype(float))
