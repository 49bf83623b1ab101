"""Sweeps: expansion, skip-if-done, failure reporting, and the statistics over seeds."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from imbloss import sweep
from imbloss.losses import LOSSES
from imbloss.profiles import profile_path
from imbloss.sweep import (
    PROFILES,
    bootstrap_mean_interval,
    expand,
    load_results,
    load_spec,
    paired_vs_ce,
    run_sweep,
    summarize,
)
from imbloss.train import TrainConfig

TINY = {"dataset": "digits", "epochs": 2, "batch_size": 64, "hidden_size": 16}


def _tiny_spec(losses=("ce", "focal"), seeds=2) -> dict:
    return {"name": "tiny", "base": TINY, "losses": list(losses), "seeds": seeds}


# --- specs -----------------------------------------------------------------------------------


def test_expand_is_the_product_of_datasets_losses_grid_and_seeds() -> None:
    spec = {
        "base": {"dataset": "digits", "epochs": 2},
        "losses": ["ce", "focal"],
        "seeds": [0, 5],
        "grid": {"focal": {"gamma": [1.0, 2.0]}},
        "dataset_grid": {"imbalance_ratio": [1, 100]},
    }
    runs = expand(spec)
    assert len(runs) == 2 * (1 + 2) * 2  # ratios x (ce + two gammas) x seeds
    configs = [config for _, config in runs]
    assert {c.seed for c in configs} == {0, 5}
    assert {c.loss_kwargs.get("gamma") for c in configs} == {None, 1.0, 2.0}
    assert {c.dataset_kwargs["imbalance_ratio"] for c in configs} == {1, 100}
    assert len({c.run_id for c in configs}) == len(configs)


def test_spec_errors_name_the_bad_key_and_the_valid_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['seed'\].*'seeds'"):
        expand({"losses": ["ce"], "seed": 3})
    with pytest.raises(ValueError, match=r"unknown config key\(s\) \['epoch'\].*'epochs'"):
        expand({"base": {"epoch": 3}, "losses": ["ce"]})
    with pytest.raises(ValueError, match="grid keys must be losses of the experiment"):
        expand({"losses": ["ce"], "grid": {"focal": {"gamma": [1.0]}}})
    with pytest.raises(ValueError, match="losses=.*'focall'.*expected 'all'"):
        expand({"losses": ["focall"]})
    with pytest.raises(ValueError, match="base may not set 'loss'"):
        expand({"base": {"loss": "ce"}})


def test_the_profiles_are_the_packaged_yaml_files() -> None:
    assert set(PROFILES) == {"ci", "full"}
    for name in PROFILES:
        assert load_spec(profile_path(name)) == PROFILES[name]
    ci = expand(PROFILES["ci"])
    assert len(ci) == len(LOSSES) * 3 * (1 + 5)  # names + five digits ratios
    full = expand(PROFILES["full"])
    assert min(c.seed for _, c in full) == 0 and max(c.seed for _, c in full) >= 9


def test_yaml_reads_exponent_floats(tmp_path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text("base: {lr: 1e-3}\nlosses: [ce]\n")
    assert load_spec(path)["base"]["lr"] == pytest.approx(0.001)


# --- running ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_sweep_writes_results_and_skips_them_on_a_rerun(tmp_path, monkeypatch) -> None:
    df = run_sweep(_tiny_spec(), tmp_path, n_jobs=2, quiet=True)
    assert len(df) == 4 and df.attrs["failures"] == []
    assert set(df["experiment"]) == {"tiny"}
    assert sorted(p.stem for p in tmp_path.glob("*.json")) == sorted(df["run_id"])
    assert df[["accuracy", "balanced_accuracy", "macro_f1"]].notna().all().all()
    reread = load_results(tmp_path)
    assert sorted(reread["run_id"]) == sorted(df["run_id"])
    assert sorted(reread["macro_f1"]) == sorted(df["macro_f1"])

    def no_training(config):
        raise AssertionError(f"{config.run_id} was run again")

    monkeypatch.setattr(sweep, "fit", no_training)
    again = run_sweep(_tiny_spec(), tmp_path, n_jobs=1, quiet=True)
    pd.testing.assert_frame_equal(again, df)
    # a new seed runs only the new runs (here: they fail, so the patched fit was reached)
    with pytest.warns(RuntimeWarning, match="2 of 6 runs failed"):
        more = run_sweep(_tiny_spec(seeds=3), tmp_path, n_jobs=1, quiet=True)
    assert len(more) == 4 and {f["config"]["seed"] for f in more.attrs["failures"]} == {2}


def test_a_failing_run_is_reported_and_the_others_are_kept(tmp_path) -> None:
    good = TrainConfig(**TINY, loss="ce", quiet=True)
    # a class weight of the wrong length passes the config check and fails in training
    bad = TrainConfig(**TINY, loss="focal", loss_kwargs={"weight": [1.0, 2.0]}, quiet=True)
    with pytest.warns(RuntimeWarning, match="1 of 2 runs failed.*weight has length 2"):
        df = run_sweep([good, bad], tmp_path, n_jobs=1, quiet=True)
    assert list(df["run_id"]) == [good.run_id]
    (failure,) = df.attrs["failures"]
    assert failure["run_id"] == bad.run_id
    assert failure["config"]["loss_kwargs"] == {"weight": [1.0, 2.0]}
    assert "expected length" in failure["error"] and "Traceback" in failure["traceback"]
    on_disk = json.loads((tmp_path / "failed" / f"{bad.run_id}.json").read_text())
    assert on_disk["error"] == failure["error"]
    assert not (tmp_path / f"{bad.run_id}.json").exists()


# --- statistics ------------------------------------------------------------------------------


def _frame(values: dict[str, list[float]]) -> pd.DataFrame:
    """A results-like frame: one context, a config per key, one row per seed."""
    rows = []
    for label, scores in values.items():
        loss, _, params = label.partition(":")
        for seed, score in enumerate(scores):
            rows.append(
                {
                    "run_id": f"{label}-{seed}",
                    "dataset": "digits",
                    "loss": loss,
                    "params": params,
                    "label": label,
                    "seed": seed,
                    "macro_f1": score,
                    "group": label,
                    "context": "c",
                }
            )
    return pd.DataFrame(rows)


def test_summarize_gives_mean_std_and_a_seeded_bootstrap_interval() -> None:
    df = _frame({"ce": [0.5, 0.6, 0.7], "focal:gamma=2": [0.8, 0.8, 0.8]})
    out = summarize(df, "macro_f1")
    assert list(out["label"]) == ["focal:gamma=2", "ce"]  # sorted by mean
    ce = out[out["label"] == "ce"].iloc[0]
    assert ce["n"] == 3 and ce["mean"] == pytest.approx(0.6)
    assert ce["std"] == pytest.approx(0.1)
    assert 0.5 <= ce["ci_low"] < 0.6 < ce["ci_high"] <= 0.7
    focal = out[out["label"] == "focal:gamma=2"].iloc[0]
    assert focal["ci_low"] == pytest.approx(0.8) and focal["ci_high"] == pytest.approx(0.8)
    pd.testing.assert_frame_equal(out, summarize(df, "macro_f1"))
    with pytest.raises(ValueError, match="metric='f1'.*'macro_f1'"):
        summarize(df, "f1")


def test_bootstrap_interval_of_the_mean_narrows_with_more_values() -> None:
    rng = np.random.default_rng(1)
    few = bootstrap_mean_interval(rng.normal(size=5))
    many = bootstrap_mean_interval(rng.normal(size=500))
    assert many[1] - many[0] < (few[1] - few[0]) / 3


def test_paired_comparison_with_ce_by_seed() -> None:
    df = _frame({"ce": [0.5, 0.6, 0.7], "focal:": [0.52, 0.61, 0.73], "ldam:": [0.4, 0.6, 0.9]})
    out = paired_vs_ce(df, "macro_f1").set_index("label")
    focal = out.loc["focal:"]
    assert focal["n_pairs"] == 3 and focal["n_better"] == 3
    assert focal["mean_diff"] == pytest.approx(0.02)
    assert focal["ce_mean"] == pytest.approx(0.6)
    assert focal["wilcoxon_p"] == pytest.approx(0.25)  # the smallest two-sided p for 3 pairs
    ldam = out.loc["ldam:"]
    assert (ldam["n_better"], ldam["n_tied"], ldam["n_worse"]) == (1, 1, 1)
    assert "ce" not in out.index
