"""Batches as index tensors into a split's padded tensors (no DataLoader).

Each epoch's row order (:func:`imbloss.data.epoch_indices`) is cut into batches; for
sequences, the rows of ``grouping`` consecutive batches are sorted by length before they are
cut (the "megabatch" length grouping of Hugging Face's ``group_by_length``) and the batches
are then shuffled, so the GRU runs fewer time steps per batch; a batch's padding is trimmed
to its longest sequence.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from imbloss.data.base import TensorSplit


@dataclass
class DeviceSplit:
    """A split on the training device; ``lengths`` and ``y_cpu`` stay on the CPU for indexing."""

    x: torch.Tensor
    y: torch.Tensor
    y_cpu: torch.Tensor
    lengths: torch.Tensor | None


def on_device(split: TensorSplit, device: torch.device) -> DeviceSplit:
    """``split`` with its inputs and labels on ``device``."""
    lengths = split.lengths.cpu() if split.lengths is not None else None
    return DeviceSplit(split.x.to(device), split.y.to(device), split.y.cpu(), lengths)


def batch_inputs(split: DeviceSplit, rows: torch.Tensor):
    """The rows' inputs, padding trimmed to the longest of them, and their lengths (CPU)."""
    device_rows = rows.to(split.x.device, non_blocking=True)
    if split.lengths is None:
        return split.x[device_rows], None
    lengths = split.lengths[rows]
    return split.x[device_rows, : int(lengths.max())], lengths


def batches(
    order: torch.Tensor,
    lengths: torch.Tensor | None,
    batch_size: int,
    grouping: int,
    generator: torch.Generator,
) -> list[torch.Tensor]:
    """Cut ``order`` into batches; with ``grouping > 1``, group rows of similar length."""
    if lengths is None or grouping == 1:
        return list(order.split(batch_size))
    out = []
    for chunk in order.split(batch_size * grouping):
        by_length = lengths[chunk].argsort(descending=True, stable=True)
        out.extend(chunk[by_length].split(batch_size))
    return [out[i] for i in torch.randperm(len(out), generator=generator).tolist()]
