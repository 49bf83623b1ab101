"""Statistics over seeds and post-hoc logit adjustment, against scipy and closed forms."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as scipy_stats
from sklearn.metrics import f1_score

from imbloss import posthoc, stats

DIFF = [0.012, -0.004, 0.021, 0.008, 0.015, 0.003, -0.002, 0.011, 0.019, 0.006]


def test_t_interval_is_scipys_one_sample_interval() -> None:
    low, high = stats.t_interval(DIFF, confidence=0.9)
    expected = scipy_stats.ttest_1samp(DIFF, 0.0).confidence_interval(0.9)
    assert (low, high) == pytest.approx((expected.low, expected.high))
    assert low < np.mean(DIFF) < high


def test_paired_t_p_is_scipys_paired_test() -> None:
    a = np.array(DIFF) + 0.5
    b = np.full(10, 0.5)
    assert stats.paired_t_p(a - b) == pytest.approx(scipy_stats.ttest_rel(a, b).pvalue)
    assert stats.paired_t_p([0.0, 0.0, 0.0]) == 1.0
    with pytest.raises(ValueError, match="at least 3 finite numbers"):
        stats.paired_t_p([0.1, 0.1])  # two equal differences: once p = 0
    with pytest.raises(ValueError, match="at least 3 finite numbers"):
        stats.t_interval([0.1, 0.1 + 1e-12])


def test_holm_adjusts_step_down_and_keeps_the_order() -> None:
    # sorted: 0.01*4=0.04, 0.02*3=0.06, 0.03*2=0.06, 0.04*1=0.04 -> monotone 0.04, 0.06, 0.06, 0.06
    adjusted = stats.holm([0.03, 0.01, 0.04, 0.02])
    np.testing.assert_allclose(adjusted, [0.06, 0.04, 0.06, 0.06])
    np.testing.assert_allclose(stats.holm([0.5, 0.9]), [1.0, 1.0])
    # Holm never rejects less than Bonferroni and never more than the raw p-values
    p = np.random.default_rng(0).uniform(0, 0.2, size=12)
    assert np.all(stats.holm(p) <= np.minimum(1, 12 * p) + 1e-12)
    assert np.all(stats.holm(p) >= p)
    with pytest.raises(ValueError, match=r"numbers in \[0, 1\]"):
        stats.holm([0.2, 1.5])


def test_bootstrap_interval_holds_the_mean_and_is_reproducible() -> None:
    low, high = stats.bootstrap_mean_interval(DIFF, seed=3)
    assert low < np.mean(DIFF) < high
    assert (low, high) == stats.bootstrap_mean_interval(DIFF, seed=3)


def test_power_at_the_mde_is_the_asked_power_and_matches_a_simulation() -> None:
    # n = 10, d = 1, alpha = 0.05: 0.803 from the noncentral t (the simulation checks it)
    assert stats.paired_t_power(1.0, 1.0, 10) == pytest.approx(0.803, abs=5e-4)
    assert stats.paired_t_power(0.0, 1.0, 10) == pytest.approx(0.05)  # the test's level
    for n, alpha in ((10, 0.05), (10, 0.005), (20, 0.05 / 9)):
        mde = stats.paired_mde(0.015, n, alpha)
        assert stats.paired_t_power(mde, 0.015, n, alpha) == pytest.approx(0.8, abs=1e-6)
        # 40,000 simulated experiments with that mean difference reject in 80 % of cases
        diffs = np.random.default_rng(n).normal(mde, 0.015, size=(40_000, n))
        p = scipy_stats.ttest_1samp(diffs, 0.0, axis=1).pvalue
        assert np.mean(p < alpha) == pytest.approx(0.8, abs=0.01)
    # fewer pairs or a stricter level need a larger effect; large n tends to the z formula
    assert stats.paired_mde(1, 10) > stats.paired_mde(1, 20) > stats.paired_mde(1, 40)
    assert stats.paired_mde(1, 10, 0.005) > stats.paired_mde(1, 10, 0.05)
    z = scipy_stats.norm.ppf(0.975) + scipy_stats.norm.ppf(0.8)
    assert stats.paired_mde(1.0, 2000) * np.sqrt(2000) == pytest.approx(z, rel=2e-3)
    assert stats.paired_mde(0.0, 10) == 0.0


@pytest.mark.parametrize(
    "args, message",
    [
        ((-0.1, 10), r"sd must be a number in \[0.0, inf\); got -0.1"),
        ((0.1, 2), "n must be an integer >= 3"),
        ((0.1, 10, 1.5), r"alpha must be a number in \(0.0, 1.0\); got 1.5"),
        ((0.1, 10, 0.05, 1.0), r"power must be a number in \(0.0, 1.0\); got 1.0"),
    ],
)
def test_mde_inputs_are_checked(args, message) -> None:
    with pytest.raises(ValueError, match=message):
        stats.paired_mde(*args)


def test_post_hoc_adjustment_subtracts_tau_times_the_log_prior() -> None:
    counts = [900, 90, 10]
    logits = np.array([[2.0, 0.5, 0.0], [1.0, 0.9, 0.0], [0.2, 0.0, 0.1]])
    assert posthoc.adjusted_predictions(logits, counts, 0.0).tolist() == [0, 0, 0]
    log_pi = np.log(np.array(counts) / 1000)
    for tau in (0.5, 1.0, 2.0):
        expected = np.argmax(logits - tau * log_pi, axis=1)
        assert posthoc.adjusted_predictions(logits, counts, tau).tolist() == expected.tolist()
    # at tau = 1 the third row (0.2 - log 0.9 vs 0.1 - log 0.01) goes to the rare class
    assert posthoc.adjusted_predictions(logits, counts, 1.0)[2] == 2


def test_choose_tau_finds_the_best_validation_score_and_prefers_no_change() -> None:
    rng = np.random.default_rng(0)
    counts = np.array([800, 150, 50])
    labels = rng.choice(3, size=600, p=[1 / 3] * 3)
    # logits of a model that learned the training prior: true-class signal plus log prior
    logits = 1.5 * np.eye(3)[labels] + rng.normal(size=(600, 3)) + np.log(counts / counts.sum())
    tau, best = posthoc.choose_tau(logits, labels, counts, "balanced_accuracy")
    scores = {
        t: posthoc.score(
            labels, posthoc.adjusted_predictions(logits, counts, t), "balanced_accuracy", 3
        )
        for t in posthoc.TAUS
    }
    assert best == max(scores.values()) and scores[tau] == best
    assert 0.5 <= tau <= 1.5  # the prior was added at tau = 1
    assert best > scores[0.0]
    # a constant score (all taus tie) keeps tau = 0
    same = np.tile([100.0, 0.0, 0.0], (600, 1))  # every tau predicts class 0
    assert posthoc.choose_tau(same, labels, counts, "macro_f1")[0] == 0.0


def test_score_is_sklearns_macro_f1_over_every_class() -> None:
    labels, predicted = np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1])
    expected = f1_score(labels, predicted, labels=[0, 1, 2], average="macro", zero_division=0)
    assert posthoc.score(labels, predicted, "macro_f1", 3) == pytest.approx(expected)
    with pytest.raises(ValueError, match="metric='accuracy'"):
        posthoc.score(labels, predicted, "accuracy", 3)


@pytest.mark.parametrize(
    ("logits", "labels", "counts", "taus", "message"),
    [
        ([[np.nan, 0.0], [0.0, 1.0]], [0, 1], [5, 1], posthoc.TAUS, "logits must be finite"),
        ([[1.0, 0.0], [0.0, 1.0]], [0, 1], [np.inf, 1], posthoc.TAUS, "positive finite counts"),
        ([[1.0, 0.0], [0.0, 1.0]], [0, 2], [5, 1], posthoc.TAUS, r"labels must be in \[0, 2\)"),
        ([[1.0, 0.0], [0.0, 1.0]], [0, -1], [5, 1], posthoc.TAUS, r"labels must be in \[0, 2\)"),
        ([[1.0, 0.0], [0.0, 1.0]], [0, 1], [5, 1], (), "taus must be a non-empty sequence"),
        ([1.0, 0.0], [0, 1], [5, 1], posthoc.TAUS, r"logits must have shape \(N, 2\)"),
    ],
)
def test_post_hoc_inputs_that_would_make_its_answer_wrong_are_errors(
    logits, labels, counts, taus, message
) -> None:
    with pytest.raises(ValueError, match=message):
        posthoc.choose_tau(np.array(logits), np.array(labels), counts, "macro_f1", taus)
