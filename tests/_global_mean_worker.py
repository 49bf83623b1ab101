"""Worker for the two-process GlobalBatchMean test (tests/test_global_batch_mean.py).

Lives outside the test module so the spawned processes import only torch and imbloss.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from _gloo import gloo_group
from torch import nn

from imbloss.distributed import GlobalBatchMean
from imbloss.losses import GHMCLoss, build_loss

SPLIT = 13  # rank 0 takes rows [0, SPLIT), rank 1 the rest: uneven on purpose
COUNTS = [200, 50, 9, 4]
WEIGHT = [0.5, 2.0, 1.0, 3.0]


class EveryPositionMean(nn.Module):
    """Cross-entropy whose mean divides by every position, ignored ones included (the
    normalisation of F.cross_entropy's smoothing term before pytorch/pytorch#73205): a loss
    that normalises otherwise than Σ w_y over the kept positions, and says so."""

    def __init__(self, ignore_index: int, reduction: str = "mean") -> None:
        super().__init__()
        self.ignore_index, self.reduction = ignore_index, reduction

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        total = F.cross_entropy(logits, target, ignore_index=self.ignore_index, reduction="sum")
        return total / target.numel() if self.reduction == "mean" else total

    def mean_denominator(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return torch.tensor(target.numel(), dtype=torch.float64)


def make_losses() -> dict:
    """Losses whose mean divides by Σ w_y over kept positions, with a class weight and
    ignored targets, and one whose mean divides by every position."""
    return {
        "every_position_mean": EveryPositionMean(ignore_index=-1),
        "ce": build_loss("ce", weight=WEIGHT, ignore_index=-1),
        "focal": build_loss("cb_focal", class_counts=COUNTS, ignore_index=-1),
        "ldam": build_loss("ldam", class_counts=COUNTS, weight=WEIGHT, ignore_index=-1),
        "ghm": build_loss("ghm", weight=WEIGHT, momentum=0.0, ignore_index=-1),
        "ghm_sigmoid": GHMCLoss(5, 0.0, use_sigmoid=True, weight=WEIGHT, ignore_index=-1),
        "ghm_sigmoid_unweighted": GHMCLoss(5, 0.0, use_sigmoid=True, ignore_index=-1),
    }


def make_batch(name: str) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(11)
    logits = 3 * torch.randn(30, 4, generator=gen, dtype=torch.float64)
    if name.startswith("ghm_sigmoid"):
        target = (torch.rand(30, 4, generator=gen) < 0.3).double()
        target[torch.rand(30, 4, generator=gen) < 0.2] = -1
    else:
        target = torch.randint(0, 4, (30,), generator=gen)
        target[torch.rand(30, generator=gen) < 0.2] = -1
    return logits, target


def shard_rows(rank: int) -> slice:
    return slice(0, SPLIT) if rank == 0 else slice(SPLIT, None)


def run(rank: int, world_size: int, init_file: str, out_dir: str) -> None:
    with gloo_group(rank, world_size, init_file):
        out = {}
        for name, loss_fn in make_losses().items():
            logits, target = make_batch(name)
            shard = logits[shard_rows(rank)].clone().requires_grad_()
            loss, mean = GlobalBatchMean(loss_fn)(shard, target[shard_rows(rank)])
            loss.backward()
            out[name] = {"mean": mean.detach(), "grad": shard.grad}
        torch.save(out, f"{out_dir}/rank{rank}.pt")
