"""Sigmoid focal loss for binary and multi-label targets (Lin et al. 2017, RetinaNet form).

Element-wise ``L = α_t (1 - p_t)^γ BCE(x, t)`` with ``p = σ(x)``,
``p_t = p t + (1 - p)(1 - t)`` and ``α_t = α t + (1 - α)(1 - t)``: the same
numbers as ``torchvision.ops.sigmoid_focal_loss`` (whose ``reduction`` default
is ``"none"``; here it is ``"mean"``, the mean over all elements). A negative
``alpha`` or ``None`` turns the α_t factor off, as ``alpha=-1`` does in torchvision.

``(1 - p_t)^γ`` is evaluated as ``exp(γ log(1 - p_t))`` with
``log(1 - p_t) = logaddexp(log σ(x) + log(1 - t), log σ(-x) + log t)``, which
neither cancels nor underflows, so loss and gradient stay finite for
saturated logits and any γ >= 0. An empty input gives 0 under ``"mean"``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import check_range, check_reduction
from .core import compute_dtype_logits


def _check_sigmoid_inputs(logits: torch.Tensor, target: torch.Tensor) -> None:
    if not isinstance(logits, torch.Tensor) or not logits.is_floating_point():
        raise ValueError(f"logits must be a floating-point tensor; got {type(logits).__name__}")
    if not isinstance(target, torch.Tensor) or target.shape != logits.shape:
        shape = tuple(target.shape) if isinstance(target, torch.Tensor) else type(target).__name__
        raise ValueError(
            f"target must be a tensor of the logits' shape {tuple(logits.shape)}; got {shape}"
        )
    if target.numel():
        lo, hi = torch.stack(torch.aminmax(target.float())).tolist()
        if lo < 0 or hi > 1:
            raise ValueError(
                f"target contains {lo if lo < 0 else hi}; expected probabilities in [0, 1]"
            )


def _check_sigmoid_params(gamma: float, alpha: float | None) -> None:
    check_range("gamma", gamma, 0.0, float("inf"), hi_open=True)
    if alpha is not None:
        check_range("alpha", alpha, -float("inf"), 1.0)


def sigmoid_focal_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    gamma: float = 2.0,
    alpha: float | None = 0.25,
    reduction: str = "mean",
) -> torch.Tensor:
    """Sigmoid focal loss ``α_t (1 - p_t)^γ BCE(x, t)`` of any shape (Lin et al. 2017).

    ``target``: float labels in [0, 1] of the logits' shape (0/1 per class for
    multi-label). Matches ``torchvision.ops.sigmoid_focal_loss(logits, target,
    alpha, gamma, reduction)``. Half and bfloat16 are computed in float32.
    """
    check_reduction(reduction)
    _check_sigmoid_params(gamma, alpha)
    _check_sigmoid_inputs(logits, target)
    x = compute_dtype_logits(logits)
    t = target.to(x.dtype)
    bce = F.binary_cross_entropy_with_logits(x, t, reduction="none")
    log_one_minus_pt = torch.logaddexp(
        F.logsigmoid(x) + torch.log1p(-t), F.logsigmoid(-x) + t.log()
    )
    loss = bce * torch.exp(gamma * log_one_minus_pt)
    if alpha is not None and alpha >= 0:
        loss = loss * (alpha * t + (1 - alpha) * (1 - t))
    if reduction == "none":
        return loss
    total = loss.sum()
    return total if reduction == "sum" else total / max(loss.numel(), 1)


class SigmoidFocalLoss(nn.Module):
    """Module form of :func:`sigmoid_focal_loss`."""

    def __init__(
        self, gamma: float = 2.0, alpha: float | None = 0.25, reduction: str = "mean"
    ) -> None:
        super().__init__()
        check_reduction(reduction)
        _check_sigmoid_params(gamma, alpha)
        self.gamma, self.alpha, self.reduction = gamma, alpha, reduction

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return sigmoid_focal_loss(logits, target, self.gamma, self.alpha, self.reduction)

    def extra_repr(self) -> str:
        return f"gamma={self.gamma}, alpha={self.alpha}, reduction={self.reduction!r}"
