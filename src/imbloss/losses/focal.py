"""Focal loss (Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017), softmax form.

Per position ``L = -w_y (1 - p_t)^γ log p_t``: the factor ``(1 - p_t)^γ`` shrinks
the loss of examples already classified well, so training concentrates on the
hard ones. γ = 0 is cross-entropy. As in the paper the gradient flows through
the factor by default (``detach_modulator=False``); the per-class ``weight``
plays the role of the paper's α.

``1 - p_t`` is computed as ``-expm1(log p_t)``, exact even where ``p_t``
rounds to 1, and held at least the smallest normal float, so that the gradient
stays finite at ``p_t -> 1`` for γ < 1, where ``d(1-p)^γ/dp`` is infinite but the
product with ``log p_t`` is not. Plain tensor operations throughout: they fuse
under ``torch.compile`` and have exact second derivatives.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ._checks import check_real
from .core import SoftmaxLoss, modulated_cross_entropy


def _check_gamma(gamma: float) -> None:
    check_real("gamma", gamma, low=0.0, high=float("inf"), high_open=True)


def focal_weight(p, gamma: float = 2.0):
    """The focal factor ``(1 - p)^γ`` of a true-class probability ``p``.

    Takes a tensor (returns a tensor) or a float / array-like (returns NumPy);
    meant for plotting the weight against ``p``.
    """
    _check_gamma(gamma)
    if isinstance(p, torch.Tensor):
        return (1 - p).pow(gamma)
    return np.power(1.0 - np.asarray(p, dtype=float), gamma)


def _focal_factor(log_pt: torch.Tensor, gamma: float) -> torch.Tensor:
    """``(1 - p)^γ`` of ``ℓ = log p_t``, with ``1 - p = -expm1(ℓ)`` held at least the
    smallest normal float: where ``p_t`` rounds to 1 the loss is ``0 * ℓ = 0`` either way,
    and the clamp keeps the derivative ``γ u^(γ-1)`` of the factor finite for γ < 1."""
    u = -torch.expm1(log_pt)
    return u.clamp(min=torch.finfo(u.dtype).tiny).pow(gamma)


def focal_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    gamma: float = 2.0,
    weight: torch.Tensor | Sequence[float] | None = None,
    *,
    detach_modulator: bool = False,
    label_smoothing: float = 0.0,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> torch.Tensor:
    """Softmax focal loss ``-w_y (1 - p_t)^γ log p_t`` (Lin et al. 2017).

    Logits (N, C) or (N, C, d1, ...) and integer targets as for
    ``F.cross_entropy``; ``reduction="mean"`` divides by the sum of ``w_y`` over
    the kept positions. ``gamma=0`` gives ``F.cross_entropy`` exactly.
    ``detach_modulator=True`` stops the gradient through ``(1 - p_t)^γ``, the
    variant of many public implementations. ``label_smoothing=ε`` multiplies the factor of
    the true class's ``p_t`` with the smoothed cross-entropy of ``F.cross_entropy``,
    ``(1 - p_t)^γ ((1 - ε) w_y (-log p_t) + (ε / C) Σ_c w_c (-log p_c))`` (see
    :mod:`imbloss.losses.core` for why this order); ``gamma=0`` then gives
    ``F.cross_entropy(..., label_smoothing=ε)``.
    """
    _check_gamma(gamma)
    return modulated_cross_entropy(
        logits,
        target,
        weight=weight,
        log_pt_modulator=lambda log_pt: _focal_factor(log_pt, gamma),
        detach_modulator=detach_modulator,
        label_smoothing=label_smoothing,
        ignore_index=ignore_index,
        reduction=reduction,
    )


class FocalLoss(SoftmaxLoss):
    """Module form of :func:`focal_loss`."""

    def __init__(
        self,
        gamma: float = 2.0,
        weight: torch.Tensor | Sequence[float] | None = None,
        *,
        detach_modulator: bool = False,
        label_smoothing: float = 0.0,
        ignore_index: int = -100,
        reduction: str = "mean",
    ) -> None:
        super().__init__(
            weight, label_smoothing=label_smoothing, ignore_index=ignore_index, reduction=reduction
        )
        _check_gamma(gamma)
        self.gamma = gamma
        self.detach_modulator = detach_modulator

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return focal_loss(
            logits,
            target,
            self.gamma,
            self.weight,
            detach_modulator=self.detach_modulator,
            label_smoothing=self.label_smoothing,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
        )

    def extra_repr(self) -> str:
        return (
            f"gamma={self.gamma}, detach_modulator={self.detach_modulator}, " + super().extra_repr()
        )
