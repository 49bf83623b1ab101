"""Stacked training: K digits runs as one model with a model axis equal the K one-model runs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from imbloss.config import CONDITIONS, TrainConfig, stack_key
from imbloss.data import prepare_digits
from imbloss.diagnostics import GradientDiagnostics
from imbloss.dispatch import groups as _groups
from imbloss.models import FeatureMLP
from imbloss.stacked import StackedMLP, fit_stacked
from imbloss.train import fit_and_predict

SEEDS = (0, 1, 2)


def _configs(loss: str, epochs: int = 4, **fields) -> list[TrainConfig]:
    values = {"loss": loss, **CONDITIONS.get(loss, {}), **fields}
    return [
        TrainConfig(
            dataset="digits",
            dataset_kwargs={"imbalance_ratio": 100},
            epochs=epochs,
            batch_size=64,
            lr=0.01,
            seed=seed,
            quiet=True,
            num_threads=1,
            **values,
        )
        for seed in SEEDS
    ]


@pytest.mark.parametrize(
    ("loss", "fields"),
    [
        ("ce", {}),  # with the decoupled baselines (cRT, tau-norm) at each selected epoch
        ("ce_resampled", {}),  # class-balanced batches
        ("cb_ce", {"loss_kwargs": {"beta": 0.99}}),  # class weights: a weighted mean
        ("focal", {"loss_kwargs": {"gamma": 2.0}}),
        ("ghm", {}),  # couples a batch's examples: groups=K, statistics per model
        ("logit_adjusted", {}),
        # cosine classifier, margins and scale, re-weighting from epoch 4 with a step in lr
        ("ldam_drw", {"drw_start": 0.7}),
    ],
)
def test_a_stacked_run_equals_the_one_model_runs_of_its_seeds(loss, fields) -> None:
    """Same run ids, losses and validation scores every epoch, selected epochs, test
    metrics and saved logits, to float tolerance (bmm instead of addmm, the loss's
    per-row terms summed instead of its fused mean)."""
    configs = _configs(loss, **fields)
    stacked = fit_stacked(configs)
    for config, (result, predictions) in zip(configs, stacked):
        alone, alone_predictions = fit_and_predict(config)
        assert result.run_id == alone.run_id == config.run_id
        assert result.config == alone.config
        for mine, theirs in zip(result.history, alone.history, strict=True):
            assert mine["train_loss"] == pytest.approx(theirs["train_loss"], rel=1e-5)
            assert mine["easy_grad_share"] == pytest.approx(theirs["easy_grad_share"], abs=1e-5)
            assert mine["head_grad_share"] == pytest.approx(theirs["head_grad_share"], abs=1e-5)
            assert mine["mean_p_t"] == pytest.approx(theirs["mean_p_t"], rel=1e-5)
            for key in ("lr", "val_accuracy", "val_macro_f1", "val_balanced_accuracy"):
                assert mine[key] == theirs[key], key
        for metric, selection in result.selections.items():
            assert selection["best_epoch"] == alone.selections[metric]["best_epoch"]
            assert selection["test_metrics"] == alone.selections[metric]["test_metrics"]
            for split in ("val", "test"):
                np.testing.assert_allclose(
                    predictions.logits[metric][split],
                    alone_predictions.logits[metric][split],
                    atol=1e-4,
                )
        assert predictions.crt.keys() == alone_predictions.crt.keys()
        assert bool(predictions.crt) == (config.loss == "ce")
        for metric, by_split in predictions.crt.items():
            for split, logits in by_split.items():
                np.testing.assert_allclose(logits, alone_predictions.crt[metric][split], atol=1e-3)
            for name, values in predictions.classifier[metric].items():
                np.testing.assert_allclose(
                    values, alone_predictions.classifier[metric][name], atol=1e-4
                )
        assert result.class_counts == alone.class_counts
        assert result.head_classes == alone.head_classes
        assert result.timings["stacked_models"] == len(SEEDS)


@pytest.mark.parametrize("classifier", ["linear", "cosine"])
def test_the_stacked_mlp_computes_each_model_on_its_own_rows(classifier) -> None:
    torch.manual_seed(0)
    models = [FeatureMLP(64, 10, hidden_size=16, classifier=classifier) for _ in range(3)]
    stacked = StackedMLP(models)
    x = torch.randn(3, 5, 64)
    out = stacked(x)
    for k, model in enumerate(models):
        torch.testing.assert_close(out[k], model(x[k]), rtol=1e-5, atol=1e-6)
        for name, value in stacked.state(k).items():
            assert torch.equal(value, model.state_dict()[name])


def test_stack_states_round_trip() -> None:
    torch.manual_seed(0)
    models = [FeatureMLP(8, 3, hidden_size=4) for _ in range(2)]
    stacked = StackedMLP(models)
    swapped = [stacked.state(1), stacked.state(0)]
    stacked.load_states(swapped)
    assert all(torch.equal(stacked.state(0)[n], models[1].state_dict()[n]) for n in stacked.names)


def test_diagnostics_with_a_model_axis_equal_one_diagnostics_per_model() -> None:
    torch.manual_seed(0)
    logits = torch.randn(3, 7, 4, requires_grad=True)
    target = torch.randint(0, 4, (3, 7))
    losses = (
        torch.nn.functional.cross_entropy(
            logits.reshape(-1, 4), target.reshape(-1), reduction="none"
        )
        .reshape(3, 7)
        .mean(1)
    )
    logits.retain_grad()
    losses.sum().backward()
    together = GradientDiagnostics([0, 1], 4, models=3)
    together.update(logits, target, losses)
    for k, numbers in enumerate(together.compute_per_model()):
        view = logits.detach()[k].clone().requires_grad_()
        view.grad = logits.grad[k]
        alone = GradientDiagnostics([0, 1], 4)
        alone.update(view, target[k], losses[k])
        assert numbers == pytest.approx(alone.compute(), rel=1e-6)
    with pytest.raises(ValueError, match="model axis; use compute_per_model"):
        together.compute()


def test_only_configs_that_differ_in_their_seed_share_a_stack() -> None:
    a, b, _ = _configs("ce")
    assert stack_key(a) == stack_key(b) is not None
    assert stack_key(TrainConfig(dataset="names")) is None
    other_lr = TrainConfig.from_dict({**a.to_dict(), "lr": 0.02})
    assert stack_key(other_lr) != stack_key(a)
    names = TrainConfig(dataset="names", quiet=True)
    groups = _groups([a, names, other_lr, b])
    assert [[c.run_id for c in g] for g in groups] == [
        [a.run_id, b.run_id],
        [names.run_id],
        [other_lr.run_id],
    ]


def test_fit_stacked_names_what_cannot_stack() -> None:
    a, b, _ = _configs("ce", epochs=1)
    with pytest.raises(ValueError, match="distinct seeds; got \\[0, 0\\]"):
        fit_stacked([a, a])
    with pytest.raises(ValueError, match="differ only in their seed"):
        fit_stacked([a, TrainConfig.from_dict({**b.to_dict(), "lr": 0.5})])
    with pytest.raises(ValueError, match="differ only in their seed"):
        fit_stacked([TrainConfig(dataset="names", seed=0), TrainConfig(dataset="names", seed=1)])
    with pytest.raises(TypeError, match="non-empty sequence of TrainConfig"):
        fit_stacked([])
    balanced = prepare_digits(imbalance_ratio=1, seed=1)
    with pytest.raises(ValueError, match="same class counts"):
        fit_stacked([a, b], data=[prepare_digits(imbalance_ratio=100, seed=0), balanced])
