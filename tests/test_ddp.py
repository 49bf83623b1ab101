"""Data-parallel training (imbloss.distributed) against one process on the same global batches.

Two gloo processes on the CPU each train on their shard of every global batch; they must
end with the weights, GHM statistics, diagnostics and results of one process.
"""

from __future__ import annotations

import _ddp_worker as worker
import pytest
import torch
import torch.multiprocessing as mp

from imbloss import distributed
from imbloss.train import fit

TIME_KEYS = ("train_s",)


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp")
    mp.spawn(worker.run, args=(2, str(out / "store"), str(out)), nprocs=2)
    return [torch.load(out / f"rank{r}.pt", weights_only=False) for r in range(2)]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("loss", list(worker.LOSS_KWARGS))
def test_two_ranks_end_with_the_weights_of_one_process(ranks, loss):
    data = worker.make_data()
    single = worker.train_epochs(worker.make_config(loss), data)
    for name, value in single["params"].items():
        for r, out in enumerate(ranks):
            torch.testing.assert_close(
                out[loss]["params"][name],
                value,
                atol=1e-5,
                rtol=1e-5,
                msg=lambda m, n=name, r=r: f"rank {r} {n}: {m}",
            )
    for r, out in enumerate(ranks):
        for a, b in zip(out[loss]["diagnostics"], single["diagnostics"]):
            assert a == pytest.approx(b, rel=1e-5), f"rank {r}"


@pytest.mark.timeout(60)
def test_ghm_statistics_are_the_same_on_every_rank_and_as_in_one_process(ranks):
    single = worker.train_epochs(worker.make_config("ghm"), worker.make_data())
    for key, value in single["loss_state"].items():
        assert torch.equal(ranks[0]["ghm"]["loss_state"][key], ranks[1]["ghm"]["loss_state"][key])
        torch.testing.assert_close(ranks[0]["ghm"]["loss_state"][key], value)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("loss", list(worker.LOSS_KWARGS))
def test_fit_on_two_ranks_gives_the_single_process_result(ranks, loss):
    single = fit(worker.make_config(loss), worker.make_data()).to_dict()
    for out in ranks:
        result = out["fit"][loss]
        assert result["selections"] == single["selections"]  # epochs and metrics
        for a, b in zip(result["history"], single["history"]):
            a, b = ({k: v for k, v in h.items() if k not in TIME_KEYS} for h in (a, b))
            assert a == pytest.approx(b, rel=1e-5)


def test_outside_a_process_group_everything_is_the_identity():
    rows = torch.arange(10)
    assert distributed.shard(rows) is rows
    assert distributed.world_size() == 1 and not distributed.active()
    model = torch.nn.Linear(2, 2)
    assert distributed.wrap_model(model, torch.device("cpu")) is model


def test_a_batch_smaller_than_the_world_size_is_refused(monkeypatch):
    monkeypatch.setattr(distributed, "world_size", lambda: 4)
    distributed.check_batches(num_rows=101, batch_size=16)  # last batch 5 >= 4
    with pytest.raises(
        ValueError, match=r"batch_size=16 with 99 training rows leaves a batch of 3"
    ):
        distributed.check_batches(num_rows=99, batch_size=16)


def test_global_batch_mean_needs_a_mean_loss():
    from imbloss.losses import build_loss

    with pytest.raises(ValueError, match="reduction='mean'; got WeightedCrossEntropyLoss"):
        distributed.GlobalBatchMean(build_loss("ce", reduction="sum"))
