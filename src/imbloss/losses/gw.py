"""Gaussian-weight (GW) loss, from voidful's 2019 blog post
"實作 從loss入手，解決資料不平衡帶來的訓練問題" (tackling data imbalance from the loss).

Per position ``L = -w_y m(p_t) log p_t`` with the weight

    m(p) = exp(-(p - mean)^2 / (2 std^2)) - slope * p

a bell around ``mean`` minus a small linear term: examples the model is unsure
of (``p_t`` near ``mean``) weigh most, both the hopeless ones (``p_t -> 0``,
often label noise) and the easy ones (``p_t -> 1``) weigh less. As in the post
no gradient flows through the weight by default (``detach_modulator=True``).
``std=math.inf`` makes the bell flat (weight 1), so ``slope=0, std=inf`` is
cross-entropy. The weight can turn negative when ``slope`` is large.

The blog's published code ("seed" code) computes something else: its
``gaussian()`` overwrites the ``p_t`` tensor in place, so ``slope * p_t`` is
taken of the bell value and the weight becomes ``(1 - slope) * exp(...)``,
i.e. ``0.9 * g(p_t)`` at the defaults. ``seed_bug=True`` reproduces that weight
(factory name ``"gw_seed"``). The code's ``variance=0.1*e`` argument is used as
a standard deviation, hence the default ``std = 0.1 e``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from ._checks import check_range
from .core import SoftmaxLoss, modulated_cross_entropy

GW_MEAN = 0.5
GW_STD = 0.1 * math.e
GW_SLOPE = 0.1


def _check_std(std: float) -> None:
    check_range("std", std, 0.0, math.inf, lo_open=True)


def _gaussian_weight(p, mean: float, std: float, slope: float, seed_bug: bool):
    """The GW weight on a tensor or NumPy array, arguments already checked."""
    exp = torch.exp if isinstance(p, torch.Tensor) else np.exp
    bell = exp(-((p - mean) ** 2) * (0.5 / std**2))  # 0.5 / inf**2 == 0: a flat bell
    if seed_bug:
        return (1 - slope) * bell
    return bell - slope * p


def gw_weight(
    p,
    mean: float = GW_MEAN,
    std: float = GW_STD,
    slope: float = GW_SLOPE,
    *,
    seed_bug: bool = False,
):
    """The GW weight ``exp(-(p - mean)^2 / (2 std^2)) - slope * p`` of a probability ``p``.

    With ``seed_bug=True`` the weight of the blog's published code,
    ``(1 - slope) * exp(-(p - mean)^2 / (2 std^2))`` (see the module docstring).
    Takes a tensor (returns a tensor) or a float / array-like (returns NumPy).
    """
    _check_std(std)
    if not isinstance(p, torch.Tensor):
        p = np.asarray(p, dtype=float)
    return _gaussian_weight(p, mean, std, slope, seed_bug)


def gw_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    mean: float = GW_MEAN,
    std: float = GW_STD,
    slope: float = GW_SLOPE,
    weight: torch.Tensor | Sequence[float] | None = None,
    *,
    detach_modulator: bool = True,
    seed_bug: bool = False,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> torch.Tensor:
    """Gaussian-weight loss ``-w_y (exp(-(p_t - mean)^2 / (2 std^2)) - slope p_t) log p_t``.

    Logits and targets as for ``F.cross_entropy``; ``reduction="mean"`` divides
    by the sum of ``w_y`` over the kept positions (the GW weight is not in the
    denominator). ``slope=0, std=math.inf`` gives ``F.cross_entropy`` exactly.
    ``seed_bug=True``: the weight of the blog's code, ``(1 - slope) * bell``.
    """
    _check_std(std)
    return modulated_cross_entropy(
        logits,
        target,
        weight=weight,
        modulator=lambda p_t: _gaussian_weight(p_t, mean, std, slope, seed_bug),
        detach_modulator=detach_modulator,
        ignore_index=ignore_index,
        reduction=reduction,
    )


class GWLoss(SoftmaxLoss):
    """Module form of :func:`gw_loss`."""

    def __init__(
        self,
        mean: float = GW_MEAN,
        std: float = GW_STD,
        slope: float = GW_SLOPE,
        weight: torch.Tensor | Sequence[float] | None = None,
        *,
        detach_modulator: bool = True,
        seed_bug: bool = False,
        ignore_index: int = -100,
        reduction: str = "mean",
    ) -> None:
        super().__init__(weight, ignore_index=ignore_index, reduction=reduction)
        _check_std(std)
        self.mean, self.std, self.slope = mean, std, slope
        self.detach_modulator = detach_modulator
        self.seed_bug = seed_bug

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return gw_loss(
            logits,
            target,
            self.mean,
            self.std,
            self.slope,
            self.weight,
            detach_modulator=self.detach_modulator,
            seed_bug=self.seed_bug,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
        )

    def extra_repr(self) -> str:
        return (
            f"mean={self.mean}, std={self.std}, slope={self.slope}, "
            f"detach_modulator={self.detach_modulator}, seed_bug={self.seed_bug}, "
            + super().extra_repr()
        )
