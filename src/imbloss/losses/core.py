r"""The one core every softmax loss in :mod:`imbloss` configures.

Each loss is softmax cross-entropy changed in at most three places:

.. math::

    L_i = - w_{y_i}\, m(p_{t,i}) \log \operatorname{softmax}\big(s (z_i + b
    - \Delta \odot \mathbf{1}_{y_i})\big)_{y_i}

* ``w_y``: a fixed weight per class (``weight``);
* ``m(p_t)``: an example modulator computed from the true-class probability
  ``p_t`` (``modulator``), with or without gradient through it; a loss better
  written in ``log p_t`` (focal, exact as ``p_t -> 1``) gives ``log_pt_modulator`` instead;
* ``b``, ``Δ``, ``s``: a per-class logit offset, a per-class margin on the true
  class and a scale (``logit_offset``, ``margin``, ``scale``).

With all three neutral this is exactly :func:`torch.nn.functional.cross_entropy`.
``reduction="mean"`` divides by the sum of ``w_y`` over the non-ignored
positions, as ``F.cross_entropy`` does (:func:`mean_denominator`, the one rule);
the modulator is not in the denominator. A batch with nothing kept gives 0 (with a
zero gradient) instead of NaN.

Label smoothing (Szegedy et al., "Rethinking the Inception Architecture for Computer
Vision", CVPR 2016) with ``F.cross_entropy``'s semantics: the target is
``(1 - ε) onehot(y) + ε / C`` and, with class weights as torch applies them, the
cross-entropy of a position becomes

.. math:: CE_ε = (1 - ε) w_y (-\log p_y) + \frac{ε}{C} \sum_c w_c (-\log p_c)

taken of the changed logits' softmax; the mean still divides by ``Σ w_y``. Weighting the
uniform part by ``w_c`` rather than ``w_y`` is torch's choice and is disputed
(pytorch/pytorch#104776); it is followed here so that every loss at its neutral setting
equals ``F.cross_entropy(..., label_smoothing=ε)`` (whose ignored positions, wrongly
counted before pytorch/pytorch#73205, are now left out of both parts, as here). A modulated
loss multiplies the *smoothed* cross-entropy by the modulator of the true class's
probability, ``L = m(p_t) CE_ε``: the modulator is the example's weight (how hard the
example is, by the probability of its labelled class), and smoothing changes what the
example is asked to fit, not how hard it is. The per-class alternative
``Σ_c q_c m(p_c) (-log p_c)`` would leave the small off-class terms almost unmodulated
(``m(p_c) ≈ m(0)``) while it shrinks the true-class term of an easy example, so the
smoothing part would dominate exactly the examples focal loss means to quiet.

Cost: without a modulator or a logit change the loss is one fused
``F.cross_entropy`` call (label smoothing included); a modulator adds a few passes over the
per-position vector; a logit offset, margin or scale goes through one custom function
(:class:`_ChangedNLL`) that allocates two (N, C) tensors per step where
``F.cross_entropy`` allocates three, writes its gradient in one pass and bounds the
exponent range (``EXPONENT_BOUND``); under ``torch.compile`` the change is plain
broadcasting operations instead (:func:`_changed_logits` without a scatter; with a scale,
the same bound, :func:`_bounded_nll`), which inductor fuses with the cross-entropy. With
label smoothing a change is always plain operations and a modulated loss takes one
``log_softmax`` (the uniform part needs every class's log-probability).
Checking that the targets are class indices waits for the device once per call
(a min/max of the target), as does checking a given ``weight`` for negative
entries; both checks are skipped while ``torch.compile`` traces, so every loss
compiles with ``fullgraph=True``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import (
    check_class_indices,
    check_class_vector,
    check_label_smoothing,
    check_reduction,
    check_softmax_shapes,
)
from ._docs import shared_docs

Modulator = Callable[[torch.Tensor], torch.Tensor]
LOW_PRECISION = (torch.float16, torch.bfloat16)


def compute_dtype_logits(logits: torch.Tensor) -> torch.Tensor:
    """Half and bfloat16 logits are computed in float32; float32/float64 are kept."""
    return logits.float() if logits.dtype in LOW_PRECISION else logits


def along_class_axis(
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
    per_position: torch.Tensor,
    class_weight: torch.Tensor | None,
    reduction: str,
    *,
    count: torch.Tensor | None = None,
) -> torch.Tensor:
    """Reduce a loss that already carries its class weight and is zero where ignored.

    ``mean`` divides by ``class_weight.sum()`` (the class weights of the kept
    positions); with ``class_weight=None`` by the number of kept positions, ``count``
    (a number or the boolean mask of the kept positions; every position when None). A
    batch with nothing kept gives 0, with a zero gradient, not NaN. ``per_position`` may
    be a sum already when ``reduction="mean"``.
    """
    if reduction == "none":
        return per_position
    total = per_position.sum()
    if reduction == "sum":
        return total
    if class_weight is not None:
        return total / _weight_sum(class_weight)
    if count is None:
        return total / max(per_position.numel(), 1)
    if count.dtype == torch.bool:
        count = count.sum()
    return total / torch.where(count > 0, count, 1).to(total.dtype)


EXPONENT_BOUND = 50.0
"""Scaled logits more than ``EXPONENT_BOUND`` below their row maximum are raised to that
bound before the softmax: their terms, under ``e^-50 ≈ 2e-22`` of the largest, cannot change
a float32 sum, so the loss is unchanged (the true class's logit enters it unbounded), and a
gradient entry moves by at most ``s e^-50`` times the upstream gradient. The bound keeps every
exponential out of the range below ``e^-87``, where x86 arithmetic is many times slower
(denormal results, and ``exp`` of large negative arguments) and which a scale such as
LDAM's ``s = 30`` otherwise reaches on many terms."""


def _changed_logits(
    z: torch.Tensor,
    index: torch.Tensor,
    scale: float,
    offset: torch.Tensor | None,
    shift: torch.Tensor | None,
    *,
    scatter: bool = True,
) -> torch.Tensor:
    """``s (z + b)`` with ``shift = -s Δ_y`` added at the true class ``index``; a fresh tensor.
    With ``scatter=False`` the true class is found by comparison (:func:`_true_class`), in
    broadcasting operations only, which inductor fuses with the cross-entropy (it would not
    fuse the scatter)."""
    if offset is not None:
        t = torch.add(offset * scale, z, alpha=scale)
    else:
        t = z * scale if scale != 1.0 else z.clone()
    if shift is None:
        return t
    if scatter:
        return t.scatter_add_(1, index, shift)
    return torch.where(_true_class(t, index), t + shift, t)


def _true_class(t: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """The boolean mask of the class ``index`` (N, 1, d1, ...) along dim 1 of ``t``."""
    classes = torch.arange(t.shape[1], device=t.device)
    return classes.view(-1, *([1] * (t.dim() - 2))) == index


def _bounded_nll(t: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``-log softmax(t)`` at the true class ``index``, with the exponentials bounded as in
    :class:`_ChangedNLL` (the true logit enters the loss unbounded): its loss, and its
    gradient up to ``s e^-50``, in plain operations that inductor fuses."""
    t = t - t.detach().amax(1, keepdim=True)  # a shift per row: no change to the softmax
    total = t.clamp(min=-EXPONENT_BOUND).exp().sum(1)
    return total.log() - torch.where(_true_class(t, index), t, 0.0).sum(1)


class _ChangedNLL(torch.autograd.Function):
    """``-log softmax(t)_y`` per position of the changed logits ``t = s (z + b) - s Δ_y``
    (:func:`_changed_logits`), bounded by ``EXPONENT_BOUND`` below their row maximum.

    It allocates two (N, C) tensors per step, the changed logits (turned into their
    exponentials in place) and the gradient, where ``F.cross_entropy`` of a changed copy
    of the logits allocates four (the copy, the log-probabilities, and two in backward);
    on the CPU the fresh pages of each large tensor cost about as much as a pass over it.
    The backward writes ``s (softmax(t) - onehot(y)) g`` in one pass from the saved
    exponentials. Under ``create_graph=True`` it recomputes them, unbounded, with
    differentiable operations, so second derivatives are right too.
    """

    @staticmethod
    def forward(ctx, z, index, scale, offset, shift):
        t = _changed_logits(z, index, scale, offset, shift)
        t.sub_(t.amax(1, keepdim=True))  # in place: the softmax ignores a shift per row
        true = t.gather(1, index)
        exp = t.clamp_(min=-EXPONENT_BOUND).exp_()
        total = exp.sum(1, keepdim=True)
        ctx.save_for_backward(z, index, offset, shift, exp, total)
        ctx.scale = scale
        return (total.log() - true).squeeze(1)

    @staticmethod
    def backward(ctx, grad):
        z, index, offset, shift, exp, total = ctx.saved_tensors
        coef = (grad * ctx.scale).unsqueeze(1)
        if torch.is_grad_enabled():  # double backward: a graph from z
            p = torch.softmax(_changed_logits(z, index, ctx.scale, offset, shift), 1)
            return (p * coef).scatter_add(1, index, -coef), None, None, None, None
        return (exp * (coef / total)).scatter_add_(1, index, -coef), None, None, None, None


@shared_docs
def modulated_cross_entropy(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    weight: torch.Tensor | Sequence[float] | None = None,
    modulator: Modulator | None = None,
    detach_modulator: bool = False,
    log_pt_modulator: Modulator | None = None,
    logit_offset: torch.Tensor | Sequence[float] | None = None,
    margin: torch.Tensor | Sequence[float] | None = None,
    scale: float = 1.0,
    label_smoothing: float = 0.0,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""Cross-entropy with a class weight, an example modulator, a logit change and label
    smoothing: :math:`L_i = -w_{y_i} m(p_{t,i}) \log \operatorname{softmax}(s (z_i + b -
    \Delta \odot \mathbf{1}_{y_i}))_{y_i}`. With all three neutral it is
    ``F.cross_entropy`` exactly.

    Args:
        logits: float tensor (N, C) or (N, C, d1, ...). Half and bfloat16 are
            computed in float32 (the result is float32); float64 stays float64.
        target: integer class indices (N) or (N, d1, ...).
        weight: per-class weight ``w`` of length C, or None for ones.
        modulator: function of ``p_t`` giving the per-position factor ``m``.
        detach_modulator: if True, no gradient flows through ``m``.
        log_pt_modulator: function of ``log p_t`` giving ``m``; used instead of
            ``modulator`` by a loss better written in ``log p_t`` (focal at ``p_t -> 1``).
        logit_offset: per-class ``b`` added to every logit (length C).
        margin: per-class ``Δ`` subtracted from the true-class logit (length C).
        scale: ``s`` multiplying the changed logits.
        label_smoothing: ``ε`` in [0, 1]: the target ``(1 - ε) onehot(y) + ε / C``, as in
            ``F.cross_entropy``; a modulator multiplies the smoothed cross-entropy (see the
            module docstring).
        ignore_index: target value whose positions add nothing and get no gradient.
        reduction: ``"mean"`` (sum over the weight sum), ``"sum"`` or ``"none"``
            (the target's shape).

    $softmax_shape

    Examples:
        >>> import torch, torch.nn.functional as F
        >>> z, y = torch.randn(8, 5), torch.randint(0, 5, (8,))
        >>> torch.allclose(modulated_cross_entropy(z, y), F.cross_entropy(z, y))
        True

        A modulator (here focal's) and a logit offset, each one place of the formula:

        >>> ce = F.cross_entropy(z, y, reduction="none")
        >>> m = modulated_cross_entropy(z, y, modulator=lambda p: (1 - p) ** 2, reduction="none")
        >>> torch.allclose(m, (1 - torch.exp(-ce)) ** 2 * ce)
        True
        >>> b = torch.randn(5)
        >>> torch.allclose(modulated_cross_entropy(z, y, logit_offset=b), F.cross_entropy(z + b, y))
        True
    """
    check_reduction(reduction)
    check_softmax_shapes(logits, target)
    check_label_smoothing(label_smoothing)
    if modulator is not None and log_pt_modulator is not None:
        raise ValueError("give modulator or log_pt_modulator, not both")
    num_classes = logits.shape[1]
    target = target.long()
    safe_target, keep = check_class_indices(target, num_classes, ignore_index)
    w = check_class_vector(weight, num_classes, "weight")
    z = compute_dtype_logits(logits)
    if w is not None:
        w = w.to(device=z.device, dtype=z.dtype)
    w_y = None if w is None else _position_weight(w, safe_target, keep)
    compiling = torch.compiler.is_compiling()
    changed = logit_offset is not None or margin is not None or scale != 1.0
    modulated = modulator is not None or log_pt_modulator is not None
    # under torch.compile a change is plain operations, which inductor fuses with the
    # cross-entropy; in eager mode it is one custom function, unless smoothed
    plain = not changed or compiling or label_smoothing > 0
    if changed:
        index = safe_target.unsqueeze(1)
        offset = None if logit_offset is None else along_class_axis(logit_offset, z, "logit_offset")
        shift = None
        if margin is not None:
            minus_delta = along_class_axis(margin, z, "margin").flatten() * -scale
            shift = minus_delta.index_select(0, safe_target.flatten()).view_as(index)
        if plain:
            z = _changed_logits(z, index, scale, offset, shift, scatter=False)
    # compiled, a scaled change is bounded as _ChangedNLL bounds it (not when smoothed: the
    # smoothed loss reads every logit)
    bounded = plain and changed and scale != 1.0 and not label_smoothing
    if not plain:
        nll = torch.where(keep, _ChangedNLL.apply(z, index, scale, offset, shift), 0.0)
    elif bounded:
        nll = torch.where(keep, _bounded_nll(z, index), 0.0)
    elif not modulated:
        # one fused kernel weights, smooths, masks and sums; "mean" keeps its empty-batch guard
        fused = "sum" if reduction == "mean" else reduction
        loss = F.cross_entropy(
            z,
            target,
            weight=w,
            ignore_index=ignore_index,
            reduction=fused,
            label_smoothing=label_smoothing,
        )
        return loss if reduction != "mean" else reduce_weighted(loss, w_y, "mean", count=keep)
    elif label_smoothing > 0:
        log_p = torch.log_softmax(z, 1)
        log_pt = torch.where(keep, log_p.gather(1, safe_target.unsqueeze(1)).squeeze(1), 0.0)
        m = _modulator_of(log_pt, modulator, log_pt_modulator, detach_modulator)
        smoothed = _smoothed_nll(log_p, log_pt, w, w_y, keep, label_smoothing)
        return reduce_weighted(smoothed * m, w_y, reduction, count=keep)
    elif compiling:
        # inductor fuses this into fewer kernels than its decomposition of nll_loss
        log_pt = torch.log_softmax(z, 1).gather(1, safe_target.unsqueeze(1)).squeeze(1)
        nll = torch.where(keep, -log_pt, 0.0)
    else:
        nll = F.cross_entropy(z, target, ignore_index=ignore_index, reduction="none")
    if modulated:
        nll = nll * _modulator_of(-nll, modulator, log_pt_modulator, detach_modulator)
    return reduce_weighted(nll if w_y is None else nll * w_y, w_y, reduction, count=keep)


def _modulator_of(
    log_pt: torch.Tensor,
    modulator: Modulator | None,
    log_pt_modulator: Modulator | None,
    detach: bool,
) -> torch.Tensor:
    """``m`` per position from ``log p_t`` (0 where ignored), detached if ``detach``."""
    if log_pt_modulator is not None:
        m = log_pt_modulator(log_pt.detach() if detach else log_pt)
    else:
        m = modulator(torch.exp(log_pt.detach() if detach else log_pt))
    return m.detach() if detach else m


def _smoothed_nll(
    log_p: torch.Tensor,
    log_pt: torch.Tensor,
    w: torch.Tensor | None,
    w_y: torch.Tensor | None,
    keep: torch.Tensor,
    label_smoothing: float,
) -> torch.Tensor:
    """``(1 - ε) w_y (-log p_y) + (ε / C) Σ_c w_c (-log p_c)`` per position, 0 where ignored:
    ``F.cross_entropy(..., label_smoothing=ε, reduction="none")``, weights as torch applies
    them."""
    true = -log_pt if w_y is None else -log_pt * w_y
    per_class = log_p if w is None else log_p * along_class_axis(w, log_p, "weight")
    uniform = torch.where(keep, -per_class.sum(1), 0.0)
    return true * (1 - label_smoothing) + uniform * (label_smoothing / log_p.shape[1])


def mean_denominator(
    target: torch.Tensor,
    weight: torch.Tensor | Sequence[float] | None,
    ignore_index: int,
) -> torch.Tensor:
    """What ``reduction="mean"`` of a softmax loss divides by: ``Σ w_y`` over the positions
    whose target is not ``ignore_index`` (their number without a weight), as float64."""
    keep = target != ignore_index
    if weight is None:
        return keep.sum(dtype=torch.float64)
    w = torch.as_tensor(weight, device=target.device, dtype=torch.float64)
    return _position_weight(w, torch.where(keep, target, 0).long(), keep).sum()


def elementwise_mean_denominator(
    target: torch.Tensor,
    weight: torch.Tensor | Sequence[float] | None,
    ignore_index: float | None,
) -> torch.Tensor:
    """What ``reduction="mean"`` of an element-wise (sigmoid) loss divides by: ``Σ w_c`` over
    the elements whose target is not ``ignore_index``, with ``w_c`` along dim 1 (their number
    without a weight), as float64."""
    keep = torch.ones_like(target, dtype=torch.bool)
    if ignore_index is not None:
        keep = target != ignore_index
    if weight is None:
        return keep.sum(dtype=torch.float64)
    w = along_class_axis(weight, target.to(torch.float64), "weight")
    return torch.where(keep, w, 0.0).sum()


def _position_weight(
    w: torch.Tensor, safe_target: torch.Tensor, keep: torch.Tensor
) -> torch.Tensor:
    """``w_y`` per position, 0 where ignored."""
    w_y = w.index_select(0, safe_target.flatten()).view_as(safe_target)
    return torch.where(keep, w_y, 0.0)


def _weight_sum(w_y: torch.Tensor) -> torch.Tensor:
    """``Σ w_y`` over the kept positions, or 1 where that is 0: nothing is kept, the loss is 0."""
    total = w_y.sum()
    return torch.where(total > 0, total, 1)


class SoftmaxLoss(nn.Module):
    """Base of the softmax loss modules: a per-class ``weight`` buffer (moves with ``.to()``;
    assign a new tensor to change it, e.g. for deferred re-weighting), ``ignore_index``,
    ``reduction`` and ``label_smoothing`` (ε of :func:`modulated_cross_entropy`)."""

    def __init__(
        self,
        weight: torch.Tensor | Sequence[float] | None = None,
        *,
        label_smoothing: float = 0.0,
        ignore_index: int = -100,
        reduction: str = "mean",
    ) -> None:
        super().__init__()
        check_reduction(reduction)
        check_label_smoothing(label_smoothing)
        self.register_buffer("weight", check_class_vector(weight, None, "weight"))
        self.label_smoothing = label_smoothing
        self.ignore_index = ignore_index
        self.reduction = reduction

    def mean_denominator(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """What ``reduction="mean"`` divides this batch's sum by (float64):
        :func:`mean_denominator`, ``Σ w_y`` over the kept positions."""
        return mean_denominator(target, self.weight, self.ignore_index)

    def extra_repr(self) -> str:
        smoothing = f"label_smoothing={self.label_smoothing}, " if self.label_smoothing else ""
        return smoothing + f"ignore_index={self.ignore_index}, reduction={self.reduction!r}"
