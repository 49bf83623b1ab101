"""Sweeps: expansion, skip-if-done, failure reporting, and the statistics over seeds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from imbloss import stats
from imbloss.comparison import (
    comparison_table,
    paired_differences,
    pick_on_validation,
    primary_rows,
    rule_label,
)
from imbloss.profiles import profile_path
from imbloss.results import choose_settings
from imbloss.runs import condition, config_digest, loss_params
from imbloss.store import RunStore
from imbloss.sweep import (
    PROFILES,
    comparison_tables,
    expand,
    load_results,
    load_spec,
    run_sweep,
    tuned_runs,
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
    assert len(runs) == 2 * (1 + 1 + 2) * 2  # ratios x (ce, focal default, two gammas) x seeds
    configs = [config for _, config in runs]
    assert {c.seed for c in configs} == {0, 5}
    assert {c.loss_kwargs.get("gamma") for c in configs} == {None, 1.0, 2.0}
    assert {c.dataset_kwargs["imbalance_ratio"] for c in configs} == {1, 100}
    assert len({c.run_id for c in configs}) == len(configs)


def test_a_default_that_competes_with_a_grid_runs_on_the_tuning_seeds_unless_asked() -> None:
    spec = {
        "losses": ["ce", "focal", "ldam"],
        "seeds": 4,
        "tune_seeds": 2,
        "grid": {"ce": {"weight_decay": [1e-4]}, "focal": {"gamma": [1.0]}},
    }

    def seeds_of(runs, loss, **fields):
        return sorted(
            c.seed
            for _, c in runs
            if c.loss == loss
            and not c.loss_kwargs
            and all(getattr(c, k) == v for k, v in fields.items())
        )

    runs = expand(spec)
    assert seeds_of(runs, "focal") == [0, 1]  # competes with gamma=1: tuning seeds only
    assert seeds_of(runs, "ce", weight_decay=0.0) == [0, 1, 2, 3]  # the baseline: every seed
    assert seeds_of(runs, "ldam") == [0, 1, 2, 3]  # no grid: every seed
    stacked = expand({**spec, "defaults_on_every_seed": True})
    assert seeds_of(stacked, "focal") == [0, 1, 2, 3]
    assert len(stacked) == len(runs) + 2
    with pytest.raises(ValueError, match="defaults_on_every_seed='yes' is not valid; expected"):
        expand({**spec, "defaults_on_every_seed": "yes"})


def test_a_grid_may_sweep_label_smoothing_of_any_softmax_loss() -> None:
    spec = {"losses": ["ce", "ldam"], "seeds": 1, "grid": {"ldam": {"label_smoothing": [0.1]}}}
    configs = [config for _, config in expand(spec)]
    assert [c.loss_kwargs for c in configs] == [{}, {}, {"label_smoothing": 0.1}]
    with pytest.raises(ValueError, match="label_smoothing must be a number in"):
        expand({"losses": ["ce"], "grid": {"ce": {"label_smoothing": [2.0]}}})


def test_a_grid_may_tune_the_weight_decay_and_re_sampling_is_its_own_condition() -> None:
    spec = {
        "losses": ["ce", "ce_resampled"],
        "seeds": 1,
        "grid": {"ce": {"weight_decay": [1e-4]}},
    }
    configs = [config for _, config in expand(spec)]
    assert [(c.weight_decay, c.loss_kwargs, c.sampler) for c in configs] == [
        (0.0, {}, "natural"),
        (1e-4, {}, "natural"),
        (0.0, {}, "balanced"),
    ]
    assert [condition(c.to_dict()) for c in configs] == ["ce", "ce", "ce_resampled"]
    assert [loss_params(c.to_dict()) for c in configs] == ["", "weight_decay=0.0001", ""]
    with pytest.raises(ValueError, match="weight_decay must be a number in"):
        expand({"losses": ["ce"], "grid": {"ce": {"weight_decay": [-1.0]}}})
    with pytest.raises(ValueError, match="base may not set 'weight_decay'; use"):
        expand({"base": {"weight_decay": 1e-4}, "losses": ["ce"]})


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
    for name in PROFILES:
        runs = expand(PROFILES[name])
        for experiment in ("names", "digits"):
            # the baseline on every seed: seven names seeds in ci (its CI budget), ten elsewhere
            wanted = 7 if (name, experiment) == ("ci", "names") else 10
            seeds = {c.seed for e, c in runs if e == experiment and c.loss == "ce"}
            assert seeds >= set(range(wanted)), (name, experiment)
        conditions = {c.run_id.split("-s")[0] for e, c in runs if e == "names"}
        assert "names-ldam_drw" in conditions and "names-ldam" in conditions


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
    assert sorted(p.stem for p in tmp_path.glob("*.npz")) == sorted(df["run_id"])
    assert df[["macro_f1_posthoc", "tau_balanced_accuracy"]].notna().all().all()
    reread = load_results(tmp_path)
    assert sorted(reread["run_id"]) == sorted(df["run_id"])
    assert sorted(reread["macro_f1"]) == sorted(df["macro_f1"])

    def no_training(config):
        raise AssertionError(f"{config.run_id} was run again")

    monkeypatch.setattr("imbloss.train.fit_and_predict", no_training)
    again = run_sweep(_tiny_spec(), tmp_path, n_jobs=1, quiet=True)
    pd.testing.assert_frame_equal(again, df)
    # a new seed runs only the new runs (here: they fail, so the patched fit was reached)
    with pytest.warns(RuntimeWarning, match="2 of 6 runs failed"):
        more = run_sweep(_tiny_spec(seeds=3), tmp_path, n_jobs=1, quiet=True)
    assert len(more) == 4 and {f["config"]["seed"] for f in more.attrs["failures"]} == {2}


@pytest.mark.slow
def test_tuning_runs_the_grid_on_few_seeds_then_the_choice_on_all(tmp_path) -> None:
    spec = {
        "name": "tuned",
        "base": {**TINY, "epochs": 3},
        "losses": ["ce", "focal"],
        "seeds": 4,
        "tune_seeds": 2,
        "grid": {"focal": {"gamma": [0.0, 8.0]}},
    }
    first = expand(spec)
    assert sorted(c.seed for _, c in first if c.loss_kwargs) == [0, 0, 1, 1]
    # focal's default competes with the grid: tuning seeds only; CE (no grid) on every seed
    assert sorted(c.seed for _, c in first if c.loss == "focal" and not c.loss_kwargs) == [0, 1]
    assert sorted(c.seed for _, c in first if c.loss == "ce") == [0, 1, 2, 3]
    df = run_sweep(spec, tmp_path, n_jobs=1, quiet=True)
    tuned = tuned_runs(spec, tmp_path)  # the chosen points on seeds 2 and 3, all run
    assert tuned and {c.seed for _, c in tuned} == {2, 3}
    assert all(RunStore(tmp_path).has(c.run_id) for _, c in tuned)
    assert set(df["run_id"]) >= {c.run_id for _, c in tuned}
    again = run_sweep(spec, tmp_path, n_jobs=1, quiet=True)  # a rerun reads them back
    assert sorted(again["run_id"]) == sorted(df["run_id"])
    for metric in ("macro_f1", "balanced_accuracy"):
        pick = choose_settings(df, metric, tune_seeds=[0, 1]).set_index("condition").loc["focal"]
        seeds = df[(df["condition"] == "focal") & (df["params"] == pick["params"])]["seed"]
        assert sorted(seeds) == [0, 1, 2, 3]


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
    (on_disk,) = RunStore(tmp_path).failures()
    assert on_disk["error"] == failure["error"]
    assert not RunStore(tmp_path).has(bad.run_id)


# --- tuning and the comparison table ----------------------------------------------------------


def _frame(values: dict[str, dict[str, list[float]]]) -> pd.DataFrame:
    """A results-like frame of one context: per ``"condition:params"``, per column, a seed list."""
    rows = []
    for label, columns in values.items():
        name, _, params = label.partition(":")
        n = len(next(iter(columns.values())))
        for seed in range(n):
            row = {"run_id": f"{label}-{seed}", "condition": name, "params": params, "seed": seed}
            row.update({column: scores[seed] for column, scores in columns.items()})
            row.update({"group": label, "context": "c"})
            rows.append(row)
    return pd.DataFrame(rows)


def _scores(test, val=None, posthoc=None):
    return {
        "macro_f1": test,
        "val_macro_f1": val if val is not None else test,
        "macro_f1_posthoc": posthoc if posthoc is not None else test,
        "val_macro_f1_posthoc": posthoc if posthoc is not None else test,
    }


def test_choose_settings_uses_validation_on_the_tuning_seeds_only() -> None:
    frame = _frame(
        {
            "ce:": _scores([0.5] * 4),
            "focal:": _scores([0.6] * 4, val=[0.50, 0.50, 0.9, 0.9]),
            # better on the tuning seeds' validation, worse on test: chosen all the same
            "focal:gamma=5.0": _scores([0.1] * 4, val=[0.55, 0.55, 0.1, 0.1]),
        }
    )
    chosen = choose_settings(frame, "macro_f1", tune_seeds=[0, 1]).set_index("condition")
    assert chosen.loc["focal", "params"] == "gamma=5.0" and not chosen.loc["focal", "default"]
    assert chosen.loc["focal", "tune_seeds"] == 2
    # on every seed the default's validation mean is higher
    assert choose_settings(frame, "macro_f1").set_index("condition").loc["focal", "default"]
    # a tie keeps the default
    tie = _frame(
        {
            "ce:": _scores([0.5] * 2),
            "cb_ce:": _scores([0.5] * 2),
            "cb_ce:beta=0.99": _scores([0.5] * 2),
        }
    )
    assert choose_settings(tie, "macro_f1").set_index("condition").loc["cb_ce", "default"]


def test_comparison_table_pairs_by_seed_and_corrects_with_holm() -> None:
    ce = [0.50, 0.52, 0.48, 0.51, 0.49]
    frame = _frame(
        {
            "ce:": _scores(ce, posthoc=[c + 0.01 for c in ce]),
            "focal:": _scores([c + d for c, d in zip(ce, [0.02, 0.01, 0.03, 0.02, 0.01])]),
            "ldam:": _scores([c + d for c, d in zip(ce, [0.05, -0.04, 0.0, 0.01, -0.01])]),
        }
    )
    table = comparison_table(frame, "macro_f1").set_index(["condition", "row"])
    focal = table.loc[("focal", "default")]
    assert focal["n"] == 5 and focal["wins"] == 5
    assert focal["diff"] == pytest.approx(0.018)
    diff = np.array([0.02, 0.01, 0.03, 0.02, 0.01])
    interval = scipy_stats.ttest_1samp(diff, 0.0).confidence_interval(0.95)
    assert (focal["ci_low"], focal["ci_high"]) == pytest.approx((interval.low, interval.high))
    # Holm over the primary family only: CE + post-hoc tau and each condition's chosen row
    primary = table[table["primary"]]
    assert set(primary.index) == {("ce", "post-hoc τ"), ("focal", "default"), ("ldam", "default")}
    assert table.attrs["family_size"] == 3
    np.testing.assert_allclose(primary["p_holm"], stats.holm(primary["p"].to_numpy()))
    assert table.loc[~table["primary"], "p_holm"].isna().all()  # descriptive rows: no test
    assert focal["p_holm"] >= focal["p"]
    # the MDE of a primary row is at Holm's first level, of a descriptive row at alpha
    assert focal["mde"] == pytest.approx(stats.paired_mde(np.std(diff, ddof=1), 5, 0.05 / 3))
    post_diff = np.array([0.02, 0.01, 0.03, 0.02, 0.01])  # its post-hoc scores equal its test
    assert table.loc[("focal", "tuned + post-hoc τ"), "mde"] == pytest.approx(
        stats.paired_mde(np.std(post_diff, ddof=1), 5, 0.05)
    )
    assert np.isnan(table.loc[("ce", "CE"), "mde"])
    # the default equals the tuned setting here: no separate "tuned" row, nothing counted twice
    assert ("focal", "tuned") not in table.index
    # post-hoc rows report the gain over CE + post-hoc as well
    post = table.loc[("focal", "tuned + post-hoc τ")]
    assert post["diff_posthoc_ce"] == pytest.approx(0.018 - 0.01)
    assert table.loc[("ce", "post-hoc τ"), "diff"] == pytest.approx(0.01)
    with pytest.raises(ValueError, match="metric='accuracy'"):
        comparison_table(frame, "accuracy")


def test_the_chosen_row_of_a_tuned_condition_is_primary_and_validation_picks_stably() -> None:
    ce = [0.50, 0.52, 0.48, 0.51]
    frame = _frame(
        {
            "ce:": _scores(ce, val=[0.6] * 4, posthoc=ce),
            "focal:": _scores([0.7] * 4, val=[0.5] * 4),
            "focal:gamma=5.0": _scores([0.4] * 4, val=[0.6] * 4),
        }
    )
    table = comparison_table(frame, "macro_f1")
    shown = {rule_label(row): bool(row["primary"]) for _, row in table.iterrows()}
    assert shown == {
        "ce": False,
        "ce + post-hoc τ": True,
        "focal": False,  # the default validation did not keep: descriptive
        "focal(gamma=5.0)": True,
        "focal(gamma=5.0) + post-hoc τ": False,
    }
    assert primary_rows(table).tolist() == list(shown.values())
    # validation ties plain CE and tuned focal at 0.6: the stable sort keeps the table's
    # order, so CE, the simpler rule, is picked on every run
    ranked = pick_on_validation(table)
    assert [rule_label(r) for _, r in ranked.head(2).iterrows()] == ["ce", "focal(gamma=5.0)"]
    assert pick_on_validation(table.iloc[::-1]).iloc[0]["row"] == "tuned"  # order decides ties
    trained = table["row"].isin(["default", "tuned"])
    assert rule_label(pick_on_validation(table, trained).iloc[0]) == "focal(gamma=5.0)"
    # the figure's dots: one per primary row and seed, averaging to the table's diff
    paired = paired_differences(frame, table)
    assert set(paired["label"]) == {"ce + post-hoc τ", "focal(gamma=5.0)"}
    means = paired.groupby("label")["diff"].mean()
    expected = table[table["primary"]].set_index(table[table["primary"]].apply(rule_label, axis=1))
    assert means.to_dict() == pytest.approx(expected["diff"].to_dict())


def test_comparison_table_refuses_p_and_interval_below_three_pairs_and_says_why() -> None:
    frame = _frame({"ce:": _scores([0.5, 0.5]), "focal:": _scores([0.6, 0.6 + 1e-9])})
    table = comparison_table(frame, "macro_f1").set_index(["condition", "row"])
    focal = table.loc[("focal", "default")]
    assert focal["n"] == 2 and np.isnan(focal["p"]) and np.isnan(focal["p_holm"])
    assert (
        np.isnan(focal["ci_low"])
        and "2 paired seed(s): no interval or p below 3" in (focal["note"])
    )


def test_comparison_table_n_counts_the_pairs_tested() -> None:
    # CE has seeds 0-3, focal 0-4 with a NaN score on seed 1: three pairs are tested
    frame = pd.concat(
        [
            _frame({"ce:": _scores([0.5, 0.5, 0.4, 0.5])}),
            _frame({"focal:": _scores([0.6, float("nan"), 0.5, 0.7, 0.9])}),
        ]
    )
    focal = comparison_table(frame, "macro_f1").set_index(["condition", "row"])
    assert focal.loc[("focal", "default"), "n"] == 3
    assert focal.loc[("focal", "default"), "diff"] == pytest.approx((0.1 + 0.1 + 0.2) / 3)


def test_comparison_table_refuses_to_pool_runs_of_different_settings() -> None:
    frame = _frame({"ce:": _scores([0.5] * 3), "focal:": _scores([0.6] * 3)})
    frame["lr_schedule"] = "cosine"
    other = frame.assign(lr_schedule="step", group="other")
    with pytest.raises(ValueError, match=r"ce\(\) seed 0 2 times.*lr_schedule takes"):
        comparison_table(pd.concat([frame, other]), "macro_f1")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"seeds": -2}, r"seeds=-2 is not valid; expected a count >= 1"),
        ({"seeds": [0, 1, 1]}, r"seeds=\[0, 1, 1\] is not valid; .*distinct"),
        ({"seeds": [0, -1]}, r"seeds=\[0, -1\] is not valid"),
        ({"seeds": 2, "tune_seeds": 3}, r"tune_seeds=3 is more than the 2 seeds \[0, 1\]"),
    ],
)
def test_impossible_seeds_are_one_line_errors(change, message) -> None:
    with pytest.raises(ValueError, match=message):
        expand({**_tiny_spec(), **change})


def test_two_experiments_of_one_name_are_an_error() -> None:
    with pytest.raises(ValueError, match="experiment 1: name 'tiny' is already used"):
        expand({"experiments": [_tiny_spec(), _tiny_spec(losses=["ce"])]})


def test_drw_within_the_first_epoch_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"drw_start=0.8 with epochs=1 re-weights from the first"):
        expand({**_tiny_spec(losses=["ldam_drw"]), "base": {**TINY, "epochs": 1}})
    assert TrainConfig(drw_start=0.5, epochs=2).drw_start == 0.5


def test_a_run_shared_by_two_experiments_counts_in_both_tables() -> None:
    spec = {
        "experiments": [
            {"name": "a", "base": TINY, "losses": ["ce"], "seeds": 3},
            {"name": "b", "base": TINY, "losses": ["ce", "focal"], "seeds": 3},
        ]
    }
    rows = []
    for name, config in expand(spec):  # the CE runs are expanded (and credited) once, to "a"
        rows.append(
            {
                "run_id": config.run_id,
                "experiment": name,
                "condition": config.loss,
                "params": "",
                "seed": config.seed,
                "group": config_digest(config.to_dict(), drop=("seed",)),
                "context": "c",
                **_scores(0.5 + 0.1 * (config.loss == "focal") + 0.01 * config.seed),
            }
        )
    frame = pd.DataFrame(rows)
    tables = dict(comparison_tables(spec, frame, "macro_f1"))
    assert set(tables) == {"a", "b"}
    assert "focal" in set(tables["b"]["condition"]) and tables["b"]["n"].max() == 3


def test_a_setting_is_checked_once_and_travels_to_the_worker_as_a_train_config(
    monkeypatch,
) -> None:
    """A setting's loss keywords are checked by building its loss once per setting, not once
    per seed nor again on the way to the worker, which gets the TrainConfig itself."""
    import pickle

    import imbloss.config
    from imbloss.dispatch import for_worker

    real, built = imbloss.config.build_loss, []

    def counted(*args, **kwargs):
        built.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(imbloss.config, "build_loss", counted)
    spec = {**_tiny_spec(("focal",), seeds=3), "tune_seeds": 2}
    spec["grid"] = {"focal": {"gamma": [1.0, 3.0]}}
    runs = expand(spec)
    assert len(runs) == 3 * 2  # the default and two grid points, each on the 2 tuning seeds
    assert len(built) == 3  # one check per setting
    worker = for_worker(runs[-1][1])
    assert isinstance(worker, TrainConfig) and worker.quiet and worker.num_threads == 1
    assert worker.loss_kwargs == {"gamma": 3.0} and worker.run_id == runs[-1][1].run_id
    assert pickle.loads(pickle.dumps(worker)) == worker and len(built) == 3


def test_a_spec_of_the_wrong_type_is_a_type_error_and_an_empty_one_a_value_error() -> None:
    with pytest.raises(TypeError, match="a sweep spec must be a mapping; got list"):
        expand([_tiny_spec()])
    with pytest.raises(TypeError, match="experiments must be a non-empty list; got 'tiny'"):
        expand({"experiments": "tiny"})
    with pytest.raises(TypeError, match="experiment 0 must be a mapping; got 'tiny'"):
        expand({"experiments": ["tiny"]})
    with pytest.raises(ValueError, match=r"experiments must be a non-empty list; got \[\]"):
        expand({"experiments": []})
