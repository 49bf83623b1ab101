"""Focal loss (Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017), softmax form.

Per position ``L = -w_y (1 - p_t)^γ log p_t``: the factor ``(1 - p_t)^γ`` shrinks
the loss of examples already classified well, so training concentrates on the
hard ones. γ = 0 is cross-entropy. As in the paper the gradient flows through
the factor by default (``detach_modulator=False``); the per-class ``weight``
plays the role of the paper's α.

``1 - p_t`` is computed as ``-expm1(log p_t)``, exact even where ``p_t``
rounds to 1, and the gradient is given in closed form (below) so that it stays
finite at ``p_t -> 1`` for γ < 1, where ``d(1-p)^γ/dp`` is infinite but the
product with ``log p_t`` is not.
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


class _FocalNLL(torch.autograd.Function):
    """``ℓ -> -(1 - e^ℓ)^γ ℓ`` of ``ℓ = log p_t``, with its gradient in closed form.

    With ``u = 1 - p = -expm1(ℓ)`` and ``r = ℓ / u`` (smooth, -1 at ``u = 0``)::

        d/dℓ [-u^γ ℓ] = -u^γ (1 - γ p r)          (gradient through the factor)
        d/dℓ [-u^γ ℓ] = -u^γ                      (factor held constant)

    Where ``u`` is 0 (``p_t`` rounds to 1) ``u^γ`` is 0 for γ > 0 and the ``γ p r`` term
    vanishes for γ = 0, so ``r`` may take any finite value there. Under
    ``create_graph=True`` the backward recomputes ``u`` from the saved ``ℓ`` with
    differentiable operations, so second derivatives are right too (away from ``p_t = 1``).
    """

    @staticmethod
    def forward(ctx, log_pt: torch.Tensor, gamma: float, detach: bool) -> torch.Tensor:
        u = torch.expm1(log_pt).neg_()
        factor = u.pow(gamma)
        ctx.save_for_backward(log_pt, u, factor)
        ctx.gamma, ctx.detach = gamma, detach
        return factor * log_pt.neg()

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        log_pt, u, factor = ctx.saved_tensors
        if torch.is_grad_enabled():  # double backward: a graph from ℓ
            u = -torch.expm1(log_pt)
            factor = u.pow(ctx.gamma)
        if ctx.detach:
            return -grad * factor, None, None
        ratio = log_pt / u.clamp(min=torch.finfo(u.dtype).tiny)
        # p = 1 - u is exact where the term matters (p near 1); near p = 0 it vanishes
        return -grad * factor * (1 - ctx.gamma * (1 - u) * ratio), None, None


def focal_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    gamma: float = 2.0,
    weight: torch.Tensor | Sequence[float] | None = None,
    *,
    detach_modulator: bool = False,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> torch.Tensor:
    """Softmax focal loss ``-w_y (1 - p_t)^γ log p_t`` (Lin et al. 2017).

    Logits (N, C) or (N, C, d1, ...) and integer targets as for
    ``F.cross_entropy``; ``reduction="mean"`` divides by the sum of ``w_y`` over
    the kept positions. ``gamma=0`` gives ``F.cross_entropy`` exactly.
    ``detach_modulator=True`` stops the gradient through ``(1 - p_t)^γ``, the
    variant of many public implementations.
    """
    _check_gamma(gamma)
    return modulated_cross_entropy(
        logits,
        target,
        weight=weight,
        log_pt_loss=lambda log_pt: _FocalNLL.apply(log_pt, gamma, detach_modulator),
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
        ignore_index: int = -100,
        reduction: str = "mean",
    ) -> None:
        super().__init__(weight, ignore_index=ignore_index, reduction=reduction)
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
            ignore_index=self.ignore_index,
            reduction=self.reduction,
        )

    def extra_repr(self) -> str:
        return (
            f"gamma={self.gamma}, detach_modulator={self.detach_modulator}, " + super().extra_repr()
        )
