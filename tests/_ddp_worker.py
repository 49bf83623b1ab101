"""Worker for the two-process training test (tests/test_ddp.py).

Lives outside the test module so the spawned processes import only torch and imbloss.
The data and configs are tiny: 101 training rows (an odd count, so the last global
batch splits unevenly over two ranks), batches of 16, two epochs.
"""

from __future__ import annotations

import torch
from _gloo import gloo_group

from imbloss.data.base import PreparedData, TensorSplit
from imbloss.train import TrainConfig, build_run, fit

LOSS_KWARGS = {"ce": {}, "ghm": {"bins": 5, "momentum": 0.75}}


def make_data() -> PreparedData:
    """Long-tailed sequences whose class is their first character; lengths 2 to 8."""
    gen = torch.Generator().manual_seed(3)

    def split(counts: tuple[int, ...]) -> TensorSplit:
        y = torch.cat([torch.full((n,), c) for c, n in enumerate(counts)])
        lengths = torch.randint(2, 9, (len(y),), generator=gen)
        x = torch.randint(5, 12, (len(y), 8), generator=gen)
        x[:, 0] = 2 + y
        x[torch.arange(8)[None, :] >= lengths[:, None]] = 0
        return TensorSplit(x, y, lengths)

    return PreparedData(
        split((61, 28, 12)), split((12, 6, 3)), split((12, 6, 3)), ["a", "b", "c"], "sequence", 12
    )


def make_config(loss: str) -> TrainConfig:
    return TrainConfig(
        dataset="names",
        loss=loss,
        loss_kwargs=LOSS_KWARGS[loss],
        hidden_size=8,
        embedding_dim=4,
        epochs=2,
        batch_size=16,
        length_grouping=2,
        device="cpu",
        quiet=True,
    )


def train_epochs(config: TrainConfig, data: PreparedData) -> dict:
    """Build what :func:`fit` builds (:func:`imbloss.train.build_run`), run its epochs; the
    final weights, loss state, diagnostics."""
    trainer = build_run(config, data, torch.device("cpu"))
    diagnostics = []
    for epoch in range(1, config.epochs + 1):
        trainer.train_epoch(epoch)
        diagnostics.append(trainer.diagnostics.compute())
    return {
        "params": trainer.model.state_dict(),
        "loss_state": trainer.loss_fn.state_dict(),
        "diagnostics": diagnostics,
    }


def run(rank: int, world_size: int, init_file: str, out_dir: str) -> None:
    with gloo_group(rank, world_size, init_file):
        data = make_data()
        out = {loss: train_epochs(make_config(loss), data) for loss in LOSS_KWARGS}
        out["fit"] = {loss: fit(make_config(loss), data).to_dict() for loss in LOSS_KWARGS}
        torch.save(out, f"{out_dir}/rank{rank}.pt")
