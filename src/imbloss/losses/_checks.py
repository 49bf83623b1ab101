"""Argument validation shared by every loss: errors name the bad value and what was expected."""

from __future__ import annotations

from collections.abc import Sequence

import torch

REDUCTIONS = ("mean", "sum", "none")


def check_reduction(reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction={reduction!r} is not valid; expected one of {REDUCTIONS}")


def check_softmax_inputs(logits: torch.Tensor, target: torch.Tensor, ignore_index: int) -> None:
    """Check ``logits`` (N, C) or (N, C, d1, ...) against integer ``target`` (N) or (N, d1, ...)."""
    if not isinstance(logits, torch.Tensor) or not logits.is_floating_point():
        raise ValueError(
            f"logits must be a floating-point tensor of shape (N, C) or (N, C, d1, ...); "
            f"got {type(logits).__name__}"
            + (f" of dtype {logits.dtype}" if isinstance(logits, torch.Tensor) else "")
        )
    if logits.dim() < 2:
        raise ValueError(
            f"logits must have shape (N, C) or (N, C, d1, ...); got shape {tuple(logits.shape)}"
        )
    if not isinstance(target, torch.Tensor) or target.is_floating_point() or target.is_complex():
        dtype = target.dtype if isinstance(target, torch.Tensor) else type(target).__name__
        raise ValueError(
            f"target must be an integer tensor of class indices; got {dtype} "
            "(for float / multi-label targets use the sigmoid losses)"
        )
    expected = (logits.shape[0],) + tuple(logits.shape[2:])
    if tuple(target.shape) != expected:
        raise ValueError(
            f"target has shape {tuple(target.shape)} but logits of shape {tuple(logits.shape)} "
            f"need target of shape {expected}"
        )
    if target.numel():
        num_classes = logits.shape[1]
        valid = target[target != ignore_index]
        if valid.numel():
            lo, hi = int(valid.min()), int(valid.max())
            if lo < 0 or hi >= num_classes:
                bad = lo if lo < 0 else hi
                raise ValueError(
                    f"target contains class index {bad}; expected values in [0, {num_classes - 1}] "
                    f"or ignore_index={ignore_index}"
                )


def check_class_vector(
    value: torch.Tensor | Sequence[float] | None,
    num_classes: int | None,
    name: str,
    *,
    positive: bool = False,
) -> torch.Tensor | None:
    """Turn a per-class vector into a 1-D float tensor of length ``num_classes`` (if given)."""
    if value is None:
        return None
    tensor = torch.as_tensor(value, dtype=torch.float64 if positive else None)
    if not tensor.is_floating_point():
        tensor = tensor.double()
    if tensor.dim() != 1:
        raise ValueError(f"{name} must be a 1-D vector with one entry per class; got shape "
                         f"{tuple(tensor.shape)}")
    if num_classes is not None and tensor.numel() != num_classes:
        raise ValueError(
            f"{name} has length {tensor.numel()} but there are {num_classes} classes; "
            f"expected length {num_classes}"
        )
    if positive and bool((tensor <= 0).any()):
        raise ValueError(f"{name} must be positive for every class; got {tensor.tolist()}")
    if not positive and bool((tensor < 0).any()):
        raise ValueError(f"{name} must be non-negative; got {tensor.tolist()}")
    return tensor


def check_range(name: str, value: float, lo: float, hi: float, *, lo_open: bool = False,
                hi_open: bool = False) -> None:
    """Check ``lo <= value <= hi`` with optional open ends, naming the interval in the error."""
    too_low = value <= lo if lo_open else value < lo
    too_high = value >= hi if hi_open else value > hi
    if too_low or too_high or value != value:  # value != value catches NaN
        interval = f"{'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}"
        raise ValueError(f"{name}={value!r} is out of range; expected a value in {interval}")
