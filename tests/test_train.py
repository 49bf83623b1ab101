"""Trainer, config and gradient diagnostics, on tiny synthetic data (fast) and on digits."""

from __future__ import annotations

import dataclasses
import json
import math
import os

import numpy as np
import pytest
import torch
from _datasets import tiny_names

from imbloss.data.batches import batches
from imbloss.diagnostics import GradientDiagnostics, head_classes
from imbloss.losses import LOSSES, build_loss
from imbloss.runs import Predictions
from imbloss.runtime import resolve_device
from imbloss.schedules import drw_epoch, learning_rate
from imbloss.store import RunStore
from imbloss.train import RunResult, TrainConfig, fit, fit_and_predict, load_data

FAST = dict(epochs=3, batch_size=16, hidden_size=8, embedding_dim=4, quiet=True)


def _drop_timings(result: RunResult) -> dict:
    values = result.to_dict()
    values.pop("timings")
    for epoch in values["history"]:
        epoch.pop("train_s")
    return values


# --- gradient diagnostics ----------------------------------------------------------------------


def test_head_classes_hold_at_least_half_of_the_examples() -> None:
    assert head_classes([10, 50, 30, 10]) == [1]  # 50 of 100
    assert head_classes([10, 40, 30, 20]) == [1, 2]  # 40 < 50 <= 70
    assert head_classes(torch.tensor([5, 5])) == [0]  # a tie goes to the lower index
    with pytest.raises(ValueError, match="non-negative counts"):
        head_classes([0, 0])


def test_diagnostic_shares_follow_from_the_ce_gradient() -> None:
    """For CE, dL/dz_y = (p_t - 1) / N: the shares are ratios of sums of 1 - p_t."""
    p_t = torch.tensor([0.95, 0.5, 0.99, 0.2])
    target = torch.tensor([0, 1, 1, 0])
    # two classes: a true-class logit of log(p / (1 - p)) against 0 gives softmax p
    logits = torch.zeros(4, 2).scatter(1, target[:, None], (p_t / (1 - p_t)).log()[:, None])
    logits.requires_grad_(True)
    loss = build_loss("ce")(logits, target)
    loss.backward()
    torch.testing.assert_close(logits.grad.gather(1, target[:, None])[:, 0], (p_t - 1) / 4)

    diag = GradientDiagnostics(head=[1], num_classes=2)
    diag.update(logits, target, loss)
    out = diag.compute()
    g = 1 - p_t
    assert out["easy_grad_share"] == pytest.approx(float((g[0] + g[2]) / g.sum()), rel=1e-5)
    assert out["head_grad_share"] == pytest.approx(float((g[1] + g[2]) / g.sum()), rel=1e-5)
    assert out["mean_p_t"] == pytest.approx(float(p_t.mean()), rel=1e-5)
    assert out["loss"] == pytest.approx(float(-p_t.log().mean()), rel=1e-5)


def test_shares_do_not_depend_on_the_reduction_and_accumulate_over_batches() -> None:
    torch.manual_seed(0)
    logits, target = torch.randn(12, 4) * 3, torch.randint(0, 4, (12,))

    def shares(reduction: str, pieces: int) -> dict:
        diag = GradientDiagnostics(head=[0, 2], num_classes=4)
        for z, y in zip(logits.chunk(pieces), target.chunk(pieces)):
            z = z.clone().requires_grad_(True)
            loss = build_loss("ce", reduction=reduction)(z, y)
            loss.backward()
            diag.update(z, y, loss)
        return diag.compute()

    total = shares("sum", 1)
    for a, b in [(shares("mean", 1), total), (shares("sum", 3), total)]:
        assert a["easy_grad_share"] == pytest.approx(b["easy_grad_share"])
        assert a["head_grad_share"] == pytest.approx(b["head_grad_share"])


def test_focal_loss_takes_gradient_away_from_easy_examples() -> None:
    logits = torch.tensor([[4.0, 0.0], [3.0, 0.0], [0.0, 0.5], [0.2, 0.0]])
    target = torch.tensor([0, 0, 0, 0])

    def easy_share(name: str, **kwargs) -> float:
        z = logits.clone().requires_grad_(True)
        loss = build_loss(name, **kwargs)(z, target)
        loss.backward()
        diag = GradientDiagnostics(head=[0], num_classes=2)
        diag.update(z, target, loss)
        return diag.compute()["easy_grad_share"]

    assert easy_share("focal", gamma=2.0) < easy_share("ce") / 5


def test_update_without_retained_grad_is_an_error() -> None:
    diag = GradientDiagnostics(head=[0], num_classes=2)
    with pytest.raises(ValueError, match="retain_grad"):
        diag.update(torch.zeros(2, 2), torch.tensor([0, 1]), torch.tensor(0.0))


# --- config ----------------------------------------------------------------------------------


def test_config_errors_name_the_bad_value_and_the_choices() -> None:
    with pytest.raises(ValueError, match="loss='focall'.*'focal'.*'ldam'"):
        TrainConfig(loss="focall")
    with pytest.raises(ValueError, match="sampler='oversample'.*natural"):
        TrainConfig(sampler="oversample")
    with pytest.raises(ValueError, match="lr must be a number in"):
        TrainConfig(lr=0)
    with pytest.raises(TypeError, match=r"epochs must be an integer; got 2.5 \(float\)"):
        TrainConfig(epochs=2.5)
    with pytest.raises(ValueError, match="epochs must be an integer >= 1; got 0"):
        TrainConfig(epochs=0)
    with pytest.raises(TypeError, match=r"quiet must be True or False; got 1 \(int\)"):
        TrainConfig(quiet=1)
    with pytest.raises(TypeError, match=r"loss_kwargs must be a dict with string keys"):
        TrainConfig(loss_kwargs=[("gamma", 2.0)])
    with pytest.raises(ValueError, match="device='tpu'"):
        TrainConfig(device="tpu")
    with pytest.raises(ValueError, match=r"\['ratio'\].*'digits'.*imbalance_ratio"):
        TrainConfig(dataset="digits", dataset_kwargs={"ratio": 10})
    with pytest.raises(ValueError, match=r"unknown config key\(s\) \['epoch'\].*'epochs'"):
        TrainConfig.from_dict({"epoch": 3})
    with pytest.raises(ValueError, match=r"\['gama'\].*'gamma'"):
        TrainConfig(loss="focal", loss_kwargs={"gama": 2.0})
    with pytest.raises(ValueError, match="gamma"):
        TrainConfig(loss="focal", loss_kwargs={"gamma": -1.0})


def test_run_id_is_stable_and_ignores_how_a_run_is_executed() -> None:
    config = TrainConfig(loss="focal", loss_kwargs={"gamma": 2.0}, seed=1)
    assert config.run_id.startswith("names-focal-s1-")
    assert config.run_id == TrainConfig.from_dict(config.to_dict()).run_id
    assert config.run_id == dataclasses.replace(config, quiet=True, num_threads=1).run_id
    assert config.run_id != dataclasses.replace(config, lr=0.02).run_id
    assert config.run_id != dataclasses.replace(config, loss_kwargs={"gamma": 1.0}).run_id


def test_numpy_integers_in_a_config_become_python_ints() -> None:
    """A grid built with NumPy (np.arange of seeds) gives the same run as plain ints."""
    import numpy as np

    config = TrainConfig(seed=np.int64(3), epochs=np.int32(2))
    assert type(config.seed) is int and type(config.epochs) is int
    assert config.run_id == TrainConfig(seed=3, epochs=2).run_id
    json.dumps(config.to_dict())


def test_device_auto_prefers_cuda_then_mps_then_cpu(monkeypatch) -> None:
    if not torch.cuda.is_available():
        assert resolve_device("auto") == torch.device("cpu")  # this machine
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("mps")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == torch.device("cuda")


# --- batching --------------------------------------------------------------------------------


def test_length_grouping_keeps_every_row_once_and_sorts_each_batch() -> None:
    gen = torch.Generator().manual_seed(0)
    lengths = torch.randint(1, 20, (103,), generator=gen)
    order = torch.randperm(103, generator=gen)
    grouped = batches(order, lengths, 10, 4, gen)
    assert torch.equal(torch.cat(grouped).sort().values, torch.arange(103))
    for batch in grouped:
        assert bool((lengths[batch][:-1] >= lengths[batch][1:]).all())
    plain = batches(order, lengths, 10, 1, gen)
    assert torch.equal(torch.cat(plain), order)
    assert [len(b) for b in plain] == [10] * 10 + [3]


# --- fit -------------------------------------------------------------------------------------


def test_fit_is_deterministic_on_the_cpu() -> None:
    data = tiny_names()
    config = TrainConfig(device="cpu", seed=3, **FAST)
    first, second = fit(config, data), fit(config, data)
    assert _drop_timings(first) == _drop_timings(second)
    other = fit(dataclasses.replace(config, seed=4), data)
    assert other.history != first.history


def test_fit_learns_and_reports_the_best_epoch() -> None:
    data = tiny_names()
    result = fit(TrainConfig(device="cpu", **{**FAST, "epochs": 8}, lr=0.02), data)
    assert result.test_metrics["accuracy"] > 0.9
    f1s = [epoch["val_macro_f1"] for epoch in result.history]
    assert result.best_epoch == 1 + f1s.index(max(f1s))
    # the test set was scored with the best epoch's weights, restored from memory
    assert result.val_metrics["macro_f1"] == pytest.approx(max(f1s))
    assert result.head_classes == ["big"]
    assert result.class_counts == [60, 24, 10]
    assert result.device == "cpu"
    assert set(result.versions) >= {"torch", "numpy", "sklearn", "imbloss"}
    assert result.timings["examples_per_s"] > 0
    for epoch in result.history:
        assert 0 <= epoch["easy_grad_share"] <= 1 and 0 <= epoch["head_grad_share"] <= 1
        assert 0 < epoch["mean_p_t"] < 1 and epoch["train_loss"] > 0


def test_run_result_json_round_trip(tmp_path) -> None:
    result = fit(TrainConfig(device="cpu", **{**FAST, "epochs": 1}), tiny_names())
    text = result.to_json()
    json.loads(text)  # plain JSON
    assert RunResult.from_json(text) == result
    assert RunResult.load(result.save(tmp_path / "r.json")) == result
    assert TrainConfig.from_dict(result.config) == TrainConfig(
        device="cpu", **{**FAST, "epochs": 1}
    )


@pytest.mark.parametrize("loss", LOSSES)
def test_every_loss_trains_with_finite_diagnostics(loss: str) -> None:
    result = fit(TrainConfig(loss=loss, device="cpu", **{**FAST, "epochs": 1}), tiny_names())
    epoch = result.history[0]
    assert all(math.isfinite(epoch[k]) for k in ("train_loss", "easy_grad_share", "mean_p_t"))


def test_fit_on_digits_features() -> None:
    config = TrainConfig(
        dataset="digits",
        dataset_kwargs={"imbalance_ratio": 10},
        epochs=3,
        batch_size=64,
        lr_schedule="constant",
        quiet=True,
        num_threads=1,
    )
    result = fit(config)
    assert result.test_metrics["accuracy"] > 0.5
    assert result.class_counts[0] > result.class_counts[-1]
    assert load_data("digits", {"imbalance_ratio": 10}, 0) is load_data(
        "digits", {"imbalance_ratio": 10}, 0
    )


@pytest.mark.skipif(not os.environ.get("IMBLOSS_NAMES_DIR"), reason="IMBLOSS_NAMES_DIR not set")
def test_two_epochs_on_the_real_names_data_beat_the_majority_guess() -> None:
    config = TrainConfig(
        epochs=2,
        hidden_size=16,
        embedding_dim=8,
        lr_schedule="constant",
        quiet=True,
        num_threads=1,
    )
    result = fit(config)
    test = result.test_metrics
    # Russian alone holds more than half of the training names
    assert len(result.class_counts) == 18 and result.head_classes == ["Russian"]
    total = sum(c["support"] for c in test["per_class"].values())
    assert test["accuracy"] > test["per_class"]["Russian"]["support"] / total + 0.05


# --- schedules, deferred re-weighting, selections and saved logits ------------------------------


def test_cosine_schedule_falls_from_lr_to_zero_and_step_drops_tenfold() -> None:
    cosine = TrainConfig(lr=0.01, lr_schedule="cosine")
    assert learning_rate(cosine, 0, 100) == pytest.approx(0.01)
    assert learning_rate(cosine, 50, 100) == pytest.approx(0.005)
    assert learning_rate(cosine, 99, 100) == pytest.approx(
        0.01 * (1 + math.cos(math.pi * 0.99)) / 2
    )
    step = TrainConfig(lr=0.01, lr_schedule="step")
    assert [learning_rate(step, t, 10) for t in (0, 7, 8, 9)] == pytest.approx(
        [0.01, 0.01, 0.001, 0.001]
    )
    assert learning_rate(TrainConfig(lr=0.01, lr_schedule="constant"), 99, 100) == 0.01


def test_the_history_records_the_schedule_epoch_by_epoch() -> None:
    config = TrainConfig(device="cpu", **{**FAST, "epochs": 4})
    result = fit(config, tiny_names())
    steps = -(-len(tiny_names().train) // config.batch_size)
    lrs = [h["lr"] for h in result.history]
    assert lrs == pytest.approx([learning_rate(config, e * steps, 4 * steps) for e in range(4)])
    assert lrs == sorted(lrs, reverse=True)


def test_deferred_reweighting_switches_on_class_balanced_weights(monkeypatch) -> None:
    """DRW leaves the loss unweighted until its epoch, then uses Cui et al.'s weights."""
    config = TrainConfig(
        device="cpu", loss="ldam", drw_start=0.5, lr_schedule="step", **{**FAST, "epochs": 4}
    )
    assert drw_epoch(config) == 3
    seen = []
    original = torch.nn.Module.__call__

    def spy(module, *args, **kwargs):
        if module.__class__.__name__ == "LDAMLoss":
            seen.append(None if module.weight is None else module.weight.clone())
        return original(module, *args, **kwargs)

    monkeypatch.setattr(torch.nn.Module, "__call__", spy)
    data = tiny_names()
    fit(config, data)
    per_epoch = len(seen) // 4
    assert all(w is None for w in seen[: 2 * per_epoch])
    from imbloss.losses import class_balanced_weights

    expected = class_balanced_weights(data.class_counts, beta=0.9999)
    assert all(torch.equal(w, expected) for w in seen[2 * per_epoch :])
    with pytest.raises(ValueError, match=r"drw_start must be a number in \(0.0, 1.0\); got 1.5"):
        TrainConfig(drw_start=1.5)


def test_each_target_metric_selects_its_own_best_epoch() -> None:
    config = TrainConfig(device="cpu", **{**FAST, "epochs": 5})
    result = fit(config, tiny_names(counts=(60, 12, 4)))
    for metric in ("macro_f1", "balanced_accuracy"):
        scores = [h[f"val_{metric}"] for h in result.history]
        chosen = result.selections[metric]
        assert chosen["best_epoch"] == 1 + scores.index(max(scores))
        assert chosen["val_metrics"][metric] == pytest.approx(max(scores))
    assert result.best_epoch == result.selections["macro_f1"]["best_epoch"]


def test_saved_logits_reproduce_the_reported_metrics(tmp_path) -> None:
    """argmax of the saved (float16) logits gives the predictions the metrics were computed on."""
    data = tiny_names()
    result, predictions = fit_and_predict(TrainConfig(device="cpu", **FAST), data)
    store = RunStore(tmp_path / "new" / "dir")
    store.save(result, predictions)
    loaded = store.predictions(result.run_id)
    assert isinstance(loaded, Predictions)
    assert loaded.logits["macro_f1"]["test"].dtype == np.float16
    np.testing.assert_array_equal(loaded.labels["test"], data.test.y.numpy())
    np.testing.assert_array_equal(loaded.class_counts, data.class_counts.numpy())
    for metric, chosen in result.selections.items():
        for split in ("val", "test"):
            predicted = loaded.logits[metric][split].astype(np.float32).argmax(1)
            confusion = np.zeros((3, 3), dtype=int)
            np.add.at(confusion, (loaded.labels[split], predicted), 1)
            assert confusion.tolist() == chosen[f"{split}_metrics"]["confusion_matrix"]
    assert store.result(result.run_id) == result


def test_ldam_decision_logits_are_the_scaled_model_logits() -> None:
    data = tiny_names()
    config = TrainConfig(device="cpu", loss="ldam", classifier="cosine", **FAST)
    _, predictions = fit_and_predict(config, data)
    test = predictions.logits["macro_f1"]["test"].astype(np.float32)
    assert np.abs(test).max() <= 30.0 * (1 + 1e-2) and np.abs(test).max() > 1.0
