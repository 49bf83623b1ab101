"""Torch threads: a single run takes the cores left idle, a sweep gives each run one thread."""

from __future__ import annotations

import os

import pytest
import torch

from imbloss import sweep
from imbloss.train import TrainConfig, default_num_threads


@pytest.fixture
def four_threads():
    previous = torch.get_num_threads()
    torch.set_num_threads(4)
    yield
    torch.set_num_threads(previous)


@pytest.mark.parametrize(("load", "threads"), [(0.2, 4), (1.4, 3), (2.0, 2), (3.6, 1), (9.0, 1)])
def test_single_run_takes_the_cores_the_load_leaves_idle(four_threads, monkeypatch, load, threads):
    monkeypatch.setattr(os, "getloadavg", lambda: (load, 0.0, 0.0))
    assert default_num_threads() == threads


def test_without_a_load_average_torch_keeps_its_count(four_threads, monkeypatch) -> None:
    monkeypatch.delattr(os, "getloadavg")  # as on Windows
    assert default_num_threads() == 4


CORES = os.cpu_count() or 1


@pytest.mark.parametrize(("given", "used"), [(None, 1), (CORES, CORES)])
def test_a_sweep_run_gets_one_thread_unless_its_config_sets_them(
    tmp_path, monkeypatch, given, used
) -> None:
    seen = []

    def record(config):
        seen.append(config.num_threads)
        raise RuntimeError("recorded")

    monkeypatch.setattr("imbloss.train.fit_and_predict", record)  # n_jobs=1: in this process
    config = TrainConfig(dataset="digits", epochs=1, num_threads=given, quiet=True)
    with pytest.warns(RuntimeWarning, match="1 of 1 runs failed"):
        sweep.run_sweep([config], tmp_path, n_jobs=1, quiet=True)
    assert seen == [used]
