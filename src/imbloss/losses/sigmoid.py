r"""Sigmoid focal loss for binary and multi-label targets (Lin et al., "Focal Loss for Dense
Object Detection", ICCV 2017, the RetinaNet form).

Element-wise, with :math:`p = \sigma(x)`, :math:`p_t = p t + (1 - p)(1 - t)` and
:math:`\alpha_t = \alpha t + (1 - \alpha)(1 - t)`,

.. math::

    L = w_c \alpha_t (1 - p_t)^\gamma \mathrm{BCE}(x, t), \qquad
    \mathrm{BCE} = -(pw_c\, t \log p + (1 - t) \log(1 - p)),

the formula of ``torchvision.ops.sigmoid_focal_loss``, with the same positional
arguments ``(inputs, targets, alpha=0.25, gamma=2.0, reduction="none")``, so that
swapping the import changes no number. A negative ``alpha`` or ``None`` turns α_t off,
as ``alpha=-1`` does in torchvision. Keyword-only extras: ``weight`` (``w_c``, one per
class along dim 1), ``pos_weight`` (``pw_c``, along dim 1, as
``F.binary_cross_entropy_with_logits`` applies it to (N, C) inputs) and
``ignore_index`` (elements whose target equals it add nothing and get no gradient).
``"mean"`` divides the sum by the number of kept elements (by the sum of ``w_c`` over
them when ``weight`` is given); with neither extra that is torchvision's mean, and an
empty input gives 0.

``1 - p_t`` is ``lerp(σ(x), σ(-x), t)``, exact for 0/1 targets even where ``p_t``
rounds to 1, and the gradient is written in closed form,

.. math::

    \frac{dL}{dx} = w_c \alpha_t (1 - p_t)^\gamma
    \left(\gamma r \mathrm{BCE} + \frac{d\mathrm{BCE}}{dx}\right), \qquad
    r = \frac{(1 - 2t) p (1 - p)}{1 - p_t}

which stays finite for saturated logits and any γ >= 0 (the published formula's
gradient is NaN there for γ < 1). It is computed in the forward pass, in place, which
makes forward + backward cheaper than the published formula; under
``create_graph=True`` the backward recomputes it with differentiable operations, so
second derivatives are right for hard and soft targets.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import check_class_vector, check_real, check_reduction, check_sigmoid_inputs
from .core import (
    along_class_axis,
    compute_dtype_logits,
    elementwise_mean_denominator,
    reduce_weighted,
)


def _check_params(alpha: float | None, gamma: float) -> None:
    check_real("gamma", gamma, low=0.0, high=float("inf"), high_open=True)
    if alpha is not None:
        check_real("alpha", alpha, high=1.0)


def _loss_and_grad(x, t, factor, gamma, pos_weight, need_grad):
    """``factor (1 - p_t)^γ BCE`` per element and, if ``need_grad``, its derivative in x."""
    p = torch.sigmoid(x)
    q = torch.sigmoid(-x)
    bce = F.binary_cross_entropy_with_logits(x, t, pos_weight=pos_weight, reduction="none")
    u = torch.lerp(p, q, t)  # 1 - p_t
    modulator = u.pow(gamma)
    if factor is not None:
        modulator.mul_(factor)
    loss = modulator * bce
    if not need_grad:
        return loss, None
    if pos_weight is None:
        d_bce = torch.addcmul(u, t, q, value=-2)  # σ(x) - t as lerp(p, -q, t): exact for 0/1
    else:
        d_bce = torch.lerp(p, -pos_weight * q, t)
    # u = 0 only where p q = 0 (t is 0 or 1 there), so the clamp leaves r = 0 as it should
    r = (p * q).div_(u.clamp(min=torch.finfo(u.dtype).tiny))
    r = torch.addcmul(r, r, t, value=-2)  # (1 - 2t) p q / u
    return loss, torch.addcmul(d_bce, r, bce, value=gamma).mul_(modulator)


class _SigmoidFocal(torch.autograd.Function):
    """The per-element loss of :func:`sigmoid_focal_loss` with its closed-form gradient."""

    @staticmethod
    def forward(ctx, x, t, factor, gamma, pos_weight):
        loss, grad = _loss_and_grad(x, t, factor, gamma, pos_weight, ctx.needs_input_grad[0])
        ctx.save_for_backward(x, t, factor, pos_weight, grad)
        ctx.gamma = gamma
        return loss

    @staticmethod
    def backward(ctx, grad_loss):
        x, t, factor, pos_weight, grad = ctx.saved_tensors
        if torch.is_grad_enabled():  # double backward: a graph from x
            _, grad = _loss_and_grad(x, t, factor, ctx.gamma, pos_weight, True)
        return grad_loss * grad, None, None, None, None


def sigmoid_focal_loss(
    inputs: torch.Tensor,
    targets: torch.Tensor,
    alpha: float | None = 0.25,
    gamma: float = 2.0,
    reduction: str = "none",
    *,
    weight: torch.Tensor | Sequence[float] | None = None,
    pos_weight: torch.Tensor | Sequence[float] | None = None,
    ignore_index: float | None = None,
) -> torch.Tensor:
    r"""Sigmoid focal loss of any shape (Lin et al. 2017),
    :math:`L = w_c \alpha_t (1 - p_t)^\gamma \mathrm{BCE}(x, t)`.

    A drop-in for ``torchvision.ops.sigmoid_focal_loss(inputs, targets, alpha, gamma,
    reduction)``: same arguments, same defaults, same numbers. ``gamma=0, alpha=None`` gives
    ``F.binary_cross_entropy_with_logits``.

    Args:
        inputs: float logits of any shape; (N, C, d1, ...) when ``weight`` or
            ``pos_weight`` is given. Half and bfloat16 are computed in float32.
        targets: labels in [0, 1] of the same shape (0/1 per class for multi-label).
        alpha: α in α_t, at most 1; negative or None for no α_t.
        gamma: γ >= 0; 0 gives BCE (times α_t).
        reduction: ``"none"`` (the inputs' shape), ``"mean"`` or ``"sum"``.
        weight: per-class weight ``w_c`` of length C (dim 1), or None.
        pos_weight: per-class weight ``pw_c`` of the positive term, length C (dim 1).
        ignore_index: target value of elements that add nothing (and leave the mean).

    Shape:
        - inputs: any shape, floating point; :math:`(N, C, d_1, ...)` with ``weight`` or
          ``pos_weight``.
        - targets: the inputs' shape, floating point.
        - output: the inputs' shape with ``reduction="none"`` (the default), else a scalar.

    Examples:
        >>> import torch, torch.nn.functional as F
        >>> x, t = torch.randn(4, 3), torch.randint(0, 2, (4, 3)).float()
        >>> bce = F.binary_cross_entropy_with_logits(x, t, reduction="none")
        >>> torch.allclose(sigmoid_focal_loss(x, t, alpha=None, gamma=0.0), bce)
        True
        >>> p_t = torch.exp(-bce)
        >>> torch.allclose(sigmoid_focal_loss(x, t, alpha=None), (1 - p_t) ** 2 * bce)
        True
    """
    check_reduction(reduction)
    _check_params(alpha, gamma)
    may_ignore = check_sigmoid_inputs(inputs, targets, ignore_index, min_dim=0)
    x = compute_dtype_logits(inputs)
    t = targets.to(x.dtype)
    kept = None
    if may_ignore:
        keep = t != ignore_index
        t = torch.where(keep, t, 0.0)
        kept = keep.to(x.dtype)
    w = _class_vector(weight, x, "weight")
    if w is not None:
        kept = w if kept is None else kept * w
    factor = kept
    if alpha is not None and alpha >= 0:
        alpha_t = torch.lerp(x.new_tensor(1 - alpha), x.new_tensor(alpha), t)
        factor = alpha_t if factor is None else alpha_t * factor
    pw = _class_vector(pos_weight, x, "pos_weight")
    loss = _SigmoidFocal.apply(x, t, factor, gamma, pw)
    return reduce_weighted(loss, None if kept is None else kept.expand_as(loss), reduction)


def _class_vector(value, x: torch.Tensor, name: str) -> torch.Tensor | None:
    """A per-class vector (length C = ``x.shape[1]``) shaped to broadcast along dim 1."""
    if value is None:
        return None
    if x.dim() < 2:
        raise ValueError(
            f"{name} is per class along dim 1, but the inputs have shape {tuple(x.shape)}; "
            "expected (N, C) or (N, C, d1, ...)"
        )
    return along_class_axis(check_class_vector(value, x.shape[1], name), x, name)


class SigmoidFocalLoss(nn.Module):
    """Module form of :func:`sigmoid_focal_loss`; ``weight`` and ``pos_weight`` are buffers.

    Examples:
        >>> import torch, torch.nn.functional as F
        >>> x, t = torch.randn(4, 3), torch.randint(0, 2, (4, 3)).float()
        >>> loss = SigmoidFocalLoss(alpha=None, gamma=0.0, reduction="mean")
        >>> torch.allclose(loss(x, t), F.binary_cross_entropy_with_logits(x, t))
        True
    """

    def __init__(
        self,
        alpha: float | None = 0.25,
        gamma: float = 2.0,
        reduction: str = "none",
        *,
        weight: torch.Tensor | Sequence[float] | None = None,
        pos_weight: torch.Tensor | Sequence[float] | None = None,
        ignore_index: float | None = None,
    ) -> None:
        super().__init__()
        check_reduction(reduction)
        _check_params(alpha, gamma)
        self.alpha, self.gamma, self.reduction = alpha, gamma, reduction
        self.ignore_index = ignore_index
        self.register_buffer("weight", check_class_vector(weight, None, "weight"))
        self.register_buffer("pos_weight", check_class_vector(pos_weight, None, "pos_weight"))

    def forward(self, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return sigmoid_focal_loss(
            inputs,
            targets,
            self.alpha,
            self.gamma,
            self.reduction,
            weight=self.weight,
            pos_weight=self.pos_weight,
            ignore_index=self.ignore_index,
        )

    def mean_denominator(self, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """What ``reduction="mean"`` divides by (float64): ``Σ w_c`` over the kept elements,
        their number without a ``weight``."""
        return elementwise_mean_denominator(targets, self.weight, self.ignore_index)

    def extra_repr(self) -> str:
        return (
            f"alpha={self.alpha}, gamma={self.gamma}, reduction={self.reduction!r}, "
            f"ignore_index={self.ignore_index}"
        )
