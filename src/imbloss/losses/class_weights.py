"""Per-class weights computed from the training counts, and the cross-entropy they weight.

* :func:`class_balanced_weights`: ``(1 - β) / (1 - β^{n_c})``, the inverse
  "effective number" of samples (Cui et al., "Class-Balanced Loss Based on
  Effective Number of Samples", CVPR 2019). β = 0 gives equal weights, β -> 1
  approaches inverse frequency.
* :func:`inverse_frequency_weights`: ``1 / n_c``.

Both are scaled to mean 1 over the classes (so the loss keeps its size) and are
returned as float32 tensors. The factory builds ``weighted_ce``, ``cb_ce`` and
``cb_focal`` from them.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ._checks import check_class_vector, check_real
from .core import SoftmaxLoss, modulated_cross_entropy


def _mean_one(weights: torch.Tensor) -> torch.Tensor:
    return (weights / weights.mean()).float()


def class_balanced_weights(
    class_counts: torch.Tensor | Sequence[float], beta: float = 0.9999
) -> torch.Tensor:
    """Class-balanced weights ``(1 - β) / (1 - β^{n_c})`` (Cui et al. 2019), scaled to mean 1.

    ``class_counts`` are the positive training counts ``n_c``; β in [0, 1).
    """
    check_real("beta", beta, low=0.0, high=1.0, high_open=True)
    counts = check_class_vector(class_counts, None, "class_counts", positive=True)
    # 1 - β^n = -expm1(n log β), exact for β near 1; the constant (1 - β) cancels in the scaling
    effective_number = -torch.expm1(counts * torch.log(torch.tensor(beta, dtype=counts.dtype)))
    return _mean_one(1.0 / effective_number)


def inverse_frequency_weights(class_counts: torch.Tensor | Sequence[float]) -> torch.Tensor:
    """Inverse-frequency weights ``1 / n_c``, scaled to mean 1."""
    counts = check_class_vector(class_counts, None, "class_counts", positive=True)
    return _mean_one(1.0 / counts)


def weighted_cross_entropy(
    logits: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | Sequence[float] | None = None,
    *,
    label_smoothing: float = 0.0,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> torch.Tensor:
    """Cross-entropy ``-w_y log p_t``: ``F.cross_entropy`` except that a batch with
    nothing kept gives 0 (zero gradient) under ``reduction="mean"`` instead of NaN.
    ``label_smoothing=ε`` as in ``F.cross_entropy``."""
    return modulated_cross_entropy(
        logits,
        target,
        weight=weight,
        label_smoothing=label_smoothing,
        ignore_index=ignore_index,
        reduction=reduction,
    )


class WeightedCrossEntropyLoss(SoftmaxLoss):
    """Module form of :func:`weighted_cross_entropy` (plain cross-entropy when ``weight=None``)."""

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return weighted_cross_entropy(
            logits,
            target,
            self.weight,
            label_smoothing=self.label_smoothing,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
        )
