"""The one core every softmax loss in :mod:`imbloss` configures.

Each loss is softmax cross-entropy changed in at most three places::

    L_i = - w_{y_i} * m(p_t,i) * log softmax(s * (z_i + b - Δ * onehot(y_i)))_{y_i}

* ``w_y``: a fixed weight per class (``weight``);
* ``m(p_t)``: an example modulator computed from the true-class probability
  ``p_t`` (``modulator``), with or without gradient through it;
* ``b``, ``Δ``, ``s``: a per-class logit offset, a per-class margin on the true
  class and a scale (``logit_offset``, ``margin``, ``scale``).

With all three neutral this is exactly :func:`torch.nn.functional.cross_entropy`.
``reduction="mean"`` divides by the sum of ``w_y`` over the non-ignored
positions, as ``F.cross_entropy`` does; the modulator is not in the denominator.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ._checks import check_class_vector, check_reduction, check_softmax_inputs

Modulator = Callable[[torch.Tensor], torch.Tensor]


def flatten_softmax_inputs(
    logits: torch.Tensor, target: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Move the class axis last and flatten: (N, C, d1, ...) -> (M, C), (N, d1, ...) -> (M,)."""
    num_classes = logits.shape[1]
    if logits.dim() > 2:
        logits = logits.movedim(1, -1)
    return logits.reshape(-1, num_classes), target.reshape(-1)


def reduce_weighted(
    per_position: torch.Tensor,
    class_weight: torch.Tensor,
    reduction: str,
    shape: torch.Size,
) -> torch.Tensor:
    """Reduce a loss that already carries its class weight and is zero where ignored.

    ``mean`` divides by ``class_weight.sum()`` (the class weights of the kept
    positions); a batch with nothing kept gives 0, with a zero gradient, not NaN.
    """
    if reduction == "none":
        return per_position.reshape(shape)
    total = per_position.sum()
    if reduction == "sum":
        return total
    denominator = class_weight.sum()
    return total / torch.where(denominator > 0, denominator, torch.ones_like(denominator))


def modulated_cross_entropy(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    weight: torch.Tensor | None = None,
    modulator: Modulator | None = None,
    detach_modulator: bool = False,
    logit_offset: torch.Tensor | None = None,
    margin: torch.Tensor | None = None,
    scale: float = 1.0,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> torch.Tensor:
    """Cross-entropy with a class weight, an example modulator and a logit change.

    Args:
        logits: float tensor (N, C) or (N, C, d1, ...). Half and bfloat16 are
            computed in float32; the result is float32.
        target: integer class indices (N) or (N, d1, ...).
        weight: per-class weight ``w`` of length C, or None for ones.
        modulator: function of ``p_t`` giving the per-position factor ``m``.
        detach_modulator: if True, no gradient flows through ``m``.
        logit_offset: per-class ``b`` added to every logit (length C); the
            calling loss validates it.
        margin: per-class ``Δ`` subtracted from the true-class logit (length C);
            the calling loss validates it.
        scale: ``s`` multiplying the changed logits.
        ignore_index: target value whose positions add nothing.
        reduction: ``"mean"`` (sum over the weight sum), ``"sum"`` or ``"none"``.
    """
    check_reduction(reduction)
    check_softmax_inputs(logits, target, ignore_index)
    num_classes = logits.shape[1]
    out_shape = target.shape
    z, y = flatten_softmax_inputs(logits.float(), target)

    keep = y != ignore_index
    y_safe = torch.where(keep, y, torch.zeros_like(y))
    if logit_offset is not None:
        z = z + torch.as_tensor(logit_offset).to(device=z.device, dtype=z.dtype)
    if margin is not None:
        delta = torch.as_tensor(margin).to(device=z.device, dtype=z.dtype)
        z = z - torch.zeros_like(z).scatter_(1, y_safe[:, None], delta[y_safe][:, None])
    if scale != 1.0:
        z = z * scale

    log_pt = torch.log_softmax(z, dim=1).gather(1, y_safe[:, None]).squeeze(1)
    keep_f = keep.to(z.dtype)
    if weight is None:
        w_y = keep_f
    else:
        w = check_class_vector(weight, num_classes, "weight").to(device=z.device, dtype=z.dtype)
        w_y = w[y_safe] * keep_f

    per_position = -log_pt * w_y
    if modulator is not None:
        p_t = log_pt.detach().exp() if detach_modulator else log_pt.exp()
        m = modulator(p_t)
        if detach_modulator:
            m = m.detach()
        per_position = per_position * m
    return reduce_weighted(per_position, w_y, reduction, out_shape)
