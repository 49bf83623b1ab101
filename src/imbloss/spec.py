"""Sweep specs: their grammar, the configs they expand to, the tuning choice and the
comparison of every condition with CE. No training here: :mod:`imbloss.sweep` runs what a
spec expands to.

A sweep spec is a mapping with a list of ``experiments`` (or the keys of one
experiment at the top level)::

    experiments:
      - name: digits                    # a label, kept in the results table
        base: {dataset: digits, epochs: 200, batch_size: 64}   # TrainConfig fields
        losses: [ce, focal, ldam_drw]   # names from LOSSES or CONDITIONS, or all
        seeds: 10                       # 0..9; or a list of seeds
        tune_seeds: 3                   # the grid runs on seeds 0, 1, 2 only
        grid: {focal: {gamma: [1, 5], label_smoothing: [0, 0.1]}}  # per condition, lists of
                                        # loss keywords (product), or of weight_decay
        defaults_on_every_seed: false   # true: every default on every seed from the start
        dataset_grid: {imbalance_ratio: [1, 10, 100]}   # lists of dataset keywords
    scheduler: tcp://10.0.0.5:8786      # optional: run on this Dask cluster

Each grid point runs on the tuning seeds, a condition's default among them; then, per
target metric, the point with the best mean validation score (the default or another)
runs on every seed (:func:`tuned_runs`). A condition without a grid, and cross-entropy's
default (the baseline every comparison pairs with), run on every seed from the start.
A default that validation does not keep is thus trained on the tuning seeds only: the
runs go to the settings the comparison tests. ``defaults_on_every_seed: true`` trains every
default on every seed instead, for stacked runs (:mod:`imbloss.stacked`), where a setting's
seeds train as one model and a default split between the tuning seeds and the others
would take two.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from imbloss.comparison import BASELINE, comparison_table
from imbloss.config import CONDITIONS, TrainConfig
from imbloss.data import DATASET_KWARGS
from imbloss.losses import LOSSES
from imbloss.results import choose_settings, results_frame
from imbloss.runs import TARGET_METRICS, TUNED_FIELDS, config_digest
from imbloss.store import RunStore

EXPERIMENT_KEYS = (
    "name",
    "base",
    "losses",
    "seeds",
    "tune_seeds",
    "grid",
    "dataset_grid",
    "defaults_on_every_seed",
)
SPEC_KEYS = ("experiments", "scheduler")
DATASET_KEYWORDS = {k for keys in DATASET_KWARGS.values() for k in keys if k != "seed"}

# --- from a spec to a list of configs -------------------------------------------------------


def expand(spec: dict) -> list[tuple[str, TrainConfig]]:
    """Every (experiment name, config) the spec describes before tuning, without duplicates.

    That is each grid point, a condition's default among them, on the tuning seeds, and
    on every seed the default of a condition without a grid and cross-entropy's (the
    baseline); :func:`tuned_runs` adds the chosen points on the other seeds.
    """
    runs, seen = [], set()
    for name, experiment, _ in _experiments(spec):
        for config in _expand_experiment(experiment, where=f"experiment {name!r}"):
            if config.run_id not in seen:
                seen.add(config.run_id)
                runs.append((name, config))
    return runs


def tuned_runs(spec: dict, results_dir: str | Path) -> list[tuple[str, TrainConfig]]:
    """The chosen grid points of every tuned experiment on the seeds beyond the tuning ones.

    For each experiment with ``tune_seeds``, each target metric, context and condition,
    :func:`imbloss.results.choose_settings` picks the grid point from the validation
    scores in ``results_dir``, and it is run on every seed, the default too when validation
    keeps it. The list holds those runs whether or not they are done (:func:`run_sweep`
    skips the done).
    """
    store = RunStore(results_dir)
    runs, seen = [], set()
    for name, experiment, where in _experiments(spec):
        if experiment.get("tune_seeds") is None:
            continue
        configs = _expand_experiment(experiment, where=where)
        frame = results_frame(store.results([c.run_id for c in configs]))
        if frame.empty:
            continue
        by_group = {config_digest(c.to_dict(), drop=("seed",)): c for c in configs}
        frame["template"] = frame["group"].map(by_group)
        seeds = _seeds(experiment, where)
        seen |= {c.run_id for c in configs}  # the tuning seeds' runs are in expand()
        for metric in TARGET_METRICS:
            chosen = choose_settings(frame, metric, tune_seeds(experiment))
            for pick in chosen.itertuples():
                rows = frame[
                    (frame["context"] == pick.context)
                    & (frame["condition"] == pick.condition)
                    & (frame["params"] == pick.params)
                ]
                template = rows["template"].iloc[0]
                for seed in seeds:
                    config = with_seed(template, seed)
                    if config.run_id not in seen:
                        seen.add(config.run_id)
                        runs.append((name, config))
    return runs


def _experiments(spec: dict) -> list[tuple[str, dict, str]]:
    """(name, experiment, where) for every experiment of a spec, checked."""
    if not isinstance(spec, dict):
        raise TypeError(f"a sweep spec must be a mapping; got {type(spec).__name__}")
    if "experiments" in spec:
        _check_keys("sweep spec", spec, SPEC_KEYS)
        experiments = spec["experiments"]
        if not isinstance(experiments, list):
            raise TypeError(f"experiments must be a non-empty list; got {experiments!r}")
        if not experiments:
            raise ValueError(f"experiments must be a non-empty list; got {experiments!r}")
    else:
        experiments = [{k: v for k, v in spec.items() if k != "scheduler"}]
    out = []
    for i, experiment in enumerate(experiments):
        if not isinstance(experiment, dict):
            raise TypeError(f"experiment {i} must be a mapping; got {experiment!r}")
        _check_keys(f"experiment {i}", experiment, EXPERIMENT_KEYS)
        name = experiment.get("name", f"experiment{i}")
        if name in {named for named, _, _ in out}:
            raise ValueError(f"experiment {i}: name {name!r} is already used; give each its own")
        out.append((name, experiment, f"experiment {name!r}"))
    return out


def tune_seeds(experiment: dict) -> list[int]:
    """The seeds an experiment's grid runs on: ``tune_seeds`` (a count: the first ones of
    ``seeds``, or a list), by default every seed."""
    where = f"experiment {experiment.get('name', '')!r}"
    seeds = _seeds(experiment, where)
    if experiment.get("tune_seeds") is None:
        return seeds
    chosen = _seeds(experiment, where, "tune_seeds")
    if isinstance(experiment["tune_seeds"], int):
        if experiment["tune_seeds"] > len(seeds):
            raise ValueError(
                f"{where}: tune_seeds={experiment['tune_seeds']} is more than the "
                f"{len(seeds)} seeds {seeds}; expected at most {len(seeds)}"
            )
        chosen = seeds[: experiment["tune_seeds"]]
    if not set(chosen) <= set(seeds):
        raise ValueError(f"{where}: tune_seeds {chosen} must be among seeds {seeds}")
    return chosen


def _seeds(experiment: dict, where: str, key: str = "seeds", default=3) -> list[int]:
    """The seeds ``key`` names: a count >= 1 (0, 1, ...) or a list of distinct seeds >= 0."""
    given = experiment.get(key, default)
    count = isinstance(given, int) and not isinstance(given, bool)
    seeds = list(range(given)) if count else given
    valid = isinstance(seeds, list) and seeds and (not count or given >= 1)
    valid = valid and all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds)
    if not valid or len(set(seeds)) != len(seeds):
        raise ValueError(
            f"{where}: {key}={given!r} is not valid; expected a count >= 1 or a list of "
            "distinct integers >= 0"
        )
    return seeds


def _expand_experiment(experiment: dict, where: str) -> list[TrainConfig]:
    base = experiment.get("base") or {}
    if not isinstance(base, dict) or not isinstance(base.get("dataset_kwargs", {}), dict):
        raise ValueError(
            f"{where}: base={base!r} is not valid; expected a mapping of TrainConfig fields "
            "(its dataset_kwargs a mapping too)"
        )
    base = dict(base)
    for key in ("loss", "seed", "loss_kwargs", *TUNED_FIELDS):
        if key in base:
            raise ValueError(f"{where}: base may not set {key!r}; use losses / seeds / grid")
    choices = (*LOSSES, *CONDITIONS)
    losses = experiment.get("losses", "all")
    losses = list(LOSSES) if losses == "all" else losses
    if not isinstance(losses, list) or not losses or not set(losses) <= set(choices):
        raise ValueError(
            f"{where}: losses={losses!r} is not valid; expected 'all' or a list "
            f"of names from {choices}"
        )
    seeds = _seeds(experiment, where)
    grid_seeds = tune_seeds(experiment)
    grid = experiment.get("grid") or {}
    if not isinstance(grid, dict) or not set(grid) <= set(losses):
        raise ValueError(
            f"{where}: grid keys must be losses of the experiment {losses}; "
            f"got {list(grid) if isinstance(grid, dict) else grid!r}"
        )
    dataset_grid = _product(experiment.get("dataset_grid") or {}, f"{where}: dataset_grid")
    defaults_on_every_seed = experiment.get("defaults_on_every_seed", False)
    if not isinstance(defaults_on_every_seed, bool):
        raise ValueError(
            f"{where}: defaults_on_every_seed={defaults_on_every_seed!r} is not valid; "
            "expected true or false"
        )
    configs = []
    for dataset_kwargs in dataset_grid:
        for loss in losses:
            points = [
                point for point in _product(grid.get(loss, {}), f"{where}: grid[{loss!r}]") if point
            ]
            # the default: on every seed where nothing competes with it or it is the baseline
            on_every_seed = defaults_on_every_seed or not points or loss == BASELINE
            default_seeds = seeds if on_every_seed else grid_seeds
            points = [({}, default_seeds)] + [(point, grid_seeds) for point in points]
            for point, point_seeds in points:
                values = {
                    **base,
                    **CONDITIONS.get(loss, {"loss": loss}),
                    "dataset_kwargs": {**base.get("dataset_kwargs", {}), **dataset_kwargs},
                    "loss_kwargs": {k: v for k, v in point.items() if k not in TUNED_FIELDS},
                    **{k: v for k, v in point.items() if k in TUNED_FIELDS},
                }
                try:  # one check per setting, whatever its number of seeds
                    template = TrainConfig.from_dict(values)
                except (ValueError, TypeError) as error:
                    raise type(error)(f"{where}: {error}") from None
                configs.extend(with_seed(template, seed) for seed in point_seeds)
    return configs


def with_seed(config: TrainConfig, seed: int) -> TrainConfig:
    """``config`` on ``seed``: a copy with its seed set, not checked again (the config was
    checked when it was built, and a seed of a spec is an integer >= 0, :func:`_seeds`)."""
    other = copy.copy(config)
    other.seed = seed
    return other


def _product(options: dict, where: str) -> list[dict]:
    """The cartesian product of ``{key: [values]}`` as a list of dicts (``[{}]`` for none)."""
    if not isinstance(options, dict) or not all(
        isinstance(v, list) and v for v in options.values()
    ):
        raise ValueError(f"{where} must map each keyword to a non-empty list; got {options!r}")
    keys = list(options)
    return [dict(zip(keys, values)) for values in itertools.product(*options.values())]


def _check_keys(where: str, mapping: dict, valid: Sequence[str]) -> None:
    unknown = sorted(set(mapping) - set(valid))
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}; valid keys are {list(valid)}")


# --- comparing every condition with CE -------------------------------------------------------


def comparison_tables(
    spec: dict, frame: pd.DataFrame, metric: str
) -> list[tuple[str, pd.DataFrame]]:
    """(title, :func:`imbloss.comparison.comparison_table`) for every experiment and context.

    The title names the experiment and its dataset keywords (``"digits imbalance_ratio=100"``);
    each table uses its experiment's tuning seeds; contexts without CE are left out. An
    experiment's runs are those of its configs (and their tuned settings) on its seeds,
    whichever experiment the frame's ``experiment`` column credits a shared run to.
    """
    dataset_keys = [c for c in frame.columns if c in DATASET_KEYWORDS]
    tables = []
    for name, experiment, where in _experiments(spec):
        groups = {
            config_digest(c.to_dict(), drop=("seed",))
            for c in _expand_experiment(experiment, where=where)
        }
        runs = frame[frame["group"].isin(groups) & frame["seed"].isin(_seeds(experiment, where))]
        for _, in_context in runs.groupby("context", sort=False):
            if not (in_context["condition"] == "ce").any():
                continue
            first = in_context.iloc[0]
            keywords = " ".join(
                f"{k}={first[k]}" for k in dataset_keys if k in first and pd.notna(first[k])
            )
            table = comparison_table(in_context, metric, tune_seeds(experiment))
            tables.append((f"{name} {keywords}".strip(), table))
    return tables
