r"""Focal loss (Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017), softmax form.

Per position

.. math:: L = -w_y (1 - p_t)^\gamma \log p_t

the factor :math:`(1 - p_t)^\gamma` shrinks
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
from ._docs import shared_docs
from .core import SoftmaxLoss, modulated_cross_entropy


def _check_gamma(gamma: float) -> None:
    check_real("gamma", gamma, low=0.0, high=float("inf"), high_open=True)


def focal_weight(p, gamma: float = 2.0):
    r"""The focal factor :math:`(1 - p)^\gamma` of a true-class probability ``p``.

    Takes a tensor (returns a tensor) or a float / array-like (returns NumPy);
    meant for plotting the weight against ``p``.

    Examples:
        An example classified at :math:`p_t = 0.9` keeps 1% of its cross-entropy at γ = 2,
        one at :math:`p_t = 0.1` keeps 81%:

        >>> focal_weight([0.9, 0.1], gamma=2.0).round(4)
        array([0.01, 0.81])
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


@shared_docs
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
    r"""Softmax focal loss (Lin et al. 2017),
    :math:`L = -w_y (1 - p_t)^\gamma \log p_t`.

    ``gamma=0`` gives ``F.cross_entropy`` exactly. ``reduction="mean"`` divides by the sum
    of ``w_y`` over the kept positions. ``label_smoothing=ε`` multiplies the factor of the
    true class's :math:`p_t` with the smoothed cross-entropy of ``F.cross_entropy``,
    :math:`(1 - p_t)^\gamma ((1 - ε) w_y (-\log p_t) + (ε / C) \sum_c w_c (-\log p_c))`
    (see :mod:`imbloss.losses.core` for why this order); ``gamma=0`` then gives
    ``F.cross_entropy(..., label_smoothing=ε)``.

    Args:
        $logits_target
        gamma: γ >= 0, the focusing exponent.
        weight: per-class weight ``w`` of length C (the paper's α), or None for ones.
        detach_modulator: stop the gradient through :math:`(1 - p_t)^\gamma` (the variant
            of many public implementations); the paper keeps it.
        $smoothing_ignore_reduction

    $softmax_shape

    Examples:
        >>> import torch, torch.nn.functional as F
        >>> z, y = torch.randn(8, 5), torch.randint(0, 5, (8,))
        >>> torch.allclose(focal_loss(z, y, gamma=0.0), F.cross_entropy(z, y))
        True

        Each position's cross-entropy times :math:`(1 - p_t)^\gamma`:

        >>> ce = F.cross_entropy(z, y, reduction="none")
        >>> p_t = torch.exp(-ce)
        >>> torch.allclose(focal_loss(z, y, 2.0, reduction="none"), (1 - p_t) ** 2 * ce)
        True
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
    """Module form of :func:`focal_loss`; its arguments and shapes.

    Examples:
        >>> import torch, torch.nn.functional as F
        >>> z, y = torch.randn(8, 5), torch.randint(0, 5, (8,))
        >>> torch.allclose(FocalLoss(gamma=0.0)(z, y), F.cross_entropy(z, y))
        True
        >>> FocalLoss(gamma=2.0)(z, y) < F.cross_entropy(z, y)
        tensor(True)
    """

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
