"""Build any loss of the library by name: ``build_loss("cb_focal", class_counts=n, gamma=1)``.

Every name gives an ``nn.Module`` called as ``loss(logits, target)`` whose
tensors are buffers (so ``.to(device)`` moves it). Every name accepts
``class_counts=`` (the training count of each class): the losses that need it
use it, the others ignore it, so a trainer can always pass it. Names:

======================  ============================================================
``ce``                  cross-entropy (optional ``weight``)
``weighted_ce``         cross-entropy with inverse-frequency weights (needs counts)
``cb_ce``               cross-entropy with class-balanced weights, ``beta`` (needs counts)
``focal``               focal loss, ``gamma``
``cb_focal``            focal loss with class-balanced weights, ``beta`` (needs counts)
``gw``                  Gaussian-weight loss, ``mean``, ``std``, ``slope``
``gw_blog``             GW with the weight of the blog's published code (``blog_code``)
``ghm``                 gradient harmonizing loss GHM-C, ``bins``, ``momentum``, ...
``logit_adjusted``      logit adjustment, ``tau`` (needs counts)
``balanced_softmax``    logit adjustment with τ = 1 (needs counts)
``ldam``                LDAM, ``max_margin``, ``scale`` (needs counts)
======================  ============================================================

Other keywords go to the loss's constructor. The valid ones for a name are its
constructor's keywords, less those the name sets itself (``tau`` of
``balanced_softmax``, ``blog_code`` of ``gw_blog``, ``weight`` of the names that
compute it from the counts), plus ``beta`` for ``cb_ce`` and ``cb_focal``; an
unknown one raises a ``ValueError`` listing them.

Deprecated for one release, with a ``DeprecationWarning``: the name ``gw_seed``
(now ``gw_blog``) and the keyword ``seed_bug`` (now ``blog_code``).
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from .class_weights import (
    WeightedCrossEntropyLoss,
    class_balanced_weights,
    inverse_frequency_weights,
)
from .focal import FocalLoss
from .ghm import GHMCLoss
from .gw import GWLoss
from .ldam import LDAMLoss
from .logit_adjustment import LogitAdjustedLoss


@dataclass(frozen=True)
class _Recipe:
    """How a name builds its loss: the class, how the class counts are used, fixed keywords."""

    loss: type[nn.Module]
    counts: str | None = None  # None (ignored), "counts", "inverse_frequency" or "class_balanced"
    fixed: dict = field(default_factory=dict)

    def options(self) -> tuple[str, ...]:
        taken = set(self.fixed) | set(DEPRECATED_KEYWORDS) | {"self", "class_counts"}
        if self.counts in ("inverse_frequency", "class_balanced"):
            taken.add("weight")
        names = [n for n in inspect.signature(self.loss.__init__).parameters if n not in taken]
        if self.counts == "class_balanced":
            names.append("beta")
        return tuple(names) + ("class_counts",)


_RECIPES = {
    "ce": _Recipe(WeightedCrossEntropyLoss),
    "weighted_ce": _Recipe(WeightedCrossEntropyLoss, "inverse_frequency"),
    "cb_ce": _Recipe(WeightedCrossEntropyLoss, "class_balanced"),
    "focal": _Recipe(FocalLoss),
    "cb_focal": _Recipe(FocalLoss, "class_balanced"),
    "gw": _Recipe(GWLoss),
    "gw_blog": _Recipe(GWLoss, fixed={"blog_code": True}),
    "ghm": _Recipe(GHMCLoss),
    "logit_adjusted": _Recipe(LogitAdjustedLoss, "counts"),
    "balanced_softmax": _Recipe(LogitAdjustedLoss, "counts", fixed={"tau": 1.0}),
    "ldam": _Recipe(LDAMLoss, "counts"),
}
LOSSES = tuple(_RECIPES)
DEPRECATED_NAMES = {"gw_seed": "gw_blog"}
DEPRECATED_KEYWORDS = {"seed_bug": "blog_code"}


def build_loss(
    name: str, *, class_counts: torch.Tensor | Sequence[float] | None = None, **kwargs
) -> nn.Module:
    """Build the loss ``name`` (one of :data:`LOSSES`) with keyword options ``kwargs``.

    ``class_counts`` (length C, positive) is required by ``weighted_ce``, ``cb_ce``,
    ``cb_focal``, ``logit_adjusted``, ``balanced_softmax`` and ``ldam``, and is
    accepted and ignored by the others.

    Examples:
        >>> build_loss("focal", gamma=1.0)
        FocalLoss(gamma=1.0, detach_modulator=False, ignore_index=-100, reduction='mean')
        >>> build_loss("cb_ce", class_counts=[100, 10], beta=0.99).weight
        tensor([0.2621, 1.7379])
        >>> build_loss("focal", gama=1.0)
        Traceback (most recent call last):
        ...
        ValueError: loss 'focal' got unknown keyword(s) ['gama']; valid keywords are (...)
    """
    if name in DEPRECATED_NAMES:
        warnings.warn(
            f"loss {name!r} is deprecated and will be removed in the next release; "
            f"use {DEPRECATED_NAMES[name]!r}",
            DeprecationWarning,
            stacklevel=2,
        )
        name = DEPRECATED_NAMES[name]
    recipe = _RECIPES.get(name)
    if recipe is None:
        raise ValueError(f"unknown loss {name!r}; expected one of {LOSSES}")
    valid = recipe.options()
    renamed = {old for old, new in DEPRECATED_KEYWORDS.items() if new in valid}
    unknown = sorted(set(kwargs) - set(valid) - renamed)
    if unknown:
        raise ValueError(
            f"loss {name!r} got unknown keyword(s) {unknown}; valid keywords are {valid}"
        )
    if recipe.counts is not None and class_counts is None:
        raise ValueError(f"loss {name!r} needs class_counts=, the training count of every class")
    if recipe.counts == "counts":
        kwargs["class_counts"] = class_counts
    elif recipe.counts == "inverse_frequency":
        kwargs["weight"] = inverse_frequency_weights(class_counts)
    elif recipe.counts == "class_balanced":
        beta = {"beta": kwargs.pop("beta")} if "beta" in kwargs else {}
        kwargs["weight"] = class_balanced_weights(class_counts, **beta)
    return recipe.loss(**kwargs, **recipe.fixed)
