"""The contract between a dataset module and the trainer: tensors ready to batch."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class TensorSplit:
    """One part (train / val / test) of a dataset as tensors.

    ``x`` is (N, L) int64 character indices padded with 0 for sequences, with
    ``lengths`` (N) int64; or (N, D) float32 features with ``lengths=None``.
    ``y`` is (N) int64 class indices.
    """

    x: torch.Tensor
    y: torch.Tensor
    lengths: torch.Tensor | None = None

    def __len__(self) -> int:
        return int(self.y.shape[0])


@dataclass
class PreparedData:
    """A dataset split and encoded, with what the model and the losses need to know."""

    train: TensorSplit
    val: TensorSplit
    test: TensorSplit
    class_names: list[str]
    kind: str  # "sequence" (character indices) or "features" (dense vectors)
    input_size: int  # vocabulary size (incl. padding and OOV) or feature dimension
    info: dict = field(default_factory=dict)  # what was dropped / merged, vocabulary, ratio ...

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def class_counts(self) -> torch.Tensor:
        """Training-set count of every class (length C, int64): what class-level losses use."""
        return torch.bincount(self.train.y, minlength=self.num_classes)
