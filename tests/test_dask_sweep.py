"""Sweeps on a Dask cluster (run_sweep(..., scheduler=), the spec's scheduler key, the CLI flag).

A two-worker LocalCluster on the loopback interface stands in for a real cluster.
"""

from __future__ import annotations

import json

import pytest
import yaml

from imbloss.cli import main
from imbloss.sweep import run_sweep

distributed = pytest.importorskip("dask.distributed")

TINY = {"dataset": "digits", "epochs": 2, "batch_size": 64, "hidden_size": 16, "device": "cpu"}
SPEC = {"name": "tiny", "base": TINY, "losses": ["ce", "ghm"], "seeds": [0, 1]}
COMPUTED = [
    "run_id",
    "loss",
    "seed",
    "accuracy",
    "balanced_accuracy",
    "macro_f1",
    "val_macro_f1",
    "best_epoch_macro_f1",
    "macro_f1_posthoc",
    "easy_grad_share",
    "head_grad_share",
    "mean_p_t",
]


@pytest.fixture(scope="module")
def scheduler():
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        yield cluster.scheduler_address


@pytest.mark.timeout(120)
def test_a_sweep_on_dask_gives_the_local_results(tmp_path, scheduler):
    local = run_sweep(SPEC, tmp_path / "local", n_jobs=1, quiet=True)
    on_dask = run_sweep(
        {"experiments": [SPEC], "scheduler": scheduler}, tmp_path / "dask", quiet=True
    )
    assert on_dask.attrs["failures"] == [] and len(on_dask) == 4
    by_run = [df[COMPUTED].sort_values("run_id", ignore_index=True) for df in (local, on_dask)]
    assert by_run[0].equals(by_run[1])
    assert sorted(p.name for p in (tmp_path / "dask").glob("*.json")) == sorted(
        f"{run_id}.json" for run_id in on_dask["run_id"]
    )


@pytest.mark.timeout(120)
def test_a_failing_run_on_a_worker_is_reported_and_a_rerun_skips_the_done_ones(
    tmp_path, scheduler, capsys
):
    # a class weight of the wrong length passes the config check and fails in training
    spec = {**SPEC, "losses": ["ce"], "seeds": [0]}
    spec["grid"] = {"ce": {"weight": [[1.0, 2.0]]}}  # beside ce's default, which succeeds
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    args = ["sweep", "--config", str(path), "--results-dir", str(tmp_path / "out")]
    args += ["--scheduler", scheduler, "--quiet"]
    assert main(args) == 1  # the command line reports the failure in a line, no traceback
    err = capsys.readouterr().err
    assert "FAILED digits-ce" in err and "expected length 10" in err and "Traceback" not in err
    (done,) = (tmp_path / "out").glob("*.json")
    assert "-ce-" in done.name
    (failed,) = (tmp_path / "out" / "failed").glob("*.json")
    report = json.loads(failed.read_text())
    assert report["config"]["loss_kwargs"] == {"weight": [1.0, 2.0]}
    assert "Traceback" in report["traceback"]
    written = done.stat().st_mtime_ns

    with pytest.warns(RuntimeWarning, match="1 of 2 runs failed"):
        again = run_sweep(spec, tmp_path / "out", quiet=True, scheduler=scheduler)
    assert done.stat().st_mtime_ns == written  # not run again
    assert list(again["run_id"]) == [done.stem]
    assert [f["run_id"] for f in again.attrs["failures"]] == [failed.stem]


def test_a_bad_scheduler_address_is_named(tmp_path):
    with pytest.raises(ValueError, match=r"scheduler=5 is not valid; expected a Dask scheduler"):
        run_sweep(SPEC, tmp_path, quiet=True, scheduler=5)
