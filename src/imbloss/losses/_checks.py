"""The losses' checks of tensors, beside the package's checks of numbers and choices
(:mod:`imbloss.checks`, re-exported here): errors name the bad value and what was expected;
a wrong type (a list for a tensor, integer logits, float class indices) raises ``TypeError``,
a wrong shape or value ``ValueError``.

Checks of tensor *values* (a class index out of range, a negative weight) wait for the
device; they are skipped while ``torch.compile`` traces a function
(:func:`torch.compiler.is_compiling`), so that a compiled loss neither syncs nor breaks its
graph. Checks of metadata (dtype, shape) and of Python numbers always run.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..checks import check_choice, check_int, check_real

__all__ = [
    "REDUCTIONS",
    "check_choice",
    "check_class_indices",
    "check_class_vector",
    "check_int",
    "check_label_smoothing",
    "check_logits",
    "check_real",
    "check_reduction",
    "check_sigmoid_inputs",
    "check_softmax_shapes",
]

REDUCTIONS = ("mean", "sum", "none")


def check_reduction(reduction: str) -> None:
    check_choice("reduction", reduction, REDUCTIONS)


def check_label_smoothing(label_smoothing: float) -> None:
    """``label_smoothing`` must be a number in [0, 1], as ``F.cross_entropy`` takes it."""
    check_real("label_smoothing", label_smoothing, low=0.0, high=1.0)


def _values_checked() -> bool:
    """Whether checks that read tensor values run: not while torch.compile traces."""
    return not torch.compiler.is_compiling()


def check_softmax_shapes(logits: torch.Tensor, target: torch.Tensor) -> None:
    """Check float ``logits`` (N, C, d1, ...) against integer ``target`` (N, d1, ...)."""
    check_logits(logits, min_dim=2)
    if (
        not isinstance(target, torch.Tensor)
        or target.is_floating_point()
        or target.is_complex()
        or target.dtype == torch.bool
    ):
        dtype = target.dtype if isinstance(target, torch.Tensor) else type(target).__name__
        raise TypeError(
            f"target must be an integer tensor of class indices; got {dtype} "
            "(for float / multi-label targets use the sigmoid losses)"
        )
    expected = (logits.shape[0],) + tuple(logits.shape[2:])
    if tuple(target.shape) != expected:
        raise ValueError(
            f"target has shape {tuple(target.shape)} but logits of shape {tuple(logits.shape)} "
            f"need target of shape {expected}"
        )


def check_logits(logits: torch.Tensor, *, min_dim: int) -> None:
    """``logits`` must be a floating-point tensor of at least ``min_dim`` dimensions."""
    if not isinstance(logits, torch.Tensor) or not logits.is_floating_point():
        got = f"dtype {logits.dtype}" if isinstance(logits, torch.Tensor) else type(logits).__name__
        raise TypeError(f"logits must be a floating-point tensor; got {got}")
    if logits.dim() < min_dim:
        raise ValueError(
            f"logits must have shape (N, C) or (N, C, d1, ...); got shape {tuple(logits.shape)}"
        )


def check_sigmoid_inputs(
    logits: torch.Tensor, target: torch.Tensor, ignore_index: float | None, *, min_dim: int
) -> bool:
    """Check float ``logits`` and a float ``target`` of the same shape whose values are
    probabilities in [0, 1] or ``ignore_index``.

    Returns whether some element may equal ``ignore_index``: False when the check has
    seen every value in [0, 1] and ``ignore_index`` lies outside it (then the caller needs
    no mask, a pass and a tensor saved), True otherwise and while compiling.
    """
    check_logits(logits, min_dim=min_dim)
    if not isinstance(target, torch.Tensor) or not target.is_floating_point():
        dtype = target.dtype if isinstance(target, torch.Tensor) else type(target).__name__
        raise TypeError(
            f"target must be a floating-point tensor of 0/1 labels or probabilities; got {dtype} "
            "(for integer class indices use the softmax losses)"
        )
    if target.shape != logits.shape:
        raise ValueError(
            f"target must have the shape of logits {tuple(logits.shape)}; got {tuple(target.shape)}"
        )
    if ignore_index is None:
        may_ignore = False
    else:
        may_ignore = not _values_checked() or 0 <= ignore_index <= 1
    if target.numel() and _values_checked():
        lo, hi = torch.stack(torch.aminmax(target)).tolist()
        if not (lo >= 0 and hi <= 1) and ignore_index is not None:  # a second pass
            may_ignore = True
            safe = torch.where(target != ignore_index, target, 0)
            lo, hi = torch.stack(torch.aminmax(safe)).tolist()
        if not (lo >= 0 and hi <= 1):  # also false for NaN
            also = "" if ignore_index is None else f" or ignore_index={ignore_index}"
            raise ValueError(
                f"target contains {hi if lo >= 0 else lo}; expected values in [0, 1]{also}"
            )
    return may_ignore


def check_class_indices(
    target: torch.Tensor, num_classes: int, ignore_index: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Check that every kept target is a class index in [0, num_classes).

    Returns ``(safe_target, keep)``: the target with ignored positions replaced by a class
    index, and the mask of kept positions. The check is one min/max of the target (one wait
    for the device), and a second of the masked target when the first finds values outside
    the classes (``ignore_index`` among them); while compiling there is no check and the
    masking is branch-free.
    """
    keep = target != ignore_index
    if not (target.numel() and _values_checked()):
        return torch.where(keep, target, 0), keep
    lo, hi = torch.stack(torch.aminmax(target)).tolist()
    if 0 <= lo and hi < num_classes:
        return target, keep
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
    if _values_checked():
        bad = ~(tensor > 0) if positive else ~(tensor >= 0)  # NaN is bad too
        if bool(bad.any()):
            sign = "positive" if positive else "non-negative"
            raise ValueError(f"{name} must be {sign} for every class; got {tensor.tolist()}")
    return tensor
