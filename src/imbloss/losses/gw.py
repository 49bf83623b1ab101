r"""Gaussian-weight (GW) loss, from voidful's 2019 blog post
"實作 從loss入手，解決資料不平衡帶來的訓練問題" (tackling data imbalance from the loss).

Per position :math:`L = -w_y m(p_t) \log p_t` with the weight

.. math:: m(p) = \exp\left(-\frac{(p - \mu)^2}{2 \sigma^2}\right) - k p

(:math:`\mu` = ``mean``, :math:`\sigma` = ``std``, :math:`k` = ``slope``),

a bell around ``mean`` minus a small linear term: examples the model is unsure
of (``p_t`` near ``mean``) weigh most, both the hopeless ones (``p_t -> 0``,
often label noise) and the easy ones (``p_t -> 1``) weigh less. As in the post
no gradient flows through the weight by default (``detach_modulator=True``).
``std=math.inf`` makes the bell flat (weight 1), so ``slope=0, std=inf`` is
cross-entropy. The weight can turn negative when ``slope`` is large.

The blog's published code computes something else: its ``gaussian()``
overwrites the ``p_t`` tensor in place, so ``slope * p_t`` is taken of the bell
value and the weight becomes ``(1 - slope) * exp(...)``, i.e. ``0.9 * g(p_t)``
at the defaults. ``blog_code=True`` reproduces that weight (factory name
``"gw_blog"``); the former names ``seed_bug=`` and ``"gw_seed"`` still work for
one release, with a ``DeprecationWarning``. The code's ``variance=0.1*e`` argument is used as
a standard deviation, hence the default ``std = 0.1 e``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
import torch

from ._checks import check_real
from ._docs import shared_docs
from .core import SoftmaxLoss, modulated_cross_entropy

GW_MEAN = 0.5
GW_STD = 0.1 * math.e
GW_SLOPE = 0.1


def _check_params(mean: float, std: float, slope: float) -> None:
    """``mean`` and ``slope`` finite real numbers, ``std`` in (0, inf] (inf: a flat bell)."""
    for name, value in (("mean", mean), ("slope", slope)):
        check_real(name, value, low=-math.inf, high=math.inf, low_open=True, high_open=True)
    check_real("std", std, low=0.0, high=math.inf, low_open=True)


def _blog_code(blog_code: bool, seed_bug: bool | None) -> bool:
    """``blog_code``, or the deprecated ``seed_bug`` when that is given."""
    if seed_bug is None:
        return blog_code
    warnings.warn(
        "seed_bug= is deprecated and will be removed in the next release; use blog_code=",
        DeprecationWarning,
        stacklevel=3,
    )
    return bool(seed_bug)


def _gaussian_weight(p, mean: float, std: float, slope: float, blog_code: bool):
    """The GW weight on a tensor or NumPy array, arguments already checked."""
    exp = torch.exp if isinstance(p, torch.Tensor) else np.exp
    bell = exp(-((p - mean) ** 2) * (0.5 / std**2))  # 0.5 / inf**2 == 0: a flat bell
    if blog_code:
        return (1 - slope) * bell
    return bell - slope * p


def gw_weight(
    p,
    mean: float = GW_MEAN,
    std: float = GW_STD,
    slope: float = GW_SLOPE,
    *,
    blog_code: bool = False,
    seed_bug: bool | None = None,
):
    r"""The GW weight :math:`\exp(-(p - \mu)^2 / (2 \sigma^2)) - k p` of a probability ``p``.

    With ``blog_code=True`` the weight of the blog's published code,
    :math:`(1 - k) \exp(-(p - \mu)^2 / (2 \sigma^2))` (see the module docstring).
    Takes a tensor (returns a tensor) or a float / array-like (returns NumPy).

    Examples:
        At the bell's centre the weight is :math:`1 - k\mu`, and the blog's code gives
        :math:`1 - k` there:

        >>> float(gw_weight(0.5)), float(gw_weight(0.5, blog_code=True))
        (0.95, 0.9)
    """
    _check_params(mean, std, slope)
    if not isinstance(p, torch.Tensor):
        p = np.asarray(p, dtype=float)
    return _gaussian_weight(p, mean, std, slope, _blog_code(blog_code, seed_bug))


@shared_docs
def gw_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    mean: float = GW_MEAN,
    std: float = GW_STD,
    slope: float = GW_SLOPE,
    weight: torch.Tensor | Sequence[float] | None = None,
    *,
    detach_modulator: bool = True,
    blog_code: bool = False,
    label_smoothing: float = 0.0,
    ignore_index: int = -100,
    reduction: str = "mean",
    seed_bug: bool | None = None,
) -> torch.Tensor:
    r"""Gaussian-weight loss, :math:`L = -w_y m(p_t) \log p_t` with
    :math:`m(p) = \exp(-(p - \mu)^2 / (2 \sigma^2)) - k p`.

    ``slope=0, std=math.inf`` gives ``F.cross_entropy`` exactly. ``reduction="mean"``
    divides by the sum of ``w_y`` over the kept positions (the GW weight is not in the
    denominator). ``label_smoothing=ε``: the weight of the true class's :math:`p_t` times
    the smoothed cross-entropy of ``F.cross_entropy`` (see :mod:`imbloss.losses.core`).

    Args:
        $logits_target
        mean: :math:`\mu`, the centre of the bell.
        std: :math:`\sigma` in (0, inf]; inf makes the bell flat.
        slope: :math:`k`, the linear term.
        weight: per-class weight ``w`` of length C, or None for ones.
        detach_modulator: stop the gradient through the weight (the blog's choice, default).
        blog_code: the weight of the blog's code, :math:`(1 - k)` times the bell.
        $smoothing_ignore_reduction
        seed_bug: the deprecated name of ``blog_code``.

    $softmax_shape

    Examples:
        >>> import torch, torch.nn.functional as F
        >>> z, y = torch.randn(8, 5), torch.randint(0, 5, (8,))
        >>> flat = gw_loss(z, y, slope=0.0, std=float("inf"))
        >>> torch.allclose(flat, F.cross_entropy(z, y))
        True
    """
    _check_params(mean, std, slope)
    blog_code = _blog_code(blog_code, seed_bug)
    return modulated_cross_entropy(
        logits,
        target,
        weight=weight,
        modulator=lambda p_t: _gaussian_weight(p_t, mean, std, slope, blog_code),
        detach_modulator=detach_modulator,
        label_smoothing=label_smoothing,
        ignore_index=ignore_index,
        reduction=reduction,
    )


class GWLoss(SoftmaxLoss):
    """Module form of :func:`gw_loss`; its arguments and shapes.

    Examples:
        >>> import torch, torch.nn.functional as F
        >>> z, y = torch.randn(8, 5), torch.randint(0, 5, (8,))
        >>> torch.allclose(GWLoss(slope=0.0, std=float("inf"))(z, y), F.cross_entropy(z, y))
        True
    """

    def __init__(
        self,
        mean: float = GW_MEAN,
        std: float = GW_STD,
        slope: float = GW_SLOPE,
        weight: torch.Tensor | Sequence[float] | None = None,
        *,
        detach_modulator: bool = True,
        blog_code: bool = False,
        label_smoothing: float = 0.0,
        ignore_index: int = -100,
        reduction: str = "mean",
        seed_bug: bool | None = None,
    ) -> None:
        super().__init__(
            weight, label_smoothing=label_smoothing, ignore_index=ignore_index, reduction=reduction
        )
        _check_params(mean, std, slope)
        self.mean, self.std, self.slope = mean, std, slope
        self.detach_modulator = detach_modulator
        self.blog_code = _blog_code(blog_code, seed_bug)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return gw_loss(
            logits,
            target,
            self.mean,
            self.std,
            self.slope,
            self.weight,
            detach_modulator=self.detach_modulator,
            blog_code=self.blog_code,
            label_smoothing=self.label_smoothing,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
        )

    def extra_repr(self) -> str:
        return (
            f"mean={self.mean}, std={self.std}, slope={self.slope}, "
            f"detach_modulator={self.detach_modulator}, blog_code={self.blog_code}, "
            + super().extra_repr()
        )
