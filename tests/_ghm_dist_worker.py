"""Worker for the two-process GHM-C test (tests/test_ghm.py::test_distributed_*).

Lives outside the test module so the spawned processes import only torch and imbloss.
"""

from __future__ import annotations

import torch
from _gloo import gloo_group

from imbloss.losses.ghm import GHMCLoss

STEPS = 3
SPLIT = 23  # rank 0 takes rows [0, SPLIT), rank 1 the rest: uneven on purpose
IGNORE = -1


def make_batches() -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Per step: softmax logits (40, 5, 3), class targets, sigmoid logits (40, 4), 0/1 targets."""
    gen = torch.Generator().manual_seed(7)
    batches = []
    for _ in range(STEPS):
        logits = 3 * torch.randn(40, 5, 3, generator=gen)
        target = torch.randint(0, 5, (40, 3), generator=gen)
        target[torch.rand(40, 3, generator=gen) < 0.2] = IGNORE
        sig_logits = 3 * torch.randn(40, 4, generator=gen)
        sig_target = (torch.rand(40, 4, generator=gen) < 0.3).float()
        sig_target[torch.rand(40, 4, generator=gen) < 0.2] = IGNORE
        batches.append((logits, target, sig_logits, sig_target))
    return batches


def make_losses() -> tuple[GHMCLoss, GHMCLoss]:
    softmax = GHMCLoss(
        bins=7, momentum=0.6, bias_correction=True, ignore_index=IGNORE, reduction="none"
    )
    sigmoid = GHMCLoss(
        bins=5, momentum=0.75, use_sigmoid=True, ignore_index=IGNORE, reduction="none"
    )
    return softmax, sigmoid


def run(rank: int, world_size: int, init_file: str, out_dir: str) -> None:
    with gloo_group(rank, world_size, init_file):
        rows = slice(0, SPLIT) if rank == 0 else slice(SPLIT, None)
        softmax, sigmoid = make_losses()
        out = {"softmax": [], "sigmoid": []}
        for logits, target, sig_logits, sig_target in make_batches():
            out["softmax"].append(softmax(logits[rows], target[rows]))
            out["sigmoid"].append(sigmoid(sig_logits[rows], sig_target[rows]))
        out["softmax_state"] = softmax.state_dict()
        out["sigmoid_state"] = sigmoid.state_dict()
        torch.save(out, f"{out_dir}/rank{rank}.pt")
