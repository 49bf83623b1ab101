"""The decoupled baselines of Kang et al. (2020): classifier re-training on frozen features
(cRT) and τ-normalisation, from a run's training to the rows of the results table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from imbloss import posthoc
from imbloss.comparison import comparison_table, primary_rows, rule_label
from imbloss.decoupled import applies, retrain_classifier
from imbloss.results import decoupled_scores
from imbloss.runs import Predictions
from imbloss.store import RunStore
from imbloss.train import TrainConfig, fit_and_predict


def _digits(**fields) -> TrainConfig:
    values = {
        "dataset": "digits",
        "dataset_kwargs": {"imbalance_ratio": 100},
        "epochs": 3,
        "batch_size": 64,
        "lr": 0.01,
        "quiet": True,
        "num_threads": 1,
        **fields,
    }
    return TrainConfig(**values)


def test_tau_normalisation_divides_each_class_weight_by_its_norm_to_the_power_tau() -> None:
    rng = np.random.default_rng(0)
    layer = torch.nn.Linear(6, 4)
    h = torch.from_numpy(rng.normal(size=(9, 6))).float()
    with torch.no_grad():
        z = layer(h).numpy()
        w, b = layer.weight.numpy(), layer.bias.numpy()
    norms = np.linalg.norm(w, axis=1)
    for tau in (0.0, 0.5, 1.0, 2.0):
        expected = h.numpy() @ (w / norms[:, None] ** tau).T  # no bias, as Kang et al.
        got = posthoc.tau_normalized_logits(z, b, norms, tau)
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="weight_norms must be a 1-D vector of positive"):
        posthoc.tau_normalized_logits(z, b, -norms, 1.0)
    with pytest.raises(ValueError, match="bias must be 4 finite numbers"):
        posthoc.tau_normalized_logits(z, b[:3], norms, 1.0)


def test_tau_norm_chosen_on_validation_can_only_gain_there() -> None:
    rng = np.random.default_rng(1)
    z = rng.normal(size=(60, 3))
    y = rng.integers(0, 3, 60)
    bias, norms = np.zeros(3), np.array([3.0, 1.0, 0.5])
    tau, best = posthoc.choose_tau_norm(z, y, bias, norms, "balanced_accuracy")
    scores = [
        posthoc.score(
            y, posthoc.tau_normalized_logits(z, bias, norms, t).argmax(1), "balanced_accuracy", 3
        )
        for t in posthoc.TAUS
    ]
    assert best == max(scores) and tau == posthoc.TAUS[int(np.argmax(scores))]


def test_retraining_with_balanced_sampling_is_seeded_and_checks_its_inputs() -> None:
    g = torch.Generator().manual_seed(0)
    h = torch.randn(120, 5, generator=g)
    y = (h[:, 0] > 1.0).long()
    one = retrain_classifier(h, y, 2, batch_size=16, lr=0.05, seed=3)
    two = retrain_classifier(h, y, 2, batch_size=16, lr=0.05, seed=3)
    assert torch.equal(one.weight, two.weight) and not one.weight.requires_grad
    with pytest.raises(TypeError, match="features must be a 2-D tensor"):
        retrain_classifier(h[0], y, 2, batch_size=16, lr=0.05, seed=0)
    with pytest.raises(ValueError, match="labels must be a tensor of 120 class indices"):
        retrain_classifier(h, y[:5], 2, batch_size=16, lr=0.05, seed=0)
    with pytest.raises(ValueError, match="batch_size"):
        retrain_classifier(h, y, 2, batch_size=0, lr=0.05, seed=0)


def test_only_cross_entropy_runs_with_a_linear_classifier_get_the_baselines() -> None:
    assert applies(_digits(loss="ce"))
    assert applies(_digits(loss="ce", sampler="balanced", weight_decay=1e-4))
    assert not applies(_digits(loss="focal"))
    assert not applies(_digits(loss="ce", classifier="cosine"))


def test_a_ce_run_stores_what_the_baselines_need_and_they_read_back(tmp_path) -> None:
    config = _digits(loss="ce", seed=0)
    result, predictions = fit_and_predict(config)
    store = RunStore(tmp_path)
    store.save(result, predictions)
    back = store.predictions(config.run_id)
    assert back.crt.keys() == back.classifier.keys() == predictions.logits.keys()
    for metric in predictions.logits:
        layer = back.classifier[metric]
        assert layer["bias"].shape == layer["norms"].shape == (10,)
        assert back.crt[metric]["test"].shape == predictions.logits[metric]["test"].shape
    scores = decoupled_scores(back)
    for metric in predictions.logits:
        assert 0.0 <= scores[f"{metric}_crt"] <= 1.0
        assert scores[f"taunorm_{metric}"] in posthoc.TAUS
    assert decoupled_scores(Predictions(logits={}, labels={}, class_counts=np.ones(2))) == {}


def test_re_sampling_trains_on_class_balanced_batches() -> None:
    """The balanced sampler's rows: every class about equally often in an epoch."""
    from imbloss.data import epoch_indices, prepare_digits

    data = prepare_digits(imbalance_ratio=100, seed=0)
    y = data.train.y
    order = epoch_indices("balanced", y, generator=torch.Generator().manual_seed(0))
    counts = torch.bincount(y[order], minlength=10).float()
    natural = torch.bincount(y, minlength=10).float()
    assert natural.max() / natural.min() >= 50
    assert counts.max() / counts.min() < 1.5


def _frame(rows) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    frame["context"] = "c"
    for column in ("macro_f1", "macro_f1_posthoc", "macro_f1_crt", "macro_f1_taunorm"):
        frame[f"val_{column}"] = frame[column]
    return frame


def test_the_baselines_are_primary_rows_of_the_comparison() -> None:
    rows = []
    for seed in range(4):
        ce = 0.50 + 0.01 * seed
        rows.append(
            {"condition": "ce", "params": "", "seed": seed, "macro_f1": ce,
             "macro_f1_posthoc": ce + 0.01, "macro_f1_crt": ce + 0.02,
             "macro_f1_taunorm": ce + 0.03 + 0.001 * seed}
        )  # fmt: skip
        rows.append(
            {"condition": "ce", "params": "weight_decay=0.0001", "seed": seed,
             "macro_f1": ce + 0.04, "macro_f1_posthoc": ce, "macro_f1_crt": np.nan,
             "macro_f1_taunorm": np.nan}
        )  # fmt: skip
        rows.append(
            {"condition": "ce_resampled", "params": "", "seed": seed, "macro_f1": ce - 0.01,
             "macro_f1_posthoc": ce, "macro_f1_crt": np.nan, "macro_f1_taunorm": np.nan}
        )  # fmt: skip
    table = comparison_table(_frame(rows), "macro_f1")
    primary = {rule_label(r): r for _, r in table[primary_rows(table)].iterrows()}
    assert set(primary) == {
        "ce + post-hoc τ",
        "ce + cRT",
        "ce + τ-norm",
        "ce(weight_decay=0.0001)",
        "ce_resampled",
    }
    assert primary["ce + cRT"]["diff"] == pytest.approx(0.02)
    assert primary["ce + τ-norm"]["diff"] == pytest.approx(0.0315)
    assert primary["ce(weight_decay=0.0001)"]["diff"] == pytest.approx(0.04)
    assert primary["ce_resampled"]["diff"] == pytest.approx(-0.01)
    assert table.attrs["family_size"] == 5
