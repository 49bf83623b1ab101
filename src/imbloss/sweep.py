"""Run conditions x seeds (x hyperparameters) in parallel, keep every result, compare with CE.

A sweep spec is a mapping with a list of ``experiments`` (or the keys of one
experiment at the top level)::

    experiments:
      - name: digits                    # a label, kept in the results table
        base: {dataset: digits, epochs: 200, batch_size: 64}   # TrainConfig fields
        losses: [ce, focal, ldam_drw]   # names from LOSSES or CONDITIONS, or all
        seeds: 10                       # 0..9; or a list of seeds
        tune_seeds: 3                   # the grid runs on seeds 0, 1, 2 only
        grid: {focal: {gamma: [1, 5], label_smoothing: [0, 0.1]}}  # per condition, lists of
                                        # loss keywords (product)
        dataset_grid: {imbalance_ratio: [1, 10, 100]}   # lists of dataset keywords
    scheduler: tcp://10.0.0.5:8786      # optional: run on this Dask cluster

Each condition runs at its defaults on every seed and each grid point on the tuning
seeds; then, per target metric, the grid point with the best mean validation score
runs on every seed (:func:`tuned_runs`). Runs go to local joblib worker processes or,
with a ``scheduler`` address (the spec's key or ``run_sweep(..., scheduler=)``), to
the workers of a Dask distributed cluster through joblib's Dask backend; the results
are the same. The seeds of one digits setting go to one worker as one job and
train together as one stacked model (:func:`imbloss.stacked.fit_stacked`), several times
cheaper than one run each. The workers return each result (or failure) to this process, which
records it in the results folder's :class:`~imbloss.store.RunStore` as soon as the run
ends, so the workers need no shared file system; a whole run is not run again. A run
that raises is kept as a failure report with its config and traceback, reported in a
warning and in ``frame.attrs["failures"]``; the other runs go on.

A notebook runs the CI profile and compares every condition with CE with::

    from imbloss.profiles import PROFILES
    from imbloss.sweep import comparison_tables, run_sweep
    df = run_sweep(PROFILES["ci"], "results/ci", n_jobs=2)
    for title, table in comparison_tables(PROFILES["ci"], df, "balanced_accuracy"):
        print(title)
        print(table)

and on a Dask cluster (``dask scheduler`` and ``dask worker tcp://HOST:8786 --nthreads 1``
with imbloss installed, e.g. on a few machines) with
``run_sweep(PROFILES["ci"], "results/ci", scheduler="tcp://HOST:8786")``.
"""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import joblib
import pandas as pd
import torch
from tqdm.auto import tqdm

from imbloss import __version__, interrupts
from imbloss.config import (
    CONDITIONS,
    DATASET_KWARGS,
    TrainConfig,
    check_num_threads,
    resolve_device,
    stack_key,
)
from imbloss.errors import DeviceError, SchedulerError, SweepInterrupted
from imbloss.losses import LOSSES
from imbloss.profiles import PROFILES, load_spec  # noqa: F401 - re-exported
from imbloss.progress import progress
from imbloss.results import choose_settings, comparison_table, results_frame
from imbloss.runs import TARGET_METRICS, Predictions, RunResult, config_digest
from imbloss.store import Claim, RunStore

EXPERIMENT_KEYS = ("name", "base", "losses", "seeds", "tune_seeds", "grid", "dataset_grid")
SPEC_KEYS = ("experiments", "scheduler")
SCHEDULER_TIMEOUT_S = 10  # to connect to a Dask scheduler
DATASET_KEYWORDS = {k for keys in DATASET_KWARGS.values() for k in keys if k != "seed"}

# --- from a spec to a list of configs -------------------------------------------------------


def expand(spec: dict) -> list[tuple[str, TrainConfig]]:
    """Every (experiment name, config) the spec describes before tuning, without duplicates.

    That is each condition's default on every seed and each grid point on the
    tuning seeds; :func:`tuned_runs` adds the chosen grid points on the other seeds.
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
    scores in ``results_dir``; a pick other than the default is run on every seed. The
    list holds those runs whether or not they are done (:func:`run_sweep` skips the done).
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
            for pick in chosen[~chosen["default"]].itertuples():
                rows = frame[
                    (frame["context"] == pick.context)
                    & (frame["condition"] == pick.condition)
                    & (frame["params"] == pick.params)
                ]
                template = rows["template"].iloc[0].to_dict()
                for seed in seeds:
                    config = TrainConfig.from_dict({**template, "seed": seed})
                    if config.run_id not in seen:
                        seen.add(config.run_id)
                        runs.append((name, config))
    return runs


def _experiments(spec: dict) -> list[tuple[str, dict, str]]:
    """(name, experiment, where) for every experiment of a spec, checked."""
    if not isinstance(spec, dict):
        raise ValueError(f"a sweep spec must be a mapping; got {type(spec).__name__}")
    if "experiments" in spec:
        _check_keys("sweep spec", spec, SPEC_KEYS)
        experiments = spec["experiments"]
        if not isinstance(experiments, list) or not experiments:
            raise ValueError(f"experiments must be a non-empty list; got {experiments!r}")
    else:
        experiments = [{k: v for k, v in spec.items() if k != "scheduler"}]
    out = []
    for i, experiment in enumerate(experiments):
        if not isinstance(experiment, dict):
            raise ValueError(f"experiment {i} must be a mapping; got {experiment!r}")
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
    for key in ("loss", "seed", "loss_kwargs"):
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
    configs = []
    for dataset_kwargs in dataset_grid:
        for loss in losses:
            points = [({}, seeds)] + [
                (point, grid_seeds)
                for point in _product(grid.get(loss, {}), f"{where}: grid[{loss!r}]")
                if point
            ]
            for loss_kwargs, point_seeds in points:
                for seed in point_seeds:
                    values = {
                        **base,
                        **CONDITIONS.get(loss, {"loss": loss}),
                        "dataset_kwargs": {**base.get("dataset_kwargs", {}), **dataset_kwargs},
                        "loss_kwargs": loss_kwargs,
                        "seed": seed,
                    }
                    try:
                        configs.append(TrainConfig.from_dict(values))
                    except (ValueError, TypeError) as error:
                        raise type(error)(f"{where}: {error}") from None
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
    rerun_stale: bool = False,
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
    ``n_jobs`` is then not used. For a spec with ``tune_seeds``, the grid runs first,
    then the chosen settings on the remaining seeds (:func:`tuned_runs`). The folder is a
    :class:`~imbloss.store.RunStore`: a damaged run is moved aside and trained again, and a
    run that another process is training is waited for rather than trained twice. The frame
    has one row per finished run (:func:`imbloss.results.results_frame`, with post-hoc
    scores); failures are in ``frame.attrs["failures"]``. The progress bar
    (:func:`imbloss.progress.progress`) shows unless ``quiet``. Runs made by another imbloss
    or torch version are reused with a :class:`StaleRunsWarning`, or trained again with
    ``rerun_stale``. Ctrl-C at any moment stops
    the workers and raises :class:`~imbloss.errors.SweepInterrupted`, which says how many
    runs are kept; the same call again runs the rest.
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
    store = RunStore(results_dir)
    if scheduler is None:  # a Dask cluster's workers have devices and cores of their own
        _check_devices({config.device for _, config in runs})
        for _, config in runs:
            check_num_threads(config.num_threads)
    with interrupts.recorded():
        try:
            failures = _run_configs(runs, store, n_jobs, scheduler, quiet, "sweep", rerun_stale)
            if isinstance(spec, dict):
                tuned = tuned_runs(spec, store.root)
                runs += tuned
                failures += _run_configs(
                    tuned, store, n_jobs, scheduler, quiet, "sweep: tuned settings", rerun_stale
                )
            results = store.results([c.run_id for _, c in runs])
            frame = results_frame(
                results, experiments={c.run_id: name for name, c in runs}, store=store
            )
            interrupts.check()
        except KeyboardInterrupt:
            kept = sum(store.has(c.run_id) for _, c in runs)
            raise SweepInterrupted(
                f"interrupted: {kept} of {len(runs)} runs are kept in {store.root}; "
                "run the same sweep again to resume (finished runs are not rerun)"
            ) from None
    frame.attrs["failures"] = failures
    versions = current_versions()
    stale = [(r.run_id, stale_versions(r, versions)) for r in results]
    stale = [(run_id, said) for run_id, said in stale if said]
    if stale:
        warnings.warn(
            f"{len(stale)} run(s) in {store.root} were made by another version "
            f"(first: {stale[0][0]}: {', '.join(stale[0][1])}; now {versions}); they are "
            "reused: rerun_stale=True (--rerun-stale) trains them again",
            StaleRunsWarning,
            stacklevel=2,
        )
    if failures:
        warnings.warn(
            f"{len(failures)} of {len(runs)} runs failed (details in "
            f"{store.failures_dir} and frame.attrs['failures']); first: "
            f"{failures[0]['run_id']}: {failures[0]['error']}",
            RuntimeWarning,
            stacklevel=2,
        )
    return frame


def _run_configs(
    runs: list[tuple[str, TrainConfig]],
    store: RunStore,
    n_jobs: int,
    scheduler: str | None,
    quiet: bool,
    desc: str,
    rerun_stale: bool = False,
) -> list[dict]:
    """Train the configs whose runs are not in ``store`` (or are stale, with ``rerun_stale``);
    return the failure reports.

    Each run is trained while this process holds its claim (:meth:`RunStore.claim`). The
    runs another process holds are waited for after the others, one line each, and
    trained only if that process did not record them.
    """
    versions = current_versions()

    def needed(config: TrainConfig) -> bool:
        whole = store.results([config.run_id])
        return not whole or (rerun_stale and bool(stale_versions(whole[0], versions)))

    # seed by seed, so that an interrupted sweep has every condition on its first seeds
    todo = sorted((config for _, config in runs if needed(config)), key=lambda c: c.seed)
    claims, held = _claim(todo, store, needed, desc, wait=False)
    failures = _train(claims, store, n_jobs, scheduler, quiet, desc)
    if held:
        claims, _ = _claim(held, store, needed, desc, wait=True)
        failures += _train(claims, store, n_jobs, scheduler, quiet, desc)
    return failures


def _claim(
    configs: list[TrainConfig],
    store: RunStore,
    needed: Callable[[TrainConfig], bool],
    desc: str,
    wait: bool,
) -> tuple[dict[str, tuple[TrainConfig, Claim]], list[TrainConfig]]:
    """Claim each run still ``needed``: ``({run_id: (config, claim)}, configs held elsewhere)``.

    With ``wait``, a held run is waited for, with a line that says so.
    """
    claims, held = {}, []
    try:
        for config in configs:
            claim = store.claim(config.run_id)
            if claim is None and wait:
                print(
                    f"{desc}: waiting for run {config.run_id}, which another process is training",
                    file=sys.stderr,
                    flush=True,
                )
                claim = store.claim(config.run_id, wait=True)
            if claim is None:
                held.append(config)
            elif not needed(config):  # recorded by another process meanwhile
                claim.release()
            else:
                claims[config.run_id] = (config, claim)
    except BaseException:
        _release(claims)
        raise
    return claims, held


def _release(claims: dict[str, tuple[TrainConfig, Claim]]) -> None:
    for _, claim in claims.values():
        claim.release()


def _train(
    claims: dict[str, tuple[TrainConfig, Claim]],
    store: RunStore,
    n_jobs: int,
    scheduler: str | None,
    quiet: bool,
    desc: str,
) -> list[dict]:
    """Train the claimed runs, record each outcome as it comes; release every claim."""
    todo = [_for_worker(config) for config, _ in claims.values()]
    failures = []
    try:
        with _backend(scheduler if todo else None):
            jobs = joblib.Parallel(
                n_jobs=n_jobs if scheduler is None else -1, return_as="generator_unordered"
            )(joblib.delayed(_run_group)([c.to_dict() for c in group]) for group in _groups(todo))
            bar = progress(
                total=len(todo),
                desc=desc if scheduler is None else f"{desc} on {scheduler}",
                unit="run",
                quiet=quiet or not todo,
            )
            try:
                for outcomes in jobs:
                    for outcome in outcomes:
                        failure = _record(outcome, store)
                        claims.pop(_outcome_run_id(outcome))[1].release()
                        if failure is not None:
                            failures.append(failure)
                            bar.write(
                                f"FAILED {failure['run_id']}: {failure['error']}",
                                file=sys.stderr,
                            )
                    bar.update(len(outcomes))
                    interrupts.check()
                bar.close()
            except KeyboardInterrupt:
                # stop the workers; what they were doing is lost, and joblib's note says so
                with warnings.catch_warnings(), contextlib.suppress(Exception):
                    warnings.simplefilter("ignore")
                    jobs.close()
                bar.close()
                raise
    finally:
        _release(claims)
        if todo and scheduler is None:
            _stop_workers()
    return failures


class StaleRunsWarning(UserWarning):
    """Runs reused from another imbloss or torch version."""


def current_versions() -> dict[str, str]:
    """The versions a run must have been made with to be reused without a note."""
    return {"imbloss": __version__, "torch": torch.__version__}


def stale_versions(result: RunResult, versions: dict[str, str]) -> list[str]:
    """``"torch 2.3.0"`` for each of ``versions`` that ``result`` was made with another of."""
    made = result.versions
    return [f"{key} {made.get(key)}" for key, value in versions.items() if made.get(key) != value]


def _stop_workers() -> None:
    """End the local worker processes now: left to the interpreter's exit, their shutdown
    took seconds in which a Ctrl-C was lost."""
    from joblib.externals.loky import get_reusable_executor

    get_reusable_executor().shutdown(wait=True, kill_workers=True)


@contextlib.contextmanager
def _backend(scheduler: str | None):
    """Inside the block, joblib sends its jobs to the Dask cluster at ``scheduler`` (if any),
    else to local worker processes that start with :func:`_prepare_worker`."""
    if scheduler is None:
        with joblib.parallel_config(backend="loky", initializer=_prepare_worker):
            yield
        return
    from dask.distributed import Client

    try:
        client = Client(scheduler, timeout=SCHEDULER_TIMEOUT_S)
    except OSError as error:
        raise SchedulerError(
            f"scheduler {scheduler}: no answer within {SCHEDULER_TIMEOUT_S} s ({error}); "
            "no run was started: check the address, or run locally without --scheduler"
        ) from None
    with client, joblib.parallel_config(backend="dask"):
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


def _groups(todo: list[TrainConfig]) -> list[list[TrainConfig]]:
    """The worker jobs: the configs that train together (:func:`imbloss.config.stack_key`,
    the seeds of one digits setting) as one job, every other config alone; in ``todo``'s order."""
    groups: dict[str, list[TrainConfig]] = {}
    for config in todo:
        groups.setdefault(stack_key(config) or config.run_id, []).append(config)
    return list(groups.values())


def _run_group(config_dicts: list[dict]) -> list[dict]:
    """Fit configs in a worker, stacked when there are several: one outcome per config,
    ``{"result", "predictions"}`` or ``{"failure": report}``."""
    # the trainers are only needed in the workers
    from imbloss.stacked import fit_stacked
    from imbloss.train import fit_and_predict

    configs = [TrainConfig.from_dict(values) for values in config_dicts]
    try:
        if len(configs) == 1:
            pairs = [fit_and_predict(configs[0])]
        else:
            pairs = fit_stacked(configs)
        return [
            {"result": result.to_dict(), "predictions": predictions.to_arrays()}
            for result, predictions in pairs
        ]
    except Exception as error:  # noqa: BLE001 - reported with its traceback, the sweep goes on
        return [
            {
                "failure": {
                    "run_id": config.run_id,
                    "config": values,
                    "error": f"{type(error).__name__}: {error}",
                    "traceback": traceback.format_exc(),
                    "time": time.strftime("%Y-%m-%d %H:%M:%S"),
                }
            }
            for config, values in zip(configs, config_dicts)
        ]


def _prepare_worker() -> None:
    """Start a local worker: leave Ctrl-C to the sweep's process, which then kills the workers.

    A terminal sends Ctrl-C to every process of the command: an interrupted worker would
    print its traceback. A worker ends itself within a second of its sweep's process
    (:func:`_exit_with_parent`), so a killed sweep leaves no worker behind. A killed worker
    leaves tqdm's default lock, a semaphore shared between processes, behind ("leaked
    semaphore objects"); a thread lock does for its bars.
    """
    if multiprocessing.parent_process() is not None and (
        threading.current_thread() is threading.main_thread()  # not a Dask worker's thread
    ):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        tqdm.set_lock(threading.RLock())
        parent = multiprocessing.parent_process().pid
        threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    """End this worker once its sweep's process is gone (killed, even by SIGKILL)."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


def _record(outcome: dict, store: RunStore) -> dict | None:
    """Write one worker outcome to ``store``; return its failure report or None."""
    if "failure" in outcome:
        store.save_failure(outcome["failure"])
        return outcome["failure"]
    result = RunResult.from_dict(outcome["result"])
    store.save(result, Predictions.from_arrays(outcome["predictions"]))
    return None


def _outcome_run_id(outcome: dict) -> str:
    return outcome["failure" if "failure" in outcome else "result"]["run_id"]


def comparison_tables(
    spec: dict, frame: pd.DataFrame, metric: str
) -> list[tuple[str, pd.DataFrame]]:
    """(title, :func:`imbloss.results.comparison_table`) for every experiment and context.

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


# --- reading results back --------------------------------------------------------------------


def load_results(results_dir: str | Path) -> pd.DataFrame:
    """Every run in ``results_dir`` as one :func:`imbloss.results.results_frame`."""
    store = RunStore(results_dir)
    return results_frame(store.results(), store=store)
