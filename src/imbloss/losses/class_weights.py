r"""Per-class weights computed from the training counts, and the cross-entropy they weight.

* :func:`class_balanced_weights`: :math:`(1 - \beta) / (1 - \beta^{n_c})`, the inverse
  "effective number" of samples (Cui et al., "Class-Balanced Loss Based on
  Effective Number of Samples", CVPR 2019). β = 0 gives equal weights, β -> 1
  approaches inverse frequency.
* :func:`inverse_frequency_weights`: :math:`1 / n_c`.

Both are scaled to mean 1 over the classes (so the loss keeps its size) and are
returned as float32 tensors. The factory builds ``weighted_ce``, ``cb_ce`` and
``cb_focal`` from them.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ._checks import check_class_vector, check_real
from ._docs import shared_docs
from .core import SoftmaxLoss, modulated_cross_entropy


def _mean_one(weights: torch.Tensor) -> torch.Tensor:
    return (weights / weights.mean()).float()


def class_balanced_weights(
    class_counts: torch.Tensor | Sequence[float], beta: float = 0.9999
) -> torch.Tensor:
    r"""Class-balanced weights :math:`(1 - \beta) / (1 - \beta^{n_c})` (Cui et al. 2019),
    scaled to mean 1.

    Args:
        class_counts: the positive training count :math:`n_c` of every class (length C).
        beta: β in [0, 1); 0 gives equal weights, β -> 1 approaches inverse frequency.

    Examples:
        >>> class_balanced_weights([100, 10, 1], beta=0.0)
        tensor([1., 1., 1.])
        >>> w = class_balanced_weights([100, 10, 1], beta=0.999999)
        >>> torch.allclose(w, inverse_frequency_weights([100, 10, 1]), rtol=1e-3)
        True
    """
    check_real("beta", beta, low=0.0, high=1.0, high_open=True)
    counts = check_class_vector(class_counts, None, "class_counts", positive=True)
    # 1 - β^n = -expm1(n log β), exact for β near 1; the constant (1 - β) cancels in the scaling
    effective_number = -torch.expm1(counts * torch.log(torch.tensor(beta, dtype=counts.dtype)))
    return _mean_one(1.0 / effective_number)


def inverse_frequency_weights(class_counts: torch.Tensor | Sequence[float]) -> torch.Tensor:
    r"""Inverse-frequency weights :math:`1 / n_c`, scaled to mean 1.

    Examples:
        >>> inverse_frequency_weights([3, 1])
        tensor([0.5000, 1.5000])
    """
    counts = check_class_vector(class_counts, None, "class_counts", positive=True)
    return _mean_one(1.0 / counts)


@shared_docs
def weighted_cross_entropy(
    logits: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | Sequence[float] | None = None,
    *,
    label_smoothing: float = 0.0,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""Cross-entropy :math:`L = -w_y \log p_t`: ``F.cross_entropy`` except that a batch with
    nothing kept gives 0 (zero gradient) under ``reduction="mean"`` instead of NaN.

    Args:
        $logits_target
        weight: per-class weight ``w`` of length C, or None for ones.
        $smoothing_ignore_reduction

    $softmax_shape

    Examples:
        >>> import torch, torch.nn.functional as F
        >>> z, y = torch.randn(8, 5), torch.randint(0, 5, (8,))
        >>> w = torch.rand(5)
        >>> torch.allclose(weighted_cross_entropy(z, y, w), F.cross_entropy(z, y, weight=w))
        True
        >>> weighted_cross_entropy(z, torch.full((8,), -100))  # nothing kept: 0, not NaN
        tensor(0.)
    """
    return modulated_cross_entropy(
        logits,
        target,
        weight=weight,
        label_smoothing=label_smoothing,
        ignore_index=ignore_index,
        reduction=reduction,
    )


class WeightedCrossEntropyLoss(SoftmaxLoss):
    """Module form of :func:`weighted_cross_entropy` (plain cross-entropy when ``weight=None``);
    its arguments and shapes.

    Examples:
        >>> import torch, torch.nn.functional as F
        >>> z, y = torch.randn(8, 5), torch.randint(0, 5, (8,))
        >>> torch.allclose(WeightedCrossEntropyLoss()(z, y), F.cross_entropy(z, y))
        True
    """

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return weighted_cross_entropy(
            logits,
            target,
            self.weight,
            label_smoothing=self.label_smoothing,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
        )
