"""Label-distribution-aware margin loss (Cao et al., "Learning Imbalanced Datasets with
Label-Distribution-Aware Margin Loss", NeurIPS 2019).

Cross-entropy of ``s * (z - Δ_y onehot(y))``: the true-class logit must beat
the others by a class margin ``Δ_c ∝ n_c^{-1/4}``, largest for the rarest
class, where it is ``max_margin``. As in the authors' ``LDAMLoss`` (repository
kaidic/LDAM-DRW) the whole changed logit vector is multiplied by the scale
``s``, and the per-class ``weight`` is the hook for their deferred
re-weighting (DRW): assign ``loss.weight`` later in training.
``max_margin=0, scale=1`` is cross-entropy. The scaled logits are bounded
below ``EXPONENT_BOUND`` under their row maximum (see :mod:`imbloss.losses.core`), which
changes no float32 result and keeps the softmax out of the slow denormal range that
``s = 30`` reaches on unnormalised logits.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from ._checks import check_class_vector, check_real, check_softmax_shapes
from .core import SoftmaxLoss, modulated_cross_entropy


def _check_scale(scale: float) -> None:
    check_real("scale", scale, low=0.0, high=math.inf, low_open=True, high_open=True)


def ldam_margins(
    class_counts: torch.Tensor | Sequence[float], max_margin: float = 0.5
) -> torch.Tensor:
    """Class margins ``Δ_c = max_margin * (n_c / min n)^{-1/4}`` (float32, length C)."""
    check_real("max_margin", max_margin, low=0.0, high=math.inf, high_open=True)
    counts = check_class_vector(class_counts, None, "class_counts", positive=True)
    margins = counts.pow(-0.25)
    return (margins * (max_margin / margins.max())).float()


def ldam_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    class_counts: torch.Tensor | Sequence[float],
    max_margin: float = 0.5,
    scale: float = 30.0,
    weight: torch.Tensor | Sequence[float] | None = None,
    *,
    label_smoothing: float = 0.0,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> torch.Tensor:
    """LDAM loss ``-w_y log softmax(s (z - Δ_y onehot(y)))_y`` (Cao et al. 2019).

    ``class_counts``: positive training count of every class (length C).
    ``max_margin=0, scale=1`` gives ``F.cross_entropy`` exactly. ``label_smoothing=ε``
    smooths the target of the changed logits' softmax, as ``F.cross_entropy`` does.
    """
    _check_scale(scale)
    check_softmax_shapes(logits, target)
    check_class_vector(class_counts, logits.shape[1], "class_counts", positive=True)
    return modulated_cross_entropy(
        logits,
        target,
        weight=weight,
        margin=ldam_margins(class_counts, max_margin),
        scale=scale,
        label_smoothing=label_smoothing,
        ignore_index=ignore_index,
        reduction=reduction,
    )


class LDAMLoss(SoftmaxLoss):
    """Module form of :func:`ldam_loss`; the margins are computed once (buffer)."""

    def __init__(
        self,
        class_counts: torch.Tensor | Sequence[float],
        max_margin: float = 0.5,
        scale: float = 30.0,
        weight: torch.Tensor | Sequence[float] | None = None,
        *,
        label_smoothing: float = 0.0,
        ignore_index: int = -100,
        reduction: str = "mean",
    ) -> None:
        super().__init__(
            weight, label_smoothing=label_smoothing, ignore_index=ignore_index, reduction=reduction
        )
        _check_scale(scale)
        self.max_margin, self.scale = max_margin, scale
        self.register_buffer("margin", ldam_margins(class_counts, max_margin))

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return modulated_cross_entropy(
            logits,
            target,
            weight=self.weight,
            margin=self.margin,
            scale=self.scale,
            label_smoothing=self.label_smoothing,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
        )

    def extra_repr(self) -> str:
        return f"max_margin={self.max_margin}, scale={self.scale}, " + super().extra_repr()
