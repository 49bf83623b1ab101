"""Data-parallel training on ``torch.distributed``: the plumbing :func:`imbloss.train.fit` uses.

Under ``torchrun --nproc_per_node=N`` (which sets ``WORLD_SIZE``, ``RANK`` and
``LOCAL_RANK``) every process holds the whole dataset and draws the same global
batches from the same seeded generator; rank ``r`` trains on the rows
``r, r + N, r + 2N, ...`` of each global batch (:func:`shard`). What is
synchronised, and why:

* gradients: ``DistributedDataParallel`` averages them over the ranks after each
  backward, so every rank takes the same optimiser step;
* the loss's normaliser: a loss with ``reduction="mean"`` divides by ``Σ w_y`` of
  its batch; a rank only sees its shard, so :class:`GlobalBatchMean` turns the loss
  back into its sum and divides by ``Σ w_y`` of the *global* batch (one all-reduce per step), times
  ``N`` to undo DDP's averaging: the summed gradient is then that of the
  single-process loss on the global batch, whatever the shard sizes;
* the data statistics of the losses: GHM-C all-reduces its bin counts itself
  (:mod:`imbloss.losses.ghm`); class counts come from the whole training set,
  which every rank holds;
* the epoch's training diagnostics: their sums are all-reduced once per epoch.

Validation and test are not sharded: every rank scores the full splits with the
same weights, so every rank picks the same best epoch; only rank 0 reports.
Outside ``torch.distributed`` every function here is the identity / a no-op.
"""

from __future__ import annotations

import contextlib
import os

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel


def active() -> bool:
    """True inside an initialised process group of more than one process."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def world_size() -> int:
    """Processes in the group (1 outside one)."""
    return dist.get_world_size() if active() else 1


def rank() -> int:
    """This process's rank: from the process group, else from ``RANK`` (0 when unset)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank()
    return _env_int("RANK", 0)


def is_main() -> bool:
    """Whether this process reports (writes results, prints, shows progress): rank 0."""
    return rank() == 0


def launched() -> bool:
    """Whether a launcher such as ``torchrun`` started this process as one of several."""
    return _env_int("WORLD_SIZE", 1) > 1


def rank_device(device: torch.device) -> torch.device:
    """Under a launcher, an unnumbered CUDA device becomes this process's ``cuda:LOCAL_RANK``."""
    if device.type != "cuda" or not launched():
        return device
    if device.index is None:
        device = torch.device("cuda", _env_int("LOCAL_RANK", 0))
    torch.cuda.set_device(device)
    return device


@contextlib.contextmanager
def process_group(device: torch.device):
    """Join the launcher's process group for the block (NCCL on CUDA, gloo otherwise).

    Does nothing when no launcher is present or a group is already initialised (a test
    or a caller that manages its own); only a group created here is destroyed here.
    """
    if not launched() or dist.is_initialized():
        yield
        return
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    try:
        yield
    finally:
        dist.destroy_process_group()


def check_batches(num_rows: int, batch_size: int) -> None:
    """Every global batch must give each rank at least one row.

    The batches of an epoch hold ``batch_size`` rows except the last, which holds
    ``num_rows % batch_size`` (when not 0); both must be at least the world size.
    """
    n = world_size()
    smallest = num_rows % batch_size or batch_size
    if min(smallest, batch_size) < n:
        raise ValueError(
            f"batch_size={batch_size} with {num_rows} training rows leaves a batch of "
            f"{min(smallest, batch_size)} rows for {n} processes; expected every batch to have "
            f"at least {n} rows (choose a batch_size that does not leave a last batch this small)"
        )


def shard(rows: torch.Tensor) -> torch.Tensor:
    """This rank's rows of a global batch: every ``world_size``-th row from ``rank``.

    Strided rather than contiguous, so that length-sorted batches give every rank
    rows of similar length.
    """
    return rows[rank() :: world_size()] if active() else rows


def all_reduce_sum_(tensor: torch.Tensor) -> torch.Tensor:
    """Sum ``tensor`` over the ranks, in place (a no-op in one process); returns it."""
    if active():
        dist.all_reduce(tensor)
    return tensor


def wrap_model(model: nn.Module, device: torch.device) -> nn.Module:
    """``DistributedDataParallel(model)`` in a process group, else ``model`` itself."""
    if not active():
        return model
    device_ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=device_ids)


class GlobalBatchMean(nn.Module):
    """A ``reduction="mean"`` loss made exact over the shards of a global batch.

    The loss's own mean on a shard is ``sum_r / W_r``; the loss says what ``W_r`` is, with
    ``loss_fn.mean_denominator(logits, target)`` (every loss of :mod:`imbloss.losses` has
    it: ``Σ w_y`` over the shard's kept positions for the softmax losses, ``Σ w_c`` over
    the kept elements for the sigmoid ones), so a loss that normalises otherwise is followed
    as it is. Per rank it returns

    * the loss to back-propagate, ``sum_r * N / Σ_r W_r``: DDP divides the summed
      gradients by ``N``, which leaves the gradient of ``Σ_r sum_r / Σ_r W_r``, the
      single-process mean over the global batch;
    * the global batch's mean loss (detached), for reporting.

    ``loss_fn`` is called as it is (its ``reduction`` stays ``"mean"``; its state, e.g.
    GHM-C's statistics, is its own): ``sum_r`` is its mean times ``W_r``. One all-reduce of
    two numbers per call; in one process both outputs are the loss's own mean.
    """

    def __init__(self, loss_fn: nn.Module) -> None:
        super().__init__()
        if getattr(loss_fn, "reduction", None) != "mean":
            raise ValueError(
                f"GlobalBatchMean needs a loss with reduction='mean'; got "
                f"{type(loss_fn).__name__} with reduction={getattr(loss_fn, 'reduction', None)!r}"
            )
        if not callable(getattr(loss_fn, "mean_denominator", None)):
            raise ValueError(
                f"GlobalBatchMean needs a loss that says what its mean divides by; "
                f"{type(loss_fn).__name__} has no method mean_denominator(logits, target)"
            )
        self.loss_fn = loss_fn

    def forward(
        self, logits: torch.Tensor, target: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        mean = self.loss_fn(logits, target)
        local_w = self.loss_fn.mean_denominator(logits, target).to(torch.float64)
        total = mean * local_w.to(mean.dtype)
        sums = all_reduce_sum_(torch.stack([local_w, total.detach().to(torch.float64)]))
        global_w = torch.where(sums[0] > 0, sums[0], 1.0)  # 0: nothing kept, the loss is 0
        loss = total * (world_size() / global_w).to(total.dtype)
        return loss, (sums[1] / global_w).to(total.dtype)


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None:
        return default
    if not value.isdigit():
        raise ValueError(f"environment variable {name}={value!r} is not valid; expected an int")
    return int(value)
