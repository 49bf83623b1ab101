"""Which training rows one epoch visits, and in what order: the data-level side of imbalance.

- ``natural``: every row once, shuffled. The class frequencies are those of the data; this is
  what the loss-level methods (weights, focal, margins, logit adjustment) are compared on.
- ``balanced``: class-balanced resampling, the data-level baseline. Every class present in
  ``y`` gets the same number of draws in the epoch (to within one when ``num_samples`` is not
  a multiple of the number of classes); within a class, rows are drawn uniformly with
  replacement; the epoch is then shuffled.
- ``uniform_language``: the old PyTorch char-RNN tutorial's draw, repeated independently: pick
  a class uniformly, then a row of it uniformly. Each class is expected to get the same share
  as under ``balanced``, but the counts vary from epoch to epoch (multinomial). The 2019
  experiment trained *and* evaluated this way; :func:`uniform_language_eval_indices` draws such
  an evaluation set, so that its numbers can be reproduced next to the natural test set.

Every function draws from the ``torch.Generator`` it is given, so an epoch is reproducible.
"""

from __future__ import annotations

import torch

from imbloss.checks import check_choice, check_int

SAMPLERS = ("natural", "balanced", "uniform_language")


def epoch_indices(
    kind: str,
    y: torch.Tensor,
    *,
    generator: torch.Generator,
    num_samples: int | None = None,
) -> torch.Tensor:
    """Row indices (int64, length ``num_samples``, default ``len(y)``) for one epoch.

    ``y`` is the (N) integer class of every training row. For ``natural`` with
    ``num_samples > N``, whole shuffled passes follow one another and the last is cut short.
    """
    check_choice("sampler kind", kind, SAMPLERS)
    _check_labels(y)
    n = len(y) if num_samples is None else num_samples
    check_int("num_samples", n, minimum=1)
    if kind == "natural":
        passes = -(-n // len(y))
        keys = torch.rand(passes, len(y), generator=generator)
        return keys.argsort(dim=1).reshape(-1)[:n]
    if kind == "balanced":
        return _balanced(y, n, generator)
    return _uniform_class_draws(y, n, generator)


def uniform_language_eval_indices(
    y: torch.Tensor, n: int, generator: torch.Generator
) -> torch.Tensor:
    """``n`` row indices drawn the old tutorial's way: a uniform class, then a uniform row of it.

    Drawn with replacement, as the tutorial did; accuracy on these rows estimates the
    class-balanced (macro-averaged) accuracy, which is what the 2019 experiment reported.
    """
    return epoch_indices("uniform_language", y, generator=generator, num_samples=n)


def _check_labels(y: torch.Tensor) -> None:
    if not isinstance(y, torch.Tensor) or y.is_floating_point() or y.is_complex():
        what = y.dtype if isinstance(y, torch.Tensor) else type(y).__name__
        raise TypeError(f"y must be a 1-D integer tensor of class indices; got {what}")
    if y.dim() != 1:
        raise ValueError(f"y must be a 1-D tensor of class indices; got shape {tuple(y.shape)}")
    if len(y) == 0:
        raise ValueError("y is empty; an epoch needs at least one row")


def _rows_by_class(y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Row indices sorted by class, where each present class starts in them, and its count."""
    order = torch.argsort(y, stable=True)
    _, counts = torch.unique(y, return_counts=True)
    starts = torch.cumsum(counts, 0) - counts
    return order, starts, counts


def _pick_rows(y: torch.Tensor, slots: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """For each entry of ``slots`` (a present class, 0..K-1), a uniform row of that class."""
    order, starts, counts = _rows_by_class(y)
    u = torch.rand(len(slots), generator=generator, dtype=torch.float64)
    offsets = (u * counts[slots]).long().clamp_max_(counts[slots] - 1)
    return order[starts[slots] + offsets]


def _balanced(y: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
    k = len(torch.unique(y))
    extra = torch.randperm(k, generator=generator)[: n % k]
    slots = torch.cat([torch.arange(k).repeat(n // k), extra])
    slots = slots[torch.randperm(n, generator=generator)]
    return _pick_rows(y, slots, generator)


def _uniform_class_draws(y: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
    k = len(torch.unique(y))
    slots = torch.randint(k, (n,), generator=generator)
    return _pick_rows(y, slots, generator)
