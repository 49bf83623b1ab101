"""What changes over a run's steps and epochs, beside :class:`~imbloss.config.TrainConfig`
(whose ``lr_schedule`` and ``drw_start`` choose them): the learning rate per optimiser step
and the epoch deferred re-weighting starts. The one trainer and the stacked one read them
here."""

from __future__ import annotations

import math

# the step schedule multiplies the learning rate by STEP_FACTOR at STEP_AT of training
STEP_AT, STEP_FACTOR = 0.8, 0.1
# deferred re-weighting's class-balanced weights (Cui et al. 2019, as LDAM-DRW uses them)
DRW_BETA = 0.9999


def learning_rate(config, step: int, total_steps: int) -> float:
    """The learning rate of optimiser step ``step`` (0-based) of ``total_steps``.

    cosine: ``lr * (1 + cos(pi * step / total_steps)) / 2`` (Loshchilov & Hutter 2017); step:
    ``lr`` before ``STEP_AT * total_steps`` and ``STEP_FACTOR * lr`` from there on; constant:
    ``lr``.
    """
    if config.lr_schedule == "cosine":
        return config.lr * 0.5 * (1.0 + math.cos(math.pi * step / total_steps))
    if config.lr_schedule == "step" and step >= STEP_AT * total_steps:
        return config.lr * STEP_FACTOR
    return config.lr


def drw_epoch(config) -> int | None:
    """The first epoch (1-based) trained with deferred re-weighting, or None without it:
    ``floor(drw_start * epochs) + 1``."""
    if config.drw_start is None:
        return None
    return int(math.floor(config.drw_start * config.epochs)) + 1
