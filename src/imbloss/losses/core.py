"""The one core every softmax loss in :mod:`imbloss` configures.

Each loss is softmax cross-entropy changed in at most three places::

    L_i = - w_{y_i} * m(p_t,i) * log softmax(s * (z_i + b - Δ * onehot(y_i)))_{y_i}

* ``w_y``: a fixed weight per class (``weight``);
* ``m(p_t)``: an example modulator computed from the true-class probability
  ``p_t`` (``modulator``), with or without gradient through it; a loss whose
  gradient needs its own closed form gives ``log_pt_loss`` instead;
* ``b``, ``Δ``, ``s``: a per-class logit offset, a per-class margin on the true
  class and a scale (``logit_offset``, ``margin``, ``scale``).

With all three neutral this is exactly :func:`torch.nn.functional.cross_entropy`.
``reduction="mean"`` divides by the sum of ``w_y`` over the non-ignored
positions, as ``F.cross_entropy`` does; the modulator is not in the denominator.
A batch with nothing kept gives 0 (with a zero gradient) instead of NaN.

Cost: without a modulator the loss is one fused ``F.cross_entropy`` call; with
one, a few passes over the per-position vector are added. Checking that the
targets are class indices waits for the device once per call (a min/max of the
target), and a given ``weight`` is checked for negative entries.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.function import once_differentiable

from ._checks import check_class_indices, check_class_vector, check_reduction, check_softmax_shapes

Modulator = Callable[[torch.Tensor], torch.Tensor]
LOW_PRECISION = (torch.float16, torch.bfloat16)


def compute_dtype_logits(logits: torch.Tensor) -> torch.Tensor:
    """Half and bfloat16 logits are computed in float32; float32/float64 are kept."""
    return logits.float() if logits.dtype in LOW_PRECISION else logits


def _along_class_axis(
    vector: torch.Tensor | Sequence[float], like: torch.Tensor, name: str
) -> torch.Tensor:
    """A length-C vector shaped (C, 1, ..., 1) to broadcast over (N, C, d1, ...) ``like``."""
    vector = torch.as_tensor(vector, device=like.device, dtype=like.dtype)
    if vector.shape != (like.shape[1],):
        raise ValueError(
            f"{name} has shape {tuple(vector.shape)} but the logits have {like.shape[1]} "
            f"classes; expected shape ({like.shape[1]},)"
        )
    return vector.view(-1, *([1] * (like.dim() - 2)))


def reduce_weighted(
    per_position: torch.Tensor, class_weight: torch.Tensor | None, reduction: str
) -> torch.Tensor:
    """Reduce a loss that already carries its class weight and is zero where ignored.

    ``mean`` divides by ``class_weight.sum()`` (the class weights of the kept
    positions; None means all ones); a batch with nothing kept gives 0, with a
    zero gradient, not NaN.
    """
    if reduction == "none":
        return per_position
    total = per_position.sum()
    if reduction == "sum":
        return total
    return total / _weight_sum(class_weight, per_position.numel())


def _changed_logits(
    z: torch.Tensor,
    scale: float,
    offset: torch.Tensor | None,
    index: torch.Tensor | None,
    shift: torch.Tensor | None,
) -> torch.Tensor:
    """``s * (z + b)`` with ``shift = -s Δ_y`` added at the true class, in at most one pass
    over the logits plus a scatter; ``z`` itself is never written."""
    if offset is not None:
        z = torch.add(offset * scale, z, alpha=scale)
    elif scale != 1.0:
        z = z * scale
    if shift is not None:
        fresh = offset is not None or scale != 1.0
        z = z.scatter_add_(1, index, shift) if fresh else z.scatter_add(1, index, shift)
    return z


class _ScaledLogits(torch.autograd.Function):
    """:func:`_changed_logits` for ``s != 1`` whose backward passes the gradient on
    *without* the factor ``s``.

    ``dL/dz = s * dL/dz'`` would cost a full pass over the (N, C) gradient; the core
    instead multiplies the gradient of the per-position loss (N values) by ``s`` with
    :class:`_GradientTimes`, right after the cross-entropy. Only the pair is exact, and
    only to first order: both refuse a double backward.
    """

    @staticmethod
    def forward(ctx, z, scale, offset, index, shift):
        return _changed_logits(z, scale, offset, index, shift)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        return grad, None, None, None, None


class _GradientTimes(torch.autograd.Function):
    """Identity whose backward multiplies the gradient by ``factor`` (see _ScaledLogits)."""

    @staticmethod
    def forward(ctx, x, factor):
        ctx.factor = factor
        return x.clone()

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        return grad * ctx.factor, None


def modulated_cross_entropy(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    weight: torch.Tensor | Sequence[float] | None = None,
    modulator: Modulator | None = None,
    detach_modulator: bool = False,
    log_pt_loss: Modulator | None = None,
    logit_offset: torch.Tensor | Sequence[float] | None = None,
    margin: torch.Tensor | Sequence[float] | None = None,
    scale: float = 1.0,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> torch.Tensor:
    """Cross-entropy with a class weight, an example modulator and a logit change.

    Args:
        logits: float tensor (N, C) or (N, C, d1, ...). Half and bfloat16 are
            computed in float32 (the result is float32); float64 stays float64.
        target: integer class indices (N) or (N, d1, ...).
        weight: per-class weight ``w`` of length C, or None for ones.
        modulator: function of ``p_t`` giving the per-position factor ``m``.
        detach_modulator: if True, no gradient flows through ``m``.
        log_pt_loss: function of ``log p_t`` giving the whole unweighted
            per-position loss ``-m(p_t) log p_t``; used instead of ``modulator``
            by a loss that supplies its own gradient (focal at ``p_t -> 1``).
        logit_offset: per-class ``b`` added to every logit (length C).
        margin: per-class ``Δ`` subtracted from the true-class logit (length C).
        scale: ``s`` multiplying the changed logits; when ``s != 1`` the gradient is
            first order only (a double backward raises).
        ignore_index: target value whose positions add nothing and get no gradient.
        reduction: ``"mean"`` (sum over the weight sum), ``"sum"`` or ``"none"``
            (the target's shape).
    """
    check_reduction(reduction)
    check_softmax_shapes(logits, target)
    if modulator is not None and log_pt_loss is not None:
        raise ValueError("give modulator or log_pt_loss, not both")
    num_classes = logits.shape[1]
    target = target.long()
    safe_target, keep = check_class_indices(target, num_classes, ignore_index)
    w = check_class_vector(weight, num_classes, "weight")

    z = compute_dtype_logits(logits)
    offset = None if logit_offset is None else _along_class_axis(logit_offset, z, "logit_offset")
    index = shift = None
    if margin is not None:
        minus_delta = _along_class_axis(margin, z, "margin").flatten() * -scale
        index = safe_target.unsqueeze(1)
        shift = minus_delta.index_select(0, safe_target.flatten()).view_as(index)
    if scale == 1.0:
        z = _changed_logits(z, scale, offset, index, shift)
    else:
        z = _ScaledLogits.apply(z, scale, offset, index, shift)

    if w is not None:
        w = w.to(device=z.device, dtype=z.dtype)
    if modulator is None and log_pt_loss is None:
        # one fused kernel weights, masks and sums; "mean" keeps its empty-batch guard
        fused = "sum" if reduction == "mean" else reduction
        loss = F.cross_entropy(z, target, weight=w, ignore_index=ignore_index, reduction=fused)
        if scale != 1.0:
            loss = _GradientTimes.apply(loss, scale)
        if reduction != "mean":
            return loss
        return loss / _weight_sum(_position_weight(w, safe_target, keep, z.dtype), target.numel())

    nll = F.cross_entropy(z, target, ignore_index=ignore_index, reduction="none")
    if scale != 1.0:
        nll = _GradientTimes.apply(nll, scale)
    if log_pt_loss is not None:
        nll = log_pt_loss(-nll)
    else:
        p_t = torch.exp(-nll.detach() if detach_modulator else -nll)
        m = modulator(p_t)
        nll = nll * (m.detach() if detach_modulator else m)
    w_y = _position_weight(w, safe_target, keep, z.dtype)
    return reduce_weighted(nll if w_y is None else nll * w_y, w_y, reduction)


def _position_weight(
    w: torch.Tensor | None, safe_target: torch.Tensor, keep: torch.Tensor | None, dtype
) -> torch.Tensor | None:
    """``w_y`` per position, 0 where ignored; None when it would be all ones."""
    if w is None:
        return None if keep is None else keep.to(dtype)
    w_y = w.index_select(0, safe_target.flatten()).view_as(safe_target)
    return w_y if keep is None else torch.where(keep, w_y, 0.0)


def _weight_sum(w_y: torch.Tensor | None, count: int) -> torch.Tensor | int:
    """``Σ w_y`` over the kept positions (``count`` when all weights are 1), or 1 where
    that is 0: nothing is kept, the loss is 0."""
    if w_y is None:
        return max(count, 1)
    total = w_y.sum()
    return torch.where(total > 0, total, 1)


class SoftmaxLoss(nn.Module):
    """Base of the softmax loss modules: a per-class ``weight`` buffer (moves with ``.to()``;
    assign a new tensor to change it, e.g. for deferred re-weighting), ``ignore_index``
    and ``reduction``."""

    def __init__(
        self,
        weight: torch.Tensor | Sequence[float] | None = None,
        *,
        ignore_index: int = -100,
        reduction: str = "mean",
    ) -> None:
        super().__init__()
        check_reduction(reduction)
        self.register_buffer("weight", check_class_vector(weight, None, "weight"))
        self.ignore_index = ignore_index
        self.reduction = reduction

    def extra_repr(self) -> str:
        return f"ignore_index={self.ignore_index}, reduction={self.reduction!r}"
