"""Run losses x seeds (x hyperparameters) in parallel, keep every result, compare with CE.

A sweep spec is a mapping with a list of ``experiments`` (or the keys of one
experiment at the top level)::

    experiments:
      - name: digits                    # a label, kept in the results table
        base: {dataset: digits, epochs: 40, batch_size: 64}   # TrainConfig fields
        losses: all                     # or a list of names from imbloss.losses.LOSSES
        seeds: 3                        # 0, 1, 2; or a list of seeds
        grid: {focal: {gamma: [1, 2]}}  # per loss, lists of loss keywords (cartesian product)
        dataset_grid: {imbalance_ratio: [1, 10, 100]}   # lists of dataset keywords
    scheduler: tcp://10.0.0.5:8786      # optional: run on this Dask cluster

Runs go to local joblib worker processes or, with a ``scheduler`` address (the
spec's key or ``run_sweep(..., scheduler=)``), to the workers of a Dask
distributed cluster through joblib's Dask backend; the results are the same.
The workers return each result (or failure) to this process, which writes
``<results_dir>/<run_id>.json`` (:class:`~imbloss.train.RunResult`) as soon as
the run ends, so the workers need no shared file system; a run whose file
exists is not run again. A run that raises is written to
``<results_dir>/failed/<run_id>.json`` with its config and traceback, reported
in a warning and in ``frame.attrs["failures"]``; the other runs go on.

A notebook runs the CI profile with::

    from imbloss.sweep import PROFILES, run_sweep, summarize, paired_vs_ce
    df = run_sweep(PROFILES["ci"], "results/ci", n_jobs=2)
    summarize(df[df.dataset == "names"], "macro_f1")

and on a Dask cluster (``dask scheduler`` and ``dask worker tcp://HOST:8786 --nthreads 1``
with imbloss installed, e.g. on a few machines) with
``run_sweep(PROFILES["ci"], "results/ci", scheduler="tcp://HOST:8786")``.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import multiprocessing
import signal
import sys
import threading
import time
import traceback
import warnings
from collections.abc import Sequence
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from scipy import stats
from tqdm.auto import tqdm

from imbloss.errors import DeviceError, SweepInterrupted
from imbloss.losses import LOSSES
from imbloss.metrics import SUMMARY_METRICS
from imbloss.profiles import PROFILES, load_spec  # noqa: F401 - re-exported
from imbloss.progress import progress
from imbloss.train import (
    RunResult,
    TrainConfig,
    config_digest,
    fit,
    loss_label,
    loss_params,
    resolve_device,
)

EXPERIMENT_KEYS = ("name", "base", "losses", "seeds", "grid", "dataset_grid")
SPEC_KEYS = ("experiments", "scheduler")

# --- from a spec to a list of configs -------------------------------------------------------


def expand(spec: dict) -> list[tuple[str, TrainConfig]]:
    """Every (experiment name, config) the spec describes, in order, without duplicates."""
    if not isinstance(spec, dict):
        raise ValueError(f"a sweep spec must be a mapping; got {type(spec).__name__}")
    if "experiments" in spec:
        _check_keys("sweep spec", spec, SPEC_KEYS)
        experiments = spec["experiments"]
        if not isinstance(experiments, list) or not experiments:
            raise ValueError(f"experiments must be a non-empty list; got {experiments!r}")
    else:
        experiments = [{k: v for k, v in spec.items() if k != "scheduler"}]
    runs, seen = [], set()
    for i, experiment in enumerate(experiments):
        for config in _expand_experiment(experiment, where=f"experiment {i}"):
            if config.run_id not in seen:
                seen.add(config.run_id)
                runs.append((experiment.get("name", f"experiment{i}"), config))
    return runs


def _expand_experiment(experiment: dict, where: str) -> list[TrainConfig]:
    if not isinstance(experiment, dict):
        raise ValueError(f"{where} must be a mapping; got {experiment!r}")
    _check_keys(where, experiment, EXPERIMENT_KEYS)
    where = f"experiment {experiment.get('name', where)!r}"
    base = dict(experiment.get("base") or {})
    for key in ("loss", "seed", "loss_kwargs"):
        if key in base:
            raise ValueError(f"{where}: base may not set {key!r}; use losses / seeds / grid")
    losses = experiment.get("losses", "all")
    losses = list(LOSSES) if losses == "all" else losses
    if not isinstance(losses, list) or not losses or not set(losses) <= set(LOSSES):
        raise ValueError(
            f"{where}: losses={losses!r} is not valid; expected 'all' or a list "
            f"of names from {LOSSES}"
        )
    seeds = experiment.get("seeds", 3)
    seeds = list(range(seeds)) if isinstance(seeds, int) and not isinstance(seeds, bool) else seeds
    if not isinstance(seeds, list) or not seeds:
        raise ValueError(f"{where}: seeds={seeds!r} is not valid; expected a count or a list")
    grid = experiment.get("grid") or {}
    if not isinstance(grid, dict) or not set(grid) <= set(losses):
        raise ValueError(
            f"{where}: grid keys must be losses of the experiment {losses}; "
            f"got {list(grid) if isinstance(grid, dict) else grid!r}"
        )
    dataset_grid = _product(experiment.get("dataset_grid") or {}, f"{where}: dataset_grid")
    configs = []
    for dataset_kwargs in dataset_grid:
        for loss in losses:
            for loss_kwargs in _product(grid.get(loss, {}), f"{where}: grid[{loss!r}]"):
                for seed in seeds:
                    values = {
                        **base,
                        "dataset_kwargs": {**base.get("dataset_kwargs", {}), **dataset_kwargs},
                        "loss": loss,
                        "loss_kwargs": loss_kwargs,
                        "seed": seed,
                    }
                    try:
                        configs.append(TrainConfig.from_dict(values))
                    except ValueError as error:
                        raise ValueError(f"{where}: {error}") from None
    return configs


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


# --- running --------------------------------------------------------------------------------


def run_sweep(
    spec: dict | Sequence[TrainConfig],
    results_dir: str | Path,
    n_jobs: int = 2,
    *,
    quiet: bool = False,
    scheduler: str | None = None,
) -> pd.DataFrame:
    """Run every config of ``spec`` not already in ``results_dir``; return all their results.

    ``spec`` is a sweep spec (see the module docstring) or a list of
    :class:`~imbloss.train.TrainConfig`. Runs go to ``n_jobs`` joblib worker
    processes, each with one torch thread unless its config sets ``num_threads``; a
    device this machine lacks (``cuda``, ``mps``) is a :class:`~imbloss.errors.DeviceError`
    before any run starts. With a
    ``scheduler`` address (default: the spec's ``scheduler`` key) they go to that Dask
    cluster instead, as many at a time as its workers have threads, each with one
    torch thread (give workers ``--nthreads 1``: the torch thread count is per process);
    ``n_jobs`` is then not used. The frame has one row per finished run
    (:func:`results_frame`); failures are in ``frame.attrs["failures"]``. The
    progress bar (:func:`imbloss.progress.progress`) shows unless ``quiet``. Ctrl-C
    stops the workers and raises :class:`~imbloss.errors.SweepInterrupted`, which says
    how many runs are kept; the same call again runs the rest.
    """
    if isinstance(spec, dict):
        runs = expand(spec)
        scheduler = scheduler or spec.get("scheduler")
    else:
        if not all(isinstance(config, TrainConfig) for config in spec):
            raise ValueError("spec must be a sweep spec mapping or a list of TrainConfig")
        runs = list({config.run_id: ("", config) for config in spec}.values())  # no repeats
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0 or n_jobs < -1:
        raise ValueError(f"n_jobs must be a positive integer or -1; got {n_jobs!r}")
    if scheduler is not None and (not isinstance(scheduler, str) or not scheduler):
        raise ValueError(
            f"scheduler={scheduler!r} is not valid; expected a Dask scheduler address "
            "such as 'tcp://10.0.0.5:8786'"
        )
    results_dir = Path(results_dir)
    (results_dir / "failed").mkdir(parents=True, exist_ok=True)
    todo = [
        _for_worker(config)
        for _, config in runs
        if not (results_dir / f"{config.run_id}.json").exists()
    ]
    if scheduler is None:  # a Dask cluster's workers have devices of their own
        _check_devices({config.device for config in todo})

    failures = []
    with _backend(scheduler if todo else None):
        jobs = joblib.Parallel(
            n_jobs=n_jobs if scheduler is None else -1, return_as="generator_unordered"
        )(joblib.delayed(_run_one)(config.to_dict()) for config in todo)
        bar = progress(
            jobs,
            total=len(todo),
            desc="sweep" if scheduler is None else f"sweep on {scheduler}",
            unit="run",
            quiet=quiet or not todo,
        )
        try:
            for outcome in bar:
                failure = _record(outcome, results_dir)
                if failure is not None:
                    failures.append(failure)
                    bar.write(f"FAILED {failure['run_id']}: {failure['error']}", file=sys.stderr)
        except KeyboardInterrupt:
            # stop the workers; what they were doing is lost, and joblib's note says so
            with warnings.catch_warnings(), contextlib.suppress(Exception):
                warnings.simplefilter("ignore")
                jobs.close()
            bar.close()
            kept = sum((results_dir / f"{c.run_id}.json").exists() for _, c in runs)
            raise SweepInterrupted(
                f"interrupted: {kept} of {len(runs)} runs are kept in {results_dir}; "
                "run the same sweep again to resume (finished runs are not rerun)"
            ) from None
    frame = results_frame(
        [
            RunResult.load(results_dir / f"{c.run_id}.json")
            for _, c in runs
            if (results_dir / f"{c.run_id}.json").exists()
        ],
        experiments={c.run_id: name for name, c in runs},
    )
    frame.attrs["failures"] = failures
    if failures:
        warnings.warn(
            f"{len(failures)} of {len(runs)} runs failed (details in "
            f"{results_dir / 'failed'} and frame.attrs['failures']); first: "
            f"{failures[0]['run_id']}: {failures[0]['error']}",
            RuntimeWarning,
            stacklevel=2,
        )
    return frame


@contextlib.contextmanager
def _backend(scheduler: str | None):
    """Inside the block, joblib sends its jobs to the Dask cluster at ``scheduler`` (if any)."""
    if scheduler is None:
        yield
        return
    from dask.distributed import Client

    with Client(scheduler), joblib.parallel_config(backend="dask"):
        yield


def _check_devices(devices: set[str]) -> None:
    """Raise DeviceError, before any run starts, for a device this machine does not have."""
    for device in sorted(devices):
        try:
            resolve_device(device)
        except ValueError as error:
            raise DeviceError(
                f"{error}; no run was started: use device 'auto' or 'cpu' "
                "(in a spec: base: {device: auto})"
            ) from None


def _for_worker(config: TrainConfig) -> TrainConfig:
    """The config without its progress bar and, unless it sets them, with one torch thread."""
    values = config.to_dict()
    values["quiet"] = True
    if values["num_threads"] is None:
        values["num_threads"] = 1
    return TrainConfig.from_dict(values)


def _run_one(config_dict: dict) -> dict:
    """Fit one config in a worker: ``{"result": RunResult dict}`` or ``{"failure": report}``."""
    _prepare_worker()
    config = TrainConfig.from_dict(config_dict)
    try:
        return {"result": fit(config).to_dict()}
    except Exception as error:  # noqa: BLE001 - reported with its traceback, the sweep goes on
        report = {
            "run_id": config.run_id,
            "config": config_dict,
            "error": f"{type(error).__name__}: {error}",
            "traceback": traceback.format_exc(),
            "time": time.strftime("%Y-%m-%d %H:%M:%S"),
        }
        return {"failure": report}


def _prepare_worker() -> None:
    """In a worker process, leave Ctrl-C to the sweep's process, which then kills the workers.

    A terminal sends Ctrl-C to every process of the command: an interrupted worker would
    print its traceback. A killed worker leaves tqdm's default lock, a semaphore shared
    between processes, behind ("leaked semaphore objects"); a thread lock does for its bars.
    """
    if multiprocessing.parent_process() is not None and (
        threading.current_thread() is threading.main_thread()  # not a Dask worker's thread
    ):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        tqdm.set_lock(threading.RLock())


def _record(outcome: dict, results_dir: Path) -> dict | None:
    """Write a worker's outcome under ``results_dir``; return its failure report or None."""
    if "failure" in outcome:
        report = outcome["failure"]
        (results_dir / "failed" / f"{report['run_id']}.json").write_text(
            json.dumps(report, indent=1)
        )
        return report
    result = RunResult.from_dict(outcome["result"])
    result.save(results_dir / f"{result.run_id}.json")
    (results_dir / "failed" / f"{result.run_id}.json").unlink(missing_ok=True)
    return None


# --- the results table ------------------------------------------------------------------------


def load_results(results_dir: str | Path) -> pd.DataFrame:
    """Every result JSON in ``results_dir`` as one :func:`results_frame`."""
    paths = sorted(Path(results_dir).glob("*.json"))
    return results_frame([RunResult.load(path) for path in paths])


def results_frame(
    results: Sequence[RunResult], experiments: dict[str, str] | None = None
) -> pd.DataFrame:
    """One tidy row per run: its config, test metrics, best-epoch diagnostics and timings.

    Columns: ``run_id``, ``experiment`` (when ``experiments`` maps run ids to
    names), ``dataset``, one column per dataset keyword, ``loss``, ``params``
    (the loss keywords as ``"gamma=2.0"``), ``label`` (``"focal(gamma=2.0)"``),
    ``seed``, ``accuracy``, ``balanced_accuracy``, ``macro_f1``, ``val_macro_f1``,
    ``best_epoch``, ``easy_grad_share``, ``head_grad_share``, ``mean_p_t`` (at the
    best epoch), ``train_s``, ``total_s``, ``examples_per_s``, ``device``, and the
    grouping keys ``group`` (the config without the seed) and ``context`` (without
    seed and loss) that :func:`summarize` and :func:`paired_vs_ce` use.
    """
    rows = []
    for result in results:
        config = result.config
        best = result.history[result.best_epoch - 1]
        row = {"run_id": result.run_id}
        if experiments is not None:
            row["experiment"] = experiments.get(result.run_id, "")
        row.update(
            {
                "dataset": config["dataset"],
                **{k: v for k, v in config["dataset_kwargs"].items() if k != "seed"},
                "loss": config["loss"],
                "params": loss_params(config),
                "label": loss_label(config),
                "seed": config["seed"],
                **{metric: result.test_metrics[metric] for metric in SUMMARY_METRICS},
                "val_macro_f1": result.val_metrics["macro_f1"],
                "best_epoch": result.best_epoch,
                "easy_grad_share": best["easy_grad_share"],
                "head_grad_share": best["head_grad_share"],
                "mean_p_t": best["mean_p_t"],
                "train_s": result.timings["train_s"],
                "total_s": result.timings["total_s"],
                "examples_per_s": result.timings["examples_per_s"],
                "device": result.device,
                "group": config_digest(config, drop=("seed",)),
                "context": config_digest(config, drop=("seed", "loss", "loss_kwargs")),
            }
        )
        rows.append(row)
    return pd.DataFrame(rows)


# --- statistics -------------------------------------------------------------------------------


def _group_columns(df: pd.DataFrame) -> list[str]:
    """The descriptive columns that identify a config up to its seed, plus ``group``."""
    fixed = {
        "run_id",
        "seed",
        "group",
        "context",
        "device",
        "best_epoch",
        "val_macro_f1",
        "easy_grad_share",
        "head_grad_share",
        "mean_p_t",
        "train_s",
        "total_s",
        "examples_per_s",
        *SUMMARY_METRICS,
    }
    return [c for c in df.columns if c not in fixed] + ["group"]


def _check_metric(df: pd.DataFrame, metric: str) -> None:
    if metric not in df.columns or not pd.api.types.is_numeric_dtype(df[metric]):
        numeric = [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c])]
        raise ValueError(f"metric={metric!r} is not a numeric column; expected one of {numeric}")


def bootstrap_mean_interval(
    values: Sequence[float], *, n_boot: int = 10_000, confidence: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``values`` (seeded, so reproducible)."""
    values = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    means = rng.choice(values, size=(n_boot, len(values)), replace=True).mean(axis=1)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


def summarize(
    df: pd.DataFrame, metric: str = "macro_f1", *, n_boot: int = 10_000, seed: int = 0
) -> pd.DataFrame:
    """Per config (over seeds): n, mean, std and a 95 % bootstrap interval of the mean.

    Rows are sorted by decreasing mean. With 3 seeds the interval is coarse: it
    can only be as wide as the seeds' spread allows.
    """
    _check_metric(df, metric)
    keys = _group_columns(df)
    rows = []
    for key, group in df.groupby(keys, sort=False, dropna=False):
        values = group[metric].to_numpy(dtype=float)
        low, high = bootstrap_mean_interval(values, n_boot=n_boot, seed=seed)
        rows.append(
            {
                **dict(zip(keys, key)),
                "n": len(values),
                "mean": values.mean(),
                "std": values.std(ddof=1) if len(values) > 1 else float("nan"),
                "ci_low": low,
                "ci_high": high,
            }
        )
    out = pd.DataFrame(rows).sort_values("mean", ascending=False, kind="stable")
    out.attrs["metric"] = metric
    return out.drop(columns="group").reset_index(drop=True)


def paired_vs_ce(df: pd.DataFrame, metric: str = "macro_f1") -> pd.DataFrame:
    """Each config against plain CE run with the same seeds and the same everything else.

    Pairs are formed by seed within a ``context`` (same dataset, dataset keywords
    and training settings). Reports the number of pairs, the mean and std of the
    paired difference (config minus CE), how often it is better / tied / worse, and the
    two-sided Wilcoxon signed-rank p-value (``scipy.stats.wilcoxon``, exact for
    small n). With n pairs and no ties the smallest possible p is 2 / 2**n: 0.25
    for 3 seeds, so 3 seeds can never reach p < 0.05; report what is measured.
    """
    _check_metric(df, metric)
    keys = _group_columns(df)
    rows = []
    for _, in_context in df.groupby("context", sort=False):
        ce = in_context[(in_context["loss"] == "ce") & (in_context["params"] == "")]
        if ce.empty:
            continue
        ce_by_seed = ce.set_index("seed")[metric]
        for key, group in in_context.drop(ce.index).groupby(keys, sort=False, dropna=False):
            paired = (
                group.set_index("seed")[metric]
                .to_frame("value")
                .join(ce_by_seed.rename("ce"), how="inner")
            )
            diff = (paired["value"] - paired["ce"]).to_numpy(dtype=float)
            if len(diff) == 0:
                continue
            rows.append(
                {
                    **dict(zip(keys, key)),
                    "n_pairs": len(diff),
                    "mean": float(paired["value"].mean()),
                    "ce_mean": float(paired["ce"].mean()),
                    "mean_diff": float(diff.mean()),
                    "std_diff": float(diff.std(ddof=1)) if len(diff) > 1 else float("nan"),
                    "n_better": int((diff > 0).sum()),
                    "n_tied": int((diff == 0).sum()),
                    "n_worse": int((diff < 0).sum()),
                    "wilcoxon_p": _wilcoxon_p(diff),
                }
            )
    columns = [
        *keys,
        "n_pairs",
        "mean",
        "ce_mean",
        "mean_diff",
        "std_diff",
        "n_better",
        "n_tied",
        "n_worse",
        "wilcoxon_p",
    ]
    out = pd.DataFrame(rows, columns=columns)
    out = out.sort_values("mean_diff", ascending=False, kind="stable").reset_index(drop=True)
    out.attrs["metric"] = metric
    return out.drop(columns="group")


def _wilcoxon_p(diff: np.ndarray) -> float:
    """Two-sided Wilcoxon signed-rank p; 1.0 when every difference is zero (nothing to rank)."""
    if not np.any(diff != 0):
        return 1.0
    return float(stats.wilcoxon(diff).pvalue)
