"""Where a sweep's runs train, and the job of one worker: local joblib worker processes
(loky) or the workers of a Dask distributed cluster; the configs that train together as one
job (:func:`groups`), and a worker's job itself (:func:`run_group`), which imports the
trainer only there. :mod:`imbloss.sweep` decides what runs and records what comes back.
"""

from __future__ import annotations

import contextlib
import copy
import multiprocessing
import os
import signal
import threading
import time
import traceback

import joblib
from tqdm.auto import tqdm

from imbloss.config import TrainConfig, stack_key
from imbloss.errors import DeviceError, SchedulerError
from imbloss.runtime import resolve_device

SCHEDULER_TIMEOUT_S = 10  # to connect to a Dask scheduler


def check_devices(devices: set[str]) -> None:
    """Raise DeviceError, before any run starts, for a device this machine does not have."""
    for device in sorted(devices):
        try:
            resolve_device(device)
        except ValueError as error:
            raise DeviceError(
                f"{error}; no run was started: use device 'auto' or 'cpu' "
                "(in a spec: base: {device: auto})"
            ) from None


def for_worker(config: TrainConfig) -> TrainConfig:
    """The config without its progress bar and, unless it sets them, with one torch thread: a
    copy with two runtime fields changed, not checked again (they are a bool and None or a
    count already checked)."""
    worker = copy.copy(config)
    worker.quiet = True
    worker.num_threads = config.num_threads or 1
    return worker


def groups(todo: list[TrainConfig]) -> list[list[TrainConfig]]:
    """The worker jobs: the configs that train together (:func:`imbloss.config.stack_key`,
    the seeds of one digits setting) as one job, every other config alone; in ``todo``'s order."""
    by_key: dict[str, list[TrainConfig]] = {}
    for config in todo:
        by_key.setdefault(stack_key(config) or config.run_id, []).append(config)
    return list(by_key.values())


@contextlib.contextmanager
def backend(scheduler: str | None):
    """Inside the block, joblib sends its jobs to the Dask cluster at ``scheduler`` (if any),
    else to local worker processes that start with :func:`prepare_worker`."""
    if scheduler is None:
        with joblib.parallel_config(backend="loky", initializer=prepare_worker):
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


def prepare_worker() -> None:
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


def stop_workers() -> None:
    """End the local worker processes now: left to the interpreter's exit, their shutdown
    took seconds in which a Ctrl-C was lost."""
    from joblib.externals.loky import get_reusable_executor

    get_reusable_executor().shutdown(wait=True, kill_workers=True)


def run_group(configs: list[TrainConfig]) -> list[dict]:
    """Fit configs in a worker, stacked when there are several: one outcome per config,
    ``{"result", "predictions"}`` or ``{"failure": report}``. The configs come pickled as
    themselves, checked once where they were built."""
    # the trainers are only needed in the workers
    from imbloss.stacked import fit_stacked
    from imbloss.train import fit_and_predict

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
                    "config": config.to_dict(),
                    "error": f"{type(error).__name__}: {error}",
                    "traceback": traceback.format_exc(),
                    "time": time.strftime("%Y-%m-%d %H:%M:%S"),
                }
            }
            for config in configs
        ]
