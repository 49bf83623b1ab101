"""Logit-adjusted loss (Menon et al., "Long-Tail Learning via Logit Adjustment", ICLR 2021).

Cross-entropy of the shifted logits ``z + τ log π`` with ``π_c = n_c / Σ n`` the
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
from .core import SoftmaxLoss, modulated_cross_entropy


def log_prior_offset(class_counts: torch.Tensor | Sequence[float], tau: float) -> torch.Tensor:
    """The per-class logit offset ``τ log(n_c / Σ n)`` (float32, length C)."""
    check_real("tau", tau, low=-math.inf, high=math.inf, low_open=True, high_open=True)
    counts = check_class_vector(class_counts, None, "class_counts", positive=True)
    return (tau * torch.log(counts / counts.sum())).float()


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
    """Logit-adjusted cross-entropy ``-w_y log softmax(z + τ log π)_y`` (Menon et al. 2021).

    ``class_counts``: positive training count of every class (length C).
    ``tau=1`` is the balanced softmax; ``tau=0`` gives ``F.cross_entropy`` exactly.
    ``label_smoothing=ε`` smooths the target of the shifted logits' softmax, as
    ``F.cross_entropy`` does.
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
    """Module form of :func:`logit_adjusted_loss`; the offset is computed once (buffer)."""

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
