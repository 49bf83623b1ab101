r"""Label-distribution-aware margin loss (Cao et al., "Learning Imbalanced Datasets with
Label-Distribution-Aware Margin Loss", NeurIPS 2019).

Cross-entropy of :math:`s (z - \Delta_y \mathbf{1}_y)`: the true-class logit must beat
the others by a class margin :math:`\Delta_c \propto n_c^{-1/4}`, largest for the rarest
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
from ._docs import shared_docs
from .core import SoftmaxLoss, modulated_cross_entropy


def _check_scale(scale: float) -> None:
    check_real("scale", scale, low=0.0, high=math.inf, low_open=True, high_open=True)


def ldam_margins(
    class_counts: torch.Tensor | Sequence[float], max_margin: float = 0.5
) -> torch.Tensor:
    r"""Class margins :math:`\Delta_c = \Delta_{max} (n_c / \min_k n_k)^{-1/4}` (float32,
    length C), :math:`\Delta_{max}` = ``max_margin``.

    Examples:
        >>> ldam_margins([10000, 1], max_margin=0.5)
        tensor([0.0500, 0.5000])
    """
    check_real("max_margin", max_margin, low=0.0, high=math.inf, high_open=True)
    counts = check_class_vector(class_counts, None, "class_counts", positive=True)
    margins = counts.pow(-0.25)
    return (margins * (max_margin / margins.max())).float()


@shared_docs
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
    r"""LDAM loss (Cao et al. 2019),
    :math:`L = -w_y \log \operatorname{softmax}(s (z - \Delta_y \mathbf{1}_y))_y`.

    ``max_margin=0, scale=1`` gives ``F.cross_entropy`` exactly. ``label_smoothing=ε``
    smooths the target of the changed logits' softmax, as ``F.cross_entropy`` does.

    Args:
        $logits_target
        class_counts: the positive training count :math:`n_c` of every class (length C).
        max_margin: the rarest class's margin :math:`\Delta_{max}` (>= 0).
        scale: :math:`s` > 0, multiplying the changed logits.
        weight: per-class weight ``w`` of length C (the hook of deferred re-weighting).
        $smoothing_ignore_reduction

    $softmax_shape

    Examples:
        >>> import torch, torch.nn.functional as F
        >>> z, y = torch.randn(8, 5), torch.randint(0, 5, (8,))
        >>> counts = [50, 20, 10, 5, 1]
        >>> torch.allclose(ldam_loss(z, y, counts, 0.0, 1.0), F.cross_entropy(z, y))
        True
        >>> margin = ldam_margins(counts, 0.5)
        >>> changed = 30.0 * (z - margin * F.one_hot(y, 5))
        >>> torch.allclose(ldam_loss(z, y, counts, 0.5, 30.0), F.cross_entropy(changed, y))
        True
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
    """Module form of :func:`ldam_loss`; the margins are computed once (buffer).

    Examples:
        >>> import torch, torch.nn.functional as F
        >>> z, y = torch.randn(8, 5), torch.randint(0, 5, (8,))
        >>> loss = LDAMLoss([50, 20, 10, 5, 1], max_margin=0.0, scale=1.0)
        >>> torch.allclose(loss(z, y), F.cross_entropy(z, y))
        True
    """

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
