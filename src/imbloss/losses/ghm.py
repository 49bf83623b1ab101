r"""GHM-C: the gradient harmonizing classification loss.

Li, Liu and Wang, "Gradient Harmonized Single-stage Detector", AAAI 2019
(https://arxiv.org/abs/1811.05181).

Each example's loss is divided by how crowded its gradient norm ``g`` is. The
interval [0, 1] is cut into ``bins`` equal bins (edges ``arange(bins + 1) / bins``,
the last one raised by 1e-6, as in mmdetection) and, without gradient,

.. math:: \beta_i = \frac{tot}{R_{b(i)}\, n}

where ``b(i)`` is the bin of ``g_i``, ``R_b`` the number of kept positions in that
bin (or its moving average, below), ``tot`` the number of kept (not ignored)
positions and ``n`` the number of bins that are non-empty in this batch.

Two forms:

* softmax (default; our adaptation to multi-class targets): ``g = 1 - p_t``, the size
  of the true-class component of the cross-entropy gradient w.r.t. the logits, and
  ``L_i = - w_{y_i} * beta_i * log p_t,i``. It is
  :func:`imbloss.losses.core.modulated_cross_entropy` with ``beta`` as a detached
  modulator, so ``weight``, ``ignore_index`` and the reductions behave as in every
  softmax loss (``"mean"`` divides by the sum of ``w_y`` over kept positions), and
  with ``bins=1`` and ``momentum=0`` it is exactly ``F.cross_entropy``.
* sigmoid (``use_sigmoid=True``): logits (N, C) or (N, C, d1, ...) with float 0/1
  (or soft) targets of the same shape, ``g = |sigmoid(z) - y|`` per element and
  ``L = w_c * beta * BCE-with-logits``; the
  mean divides by the number of kept elements (by the sum of ``w_c`` over them when
  ``weight`` is given). With ``weight=None`` this gives the numbers of mmdetection's
  ``GHMC`` (``mmdet/models/losses/ghm_loss.py``) for the same ``bins`` and
  ``momentum`` (in evaluation mode too with ``always_update=True``); its
  ``label_weight`` mask is expressed here by putting ``ignore_index`` in the target.
  Its gradient ``w_c beta (sigmoid(z) - y)`` reuses the residual the bins were computed
  from (one custom function, :class:`_WeightedBCE`). mmdet's integer-label input
  (expanded to one-hot) is not taken: pass the one-hot targets.

Moving average (``momentum > 0``), as in mmdetection: a bin's average is updated only
in a batch where the bin is non-empty, ``acc_b <- momentum * acc_b + (1 - momentum) * R_b``,
and ``beta`` uses ``acc_b`` in place of ``R_b``. ``acc_b`` starts at zero, which
inflates the early weights by up to ``1 / (1 - momentum)``; ``bias_correction=True``
divides ``acc_b`` by ``1 - momentum ** t_b``, with ``t_b`` the number of updates bin
``b`` has had (a per-bin Adam-style correction), so at a bin's first update the
corrected average equals the raw count.

Under ``torch.distributed`` with more than one process, the bin counts and ``tot``
are summed over all processes before the update, so every rank sees the density of
the global batch and holds the same moving average; the mean still divides by this
process's own kept elements (:meth:`GHMCLoss.mean_denominator`), which
:class:`imbloss.distributed.GlobalBatchMean` turns into the global batch's mean. Every rank
must then call ``forward`` the same number of times (it is a collective).

Groups (``groups=G``): G independent sets of bin statistics, for G models trained as one
(:func:`imbloss.stacked.fit_stacked`). The batch is G blocks of equal size laid end to
end (model-major rows ``(G * N, C)``, or G leading blocks of the sigmoid form's rows); each
block's ``beta`` comes from its own counts, ``tot`` and non-empty bins, exactly as G separate
losses would compute them, in one pass.

The module is stateful: ``acc_sum`` (moving averages), ``steps`` (updates per bin)
and ``last_counts`` (the latest batch's bin counts, global under distributed) are
buffers of length ``bins`` (``(groups, bins)`` with groups), so ``state_dict()`` and
``.to()`` carry them. Like ``nn.BatchNorm``, it updates them only in training mode: a
call in training mode updates them (also under ``torch.no_grad()``, as BatchNorm does),
a call after ``.eval()`` computes the weights a training call would, from the statistics
updated by this batch alone, and stores nothing (nor all-reduces: evaluation is local).
``always_update=True`` keeps mmdetection's behaviour, an update on every call in either
mode.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.distributed as dist
import torch.nn.functional as F

from ._checks import check_class_vector, check_int, check_real, check_sigmoid_inputs
from .core import (
    SoftmaxLoss,
    along_class_axis,
    compute_dtype_logits,
    elementwise_mean_denominator,
    modulated_cross_entropy,
    reduce_weighted,
)


class GHMCLoss(SoftmaxLoss):
    r"""Gradient harmonized classification loss (GHM-C), softmax or sigmoid form:
    :math:`L_i = -w_{y_i} \beta_i \log p_{t,i}` (softmax) with :math:`\beta_i` the inverse
    density of the example's gradient norm :math:`g_i = 1 - p_{t,i}`.

    See the module docstring for the formula, the moving average and the
    distributed behaviour. ``bins=1, momentum=0`` gives ``F.cross_entropy`` exactly.

    Args:
        bins: number of equal-width bins of the gradient norm over [0, 1] (int >= 1).
        momentum: moving-average factor of the bin counts, in [0, 1); 0 uses each
            batch's own counts.
        use_sigmoid: False for the softmax form (integer class targets, like
            ``F.cross_entropy``), True for the sigmoid form (float targets of the
            logits' shape, like mmdetection's ``GHMC``).
        bias_correction: divide each bin's moving average by ``1 - momentum ** t_b``.
        always_update: update the statistics in evaluation mode too (mmdetection's
            behaviour); by default only in training mode.
        weight: per-class weight of length C (the class axis is dim 1), or None.
        label_smoothing: ε of the softmax form, as in ``F.cross_entropy``: the harmonizing
            weight of the true class's ``g = 1 - p_t`` times the smoothed cross-entropy (see
            :mod:`imbloss.losses.core`); the sigmoid form takes no smoothing.
        ignore_index: target value whose positions (softmax) or elements (sigmoid)
            add nothing and are not counted in the bins.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.
        groups: number of independent sets of bin statistics, each for one equal block of
            the batch's rows (see the module docstring); 1 for one batch.

    Shape:
        - logits: :math:`(N, C)` or :math:`(N, C, d_1, ...)`, floating point.
        - target: :math:`(N)` or :math:`(N, d_1, ...)`, integer class indices (softmax), or
          the logits' shape, floating point (sigmoid).
        - output: a scalar, or the target's shape with ``reduction="none"``.

    Examples:
        >>> import torch, torch.nn.functional as F
        >>> z, y = torch.randn(8, 5), torch.randint(0, 5, (8,))
        >>> torch.allclose(GHMCLoss(bins=1, momentum=0.0)(z, y), F.cross_entropy(z, y))
        True

        Two crowded easy examples and one hard one: the hard one weighs more.

        >>> z, y = torch.tensor([[4.0, 0.0], [4.0, 0.0], [-4.0, 0.0]]), torch.zeros(3).long()
        >>> ghm = GHMCLoss(bins=2, momentum=0.0, reduction="none")
        >>> ghm(z, y) / F.cross_entropy(z, y, reduction="none")
        tensor([0.7500, 0.7500, 1.5000])
    """

    def __init__(
        self,
        bins: int = 10,
        momentum: float = 0.75,
        *,
        use_sigmoid: bool = False,
        bias_correction: bool = False,
        always_update: bool = False,
        weight: torch.Tensor | Sequence[float] | None = None,
        label_smoothing: float = 0.0,
        ignore_index: int = -100,
        reduction: str = "mean",
        groups: int = 1,
    ) -> None:
        super().__init__(
            weight, label_smoothing=label_smoothing, ignore_index=ignore_index, reduction=reduction
        )
        if use_sigmoid and label_smoothing:
            raise ValueError(
                f"label_smoothing={label_smoothing!r} applies to the softmax form; expected 0 "
                "with use_sigmoid=True (smooth the float targets themselves)"
            )
        check_int("bins", bins, minimum=1)
        check_real("momentum", momentum, low=0.0, high=1.0, high_open=True)
        self.bins = int(bins)
        self.momentum = float(momentum)
        self.use_sigmoid = bool(use_sigmoid)
        self.bias_correction = bool(bias_correction)
        self.always_update = bool(always_update)
        check_int("groups", groups, minimum=1)
        self.groups = int(groups)
        shape = (bins,) if groups == 1 else (groups, bins)
        self.register_buffer("acc_sum", torch.zeros(shape))
        self.register_buffer("steps", torch.zeros(shape, dtype=torch.long))
        self.register_buffer("last_counts", torch.zeros(shape, dtype=torch.long))

    def extra_repr(self) -> str:
        return (
            f"bins={self.bins}, momentum={self.momentum}, use_sigmoid={self.use_sigmoid}, "
            f"bias_correction={self.bias_correction}, always_update={self.always_update}, "
            + (f"groups={self.groups}, " if self.groups > 1 else "")
            + super().extra_repr()
        )

    def mean_denominator(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """What ``reduction="mean"`` divides by (float64): ``Σ w_y`` over the kept positions
        (softmax), ``Σ w_c`` over the kept elements (sigmoid)."""
        if self.use_sigmoid:
            return elementwise_mean_denominator(target, self.weight, self.ignore_index)
        return super().mean_denominator(logits, target)

    @torch.no_grad()
    def _harmonize(
        self, g: torch.Tensor, ignored: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``beta`` for every ``g`` (0 where ``ignored``; None: nothing ignored) from the kept
        ``g``'s bin counts; stores
        the updated statistics when updating (training mode or ``always_update``)."""
        update = self.training or self.always_update
        groups, size = self.groups, self.bins + 1  # bin ``bins`` of each group: the ignored
        if g.shape[0] % groups:
            raise ValueError(
                f"groups={groups} needs a batch of {groups} equal blocks of rows; got "
                f"{g.shape[0]} rows, not a multiple of {groups}"
            )
        idx = self._bin_index(g, ignored).view(groups, -1)
        if groups > 1:  # group k's bins are k * size ... k * size + bins
            idx = (
                idx
                + torch.arange(0, groups * size, size, device=idx.device, dtype=idx.dtype)[:, None]
            )
        idx = idx.reshape(-1)
        counts = _bin_counts(idx, groups * size).view(groups, size)[:, : self.bins].contiguous()
        if update and dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            dist.all_reduce(counts)
        tot = counts.sum(1, keepdim=True)

        hit = counts > 0
        mmt = self.momentum
        acc_old, steps_old = self.acc_sum.view(groups, -1), self.steps.view(groups, -1)
        acc_sum = torch.where(hit, mmt * acc_old + (1 - mmt) * counts, acc_old)
        steps = steps_old + hit
        if update:
            self.acc_sum.copy_(acc_sum.view_as(self.acc_sum))
            self.steps.copy_(steps.view_as(self.steps))
            self.last_counts.copy_(counts.view_as(self.last_counts))

        density = acc_sum
        if self.bias_correction:
            density = density / (1 - mmt ** steps.clamp(min=1))
        per_bin = tot / torch.where(hit, density, torch.ones_like(density))
        per_bin = torch.where(hit, per_bin, torch.zeros_like(per_bin))
        per_bin = per_bin / hit.sum(1, keepdim=True).clamp(min=1)
        per_bin = torch.cat([per_bin, per_bin.new_zeros(groups, 1)], dim=1).to(g.dtype)
        return _bin_values(per_bin.reshape(-1), idx).view_as(g)

    def _bin_index(self, g: torch.Tensor, ignored: torch.Tensor | None) -> torch.Tensor:
        """Bin i (int32) of each g in [0, 1], ``bins`` where ``ignored``: edges[i] <= g <
        edges[i + 1], mmdetection's rule, with its float32 edges ``i / bins`` (the last,
        ``1 + 1e-6``, only keeps g = 1 in the last bin).

        ``floor(g * bins)`` is off by one where rounding puts ``g`` on the other side of a
        (rounded) edge; one comparison with each neighbouring edge fixes that. It is float
        arithmetic in two buffers and one conversion to int32 (which ``bincount`` and
        ``index_select`` take): several times faster on the CPU than ``torch.bucketize`` or
        int64 arithmetic.
        """
        bins = self.bins
        idx = (g * bins).floor_()  # bins at g = 1: the clamp below puts it in the last bin
        edge = (idx.float() / bins).to(g.dtype)
        idx.sub_(torch.lt(g, edge, out=edge))  # the comparison's 0/1 written over the edge
        edge = torch.add(idx.float(), 1, out=edge.float()).div_(bins).to(g.dtype)
        idx.add_(torch.ge(g, edge, out=edge))
        idx.clamp_(max=bins - 1)
        return (idx if ignored is None else idx.masked_fill_(ignored, bins)).int()

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """GHM-C loss of ``logits`` against ``target``; updates the bin statistics."""
        if self.use_sigmoid:
            return self._forward_sigmoid(logits, target)
        return modulated_cross_entropy(
            logits,
            target,
            weight=self.weight,
            # called after the core has validated target
            modulator=lambda p_t: self._harmonize(1 - p_t, target == self.ignore_index),
            detach_modulator=True,
            label_smoothing=self.label_smoothing,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
        )

    def _forward_sigmoid(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        may_ignore = check_sigmoid_inputs(logits, target, self.ignore_index, min_dim=2)
        z = compute_dtype_logits(logits)
        ignored = target == self.ignore_index if may_ignore else None
        # an ignored element keeps its target value: beta is 0 there, and its g does not
        # reach the bins
        y = target.to(z.dtype)
        residual = z.detach().sigmoid().sub_(y)  # dBCE/dz
        beta = self._harmonize(residual.abs(), ignored)
        weight = check_class_vector(self.weight, z.shape[1], "weight")
        w_keep = None
        if weight is not None:
            w = along_class_axis(weight, z, "weight")
            w_keep = w.expand_as(z) if ignored is None else torch.where(ignored, 0.0, w)
            beta = beta * w
        loss = _WeightedBCE.apply(z, y, beta, residual)
        # the mean divides by this process's kept elements (mean_denominator), not by the
        # global tot of beta: GlobalBatchMean turns it into the global batch's mean
        kept = None if ignored is None else ~ignored
        return reduce_weighted(loss, w_keep, self.reduction, count=kept)


# The two steps that index by bin are custom ops, so that ``torch.compile`` keeps them as
# they are: inductor's own lowering recomputes the whole bin index in every kernel that
# reads it (once per bin for the counts), and its scatter-adds and gathers are several
# times slower on the CPU; ``torch.bincount`` outside a custom op would break the graph
# (its length depends on the values).


@torch.library.custom_op("imbloss::bin_counts", mutates_args=())
def _bin_counts(idx: torch.Tensor, size: int) -> torch.Tensor:
    """How many entries of ``idx`` (int32 in [0, size)) hold each value: int64, length ``size``."""
    return torch.bincount(idx, minlength=size)


@_bin_counts.register_fake
def _(idx: torch.Tensor, size: int) -> torch.Tensor:
    return idx.new_empty(size, dtype=torch.long)


@torch.library.custom_op("imbloss::bin_values", mutates_args=())
def _bin_values(table: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """``table[idx]`` for a short ``table`` and an int32 ``idx`` (flat)."""
    return table.index_select(0, idx)


@_bin_values.register_fake
def _(table: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    return table.new_empty(idx.shape)


class _WeightedBCE(torch.autograd.Function):
    """``beta * BCE(z, y)`` per element, ``BCE = softplus(z) - y z``, with ``beta`` held
    constant; its gradient ``beta (σ(z) - y)`` reuses the residual ``σ(z) - y`` that the
    bins were computed from, where ``F.binary_cross_entropy_with_logits`` would compute the
    sigmoid again. Under ``create_graph=True`` the backward recomputes the residual from
    ``z`` with differentiable operations, so second derivatives are right too."""

    @staticmethod
    def forward(ctx, z, y, beta, residual):
        ctx.save_for_backward(z, y, beta, residual)
        return F.softplus(z).addcmul_(y, z, value=-1).mul_(beta)

    @staticmethod
    def backward(ctx, grad):
        z, y, beta, residual = ctx.saved_tensors
        if torch.is_grad_enabled():  # double backward: a graph from z
            return (torch.sigmoid(z) - y) * beta * grad, None, None, None
        return torch.mul(residual, beta).mul_(grad), None, None, None
