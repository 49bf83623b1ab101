r"""Logit-adjusted loss (Menon et al., "Long-Tail Learning via Logit Adjustment", ICLR 2021).

Cross-entropy of the shifted logits :math:`z + \tau \log \pi` with
:math:`\pi_c = n_c / \sum_k n_k` the
training prior of class c: a frequent class must win by a larger margin, which
turns the softmax into an estimate of the *balanced* posterior. τ = 1 is the
balanced softmax (Ren et al., "Balanced Meta-Softmax for Long-Tailed Visual
Recognition", NeurIPS 2020, who add ``log n_c``, the same up to a constant that
the softmax ignores); τ = 0 is cross-entropy. Predict with the plain logits.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from ._checks import check_class_vector, check_real, check_softmax_shapes
from ._docs import shared_docs
from .core import SoftmaxLoss, modulated_cross_entropy


def log_prior_offset(class_counts: torch.Tensor | Sequence[float], tau: float) -> torch.Tensor:
    r"""The per-class logit offset :math:`\tau \log(n_c / \sum_k n_k)` (float32, length C).

    Examples:
        >>> log_prior_offset([3, 1], tau=1.0)
        tensor([-0.2877, -1.3863])
    """
    check_real("tau", tau, low=-math.inf, high=math.inf, low_open=True, high_open=True)
    counts = check_class_vector(class_counts, None, "class_counts", positive=True)
    return (tau * torch.log(counts / counts.sum())).float()


@shared_docs
def logit_adjusted_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    class_counts: torch.Tensor | Sequence[float],
    tau: float = 1.0,
    weight: torch.Tensor | Sequence[float] | None = None,
    *,
    label_smoothing: float = 0.0,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""Logit-adjusted cross-entropy (Menon et al. 2021),
    :math:`L = -w_y \log \operatorname{softmax}(z + \tau \log \pi)_y`.

    ``tau=1`` is the balanced softmax; ``tau=0`` gives ``F.cross_entropy`` exactly.
    ``label_smoothing=ε`` smooths the target of the shifted logits' softmax, as
    ``F.cross_entropy`` does.

    Args:
        $logits_target
        class_counts: the positive training count :math:`n_c` of every class (length C).
        tau: τ, the strength of the adjustment.
        weight: per-class weight ``w`` of length C, or None for ones.
        $smoothing_ignore_reduction

    $softmax_shape

    Examples:
        >>> import torch, torch.nn.functional as F
        >>> z, y = torch.randn(8, 5), torch.randint(0, 5, (8,))
        >>> counts = torch.tensor([50.0, 20.0, 10.0, 5.0, 1.0])
        >>> torch.allclose(logit_adjusted_loss(z, y, counts, tau=0.0), F.cross_entropy(z, y))
        True
        >>> log_prior = torch.log(counts / counts.sum())
        >>> torch.allclose(logit_adjusted_loss(z, y, counts), F.cross_entropy(z + log_prior, y))
        True
    """
    check_softmax_shapes(logits, target)
    check_class_vector(class_counts, logits.shape[1], "class_counts", positive=True)
    return modulated_cross_entropy(
        logits,
        target,
        weight=weight,
        logit_offset=log_prior_offset(class_counts, tau),
        label_smoothing=label_smoothing,
        ignore_index=ignore_index,
        reduction=reduction,
    )


class LogitAdjustedLoss(SoftmaxLoss):
    """Module form of :func:`logit_adjusted_loss`; the offset is computed once (buffer).

    Examples:
        >>> import torch, torch.nn.functional as F
        >>> z, y = torch.randn(8, 5), torch.randint(0, 5, (8,))
        >>> loss = LogitAdjustedLoss([50, 20, 10, 5, 1], tau=0.0)
        >>> torch.allclose(loss(z, y), F.cross_entropy(z, y))
        True
    """

    def __init__(
        self,
        class_counts: torch.Tensor | Sequence[float],
        tau: float = 1.0,
        weight: torch.Tensor | Sequence[float] | None = None,
        *,
        label_smoothing: float = 0.0,
        ignore_index: int = -100,
        reduction: str = "mean",
    ) -> None:
        super().__init__(
            weight, label_smoothing=label_smoothing, ignore_index=ignore_index, reduction=reduction
        )
        self.tau = tau
        self.register_buffer("logit_offset", log_prior_offset(class_counts, tau))

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return modulated_cross_entropy(
            logits,
            target,
            weight=self.weight,
            logit_offset=self.logit_offset,
            label_smoothing=self.label_smoothing,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
        )

    def extra_repr(self) -> str:
        return f"tau={self.tau}, " + super().extra_repr()
