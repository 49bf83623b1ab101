"""Run a sweep: every config of a spec (:mod:`imbloss.spec`) not yet in the results folder,
in parallel, each result recorded as it comes.

Runs go to local joblib worker processes or,
with a ``scheduler`` address (the spec's key or ``run_sweep(..., scheduler=)``), to
the workers of a Dask distributed cluster through joblib's Dask backend; the results
are the same. The seeds of one digits setting go to one worker as one job and
train together as one stacked model (:func:`imbloss.stacked.fit_stacked`), several times
cheaper than one run each. The workers return each result (or failure) to this process, which
records it in the results folder's :class:`~imbloss.store.RunStore` as soon as the run
ends, so the workers need no shared file system; a whole run is not run again. A run
that raises is kept as a failure report with its config and traceback, reported in a
warning and in ``frame.attrs["failures"]``; the other runs go on.

A notebook runs the CI profile and compares every condition with CE
(:func:`imbloss.spec.comparison_tables`) with::

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
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import joblib
import pandas as pd

from imbloss import interrupts
from imbloss.config import TrainConfig
from imbloss.dispatch import backend, check_devices, for_worker, groups, run_group, stop_workers
from imbloss.errors import SweepInterrupted
from imbloss.profiles import PROFILES, load_spec  # noqa: F401 - re-exported
from imbloss.progress import progress
from imbloss.results import results_frame
from imbloss.runs import Predictions, RunResult
from imbloss.runtime import check_num_threads, current_versions
from imbloss.spec import comparison_tables, expand, tune_seeds, tuned_runs  # noqa: F401
from imbloss.store import Claim, RunStore

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
            raise TypeError("spec must be a sweep spec mapping or a list of TrainConfig")
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
        check_devices({config.device for _, config in runs})
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
    todo = [for_worker(config) for config, _ in claims.values()]
    failures = []
    try:
        with backend(scheduler if todo else None):
            jobs = joblib.Parallel(
                n_jobs=n_jobs if scheduler is None else -1, return_as="generator_unordered"
            )(joblib.delayed(run_group)(group) for group in groups(todo))
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
            stop_workers()
    return failures


class StaleRunsWarning(UserWarning):
    """Runs reused from another imbloss or torch version."""


def stale_versions(result: RunResult, versions: dict[str, str]) -> list[str]:
    """``"torch 2.3.0"`` for each of ``versions`` that ``result`` was made with another of."""
    made = result.versions
    return [f"{key} {made.get(key)}" for key, value in versions.items() if made.get(key) != value]


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


# --- reading results back --------------------------------------------------------------------


def load_results(results_dir: str | Path) -> pd.DataFrame:
    """Every run in ``results_dir`` as one :func:`imbloss.results.results_frame`."""
    store = RunStore(results_dir)
    return results_frame(store.results(), store=store)
