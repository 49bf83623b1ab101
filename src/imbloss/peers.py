"""The published code of the peers imbloss is tested and timed against, restated: one copy,
which the parity tests prove imbloss equal to and ``bench/bench_peers.py`` times imbloss
against, so the benchmark times what the tests prove equal.

* :func:`torchvision_sigmoid_focal_loss`: ``torchvision.ops.sigmoid_focal_loss``
  (pytorch/vision, ``torchvision/ops/focal_loss.py``, from fvcore), written out because
  PyPI's torchvision does not import beside every torch this package supports;
* :func:`mmdet_ghmc`: mmdetection's ``GHMC.forward``, sigmoid form (open-mmlab/mmdetection,
  ``mmdet/models/losses/ghm_loss.py``, class ``GHMC``, read at commit 080742cb): one masked
  pass per bin, with a host sync per bin, as published.

These are references, not part of the losses' API: they keep the peers' numerics (the
NaN gradients of torchvision's formula at saturated logits, mmdetection's per-bin loop).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def torchvision_sigmoid_focal_loss(
    inputs: torch.Tensor,
    targets: torch.Tensor,
    alpha: float = 0.25,
    gamma: float = 2.0,
    reduction: str = "none",
) -> torch.Tensor:
    """torchvision's formula: ``p = σ(x)``, ``ce = BCE-with-logits(x, t)``,
    ``p_t = p t + (1 - p)(1 - t)``, ``loss = ce (1 - p_t)^γ``, times
    ``α t + (1 - α)(1 - t)`` if ``α >= 0``, then ``"mean"``, ``"sum"`` or ``"none"``."""
    p = torch.sigmoid(inputs)
    ce_loss = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce_loss * ((1 - p_t) ** gamma)
    if alpha >= 0:
        alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
        loss = alpha_t * loss
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def mmdet_edges(bins: int) -> torch.Tensor:
    """mmdetection's bin edges over [0, 1]: ``arange(bins + 1) / bins``, the last raised by
    1e-6 so that ``g = 1`` falls in the last bin."""
    edges = torch.arange(bins + 1).float() / bins
    edges[-1] += 1e-6
    return edges


def mmdet_ghmc(
    pred: torch.Tensor,
    target: torch.Tensor,
    label_weight: torch.Tensor,
    acc_sum: torch.Tensor,
    *,
    bins: int,
    momentum: float,
) -> torch.Tensor:
    """mmdetection's ``GHMC.forward`` as a loop over the bins.

    Per bin: the kept elements (``label_weight > 0``) whose ``g = |σ(pred) - target|`` lies in
    ``[edges[i], edges[i+1])`` get ``tot / count``, or ``tot / acc_sum[i]`` after the moving
    average (updated only for non-empty bins); the weights are divided by the number of
    non-empty bins; the loss is the weighted BCE-with-logits sum over ``tot``, with
    ``tot = max(number of kept elements, 1)``. ``acc_sum`` is updated in place.
    """
    edges = mmdet_edges(bins).to(pred.device)
    weights = torch.zeros_like(pred)
    g = torch.abs(pred.sigmoid().detach() - target)
    valid = label_weight > 0
    tot = max(valid.float().sum().item(), 1.0)
    non_empty = 0
    for i in range(bins):
        inds = (g >= edges[i]) & (g < edges[i + 1]) & valid
        num_in_bin = inds.sum().item()
        if num_in_bin > 0:
            if momentum > 0:
                acc_sum[i] = momentum * acc_sum[i] + (1 - momentum) * num_in_bin
                weights[inds] = tot / acc_sum[i]
            else:
                weights[inds] = tot / num_in_bin
            non_empty += 1
    if non_empty > 0:
        weights = weights / non_empty
    return F.binary_cross_entropy_with_logits(pred, target, weights, reduction="sum") / tot
