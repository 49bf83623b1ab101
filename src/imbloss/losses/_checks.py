"""Argument validation shared by every loss: errors name the bad value and what was expected."""

from __future__ import annotations

from collections.abc import Sequence

import torch

REDUCTIONS = ("mean", "sum", "none")


def check_reduction(reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction={reduction!r} is not valid; expected one of {REDUCTIONS}")


def check_softmax_shapes(logits: torch.Tensor, target: torch.Tensor) -> None:
    """Check float ``logits`` (N, C, d1, ...) against integer ``target`` (N, d1, ...).

    Reads only metadata, so it never waits for the device.
    """
    if not isinstance(logits, torch.Tensor) or not logits.is_floating_point():
        raise ValueError(
            "logits must be a floating-point tensor of shape (N, C) or (N, C, d1, ...); "
            f"got {type(logits).__name__}"
            + (f" of dtype {logits.dtype}" if isinstance(logits, torch.Tensor) else "")
        )
    if logits.dim() < 2:
        raise ValueError(
            f"logits must have shape (N, C) or (N, C, d1, ...); got shape {tuple(logits.shape)}"
        )
    if (
        not isinstance(target, torch.Tensor)
        or target.is_floating_point()
        or target.is_complex()
        or target.dtype == torch.bool
    ):
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


def check_class_indices(
    target: torch.Tensor, num_classes: int, ignore_index: int
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Check that every kept target is a class index in [0, num_classes).

    Returns ``(safe_target, keep)``: the target with ignored positions replaced
    by 0, and the mask of kept positions, or None when every position is kept.
    One min/max pass (one wait for the device) decides the usual case; a batch
    with ignored positions takes a second pass.
    """
    if target.numel() == 0:
        return target, None
    lo, hi = torch.stack(torch.aminmax(target)).tolist()
    ignore_is_class = 0 <= ignore_index < num_classes
    if 0 <= lo and hi < num_classes:
        return target, (target != ignore_index) if ignore_is_class else None
    keep = target != ignore_index
    safe_target = torch.where(keep, target, 0)
    lo, hi = torch.stack(torch.aminmax(safe_target)).tolist()
    if lo < 0 or hi >= num_classes:
        raise ValueError(
            f"target contains class index {lo if lo < 0 else hi}; expected values in "
            f"[0, {num_classes - 1}] or ignore_index={ignore_index}"
        )
    return safe_target, keep


def check_class_vector(
    value: torch.Tensor | Sequence[float] | None,
    num_classes: int | None,
    name: str,
    *,
    positive: bool = False,
) -> torch.Tensor | None:
    """Turn a per-class vector into a 1-D float tensor of length ``num_classes`` (if given).

    Entries must be non-negative (integers become float32), or with
    ``positive=True`` strictly positive (returned as float64, for counts).
    """
    if value is None:
        return None
    tensor = torch.as_tensor(value, dtype=torch.float64 if positive else None)
    if not tensor.is_floating_point():
        tensor = tensor.float()
    if tensor.dim() != 1:
        raise ValueError(
            f"{name} must be a 1-D vector with one entry per class; got shape {tuple(tensor.shape)}"
        )
    if num_classes is not None and tensor.numel() != num_classes:
        raise ValueError(
            f"{name} has length {tensor.numel()} but there are {num_classes} classes; "
            f"expected length {num_classes}"
        )
    if positive and not bool((tensor > 0).all()):
        raise ValueError(f"{name} must be positive for every class; got {tensor.tolist()}")
    if not positive and not bool((tensor >= 0).all()):
        raise ValueError(f"{name} must be non-negative for every class; got {tensor.tolist()}")
    return tensor


def check_range(
    name: str,
    value: float,
    lo: float,
    hi: float,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
) -> None:
    """Check ``lo <= value <= hi`` with optional open ends, naming the interval in the error."""
    too_low = value <= lo if lo_open else value < lo
    too_high = value >= hi if hi_open else value > hi
    if too_low or too_high or value != value:  # value != value catches NaN
        interval = f"{'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}"
        raise ValueError(f"{name}={value!r} is out of range; expected a value in {interval}")
