"""Interleaved timing of two callables, shared by the benchmarks: a table of ratios.

Each step is one forward + backward; the two sides alternate (which goes first alternates
too), so load from other programs hits both alike. Times are CPU time of the process
(``time.process_time``), which leaves out the time other programs hold the cores. The ratio
is the median over adjacent pairs of (ours / theirs).
"""

from __future__ import annotations

import statistics
import time

CLOCK = time.process_time


def step_seconds(loss_fn, logits, target) -> float:
    """Seconds of one forward + backward of ``loss_fn(logits, target)``."""
    logits.grad = None
    start = CLOCK()
    loss_fn(logits, target).backward()
    return CLOCK() - start


def ratio(ours, theirs, logits, target, repeats: int, warmup: int) -> dict:
    """Median times (ms) of ``ours`` and ``theirs`` and the median of their pairwise ratios."""
    for _ in range(warmup):
        step_seconds(ours, logits, target)
        step_seconds(theirs, logits, target)
    times = {"ours": [], "theirs": []}
    for i in range(repeats):
        pair = [("ours", ours), ("theirs", theirs)]
        for key, fn in pair if i % 2 == 0 else pair[::-1]:
            times[key].append(step_seconds(fn, logits, target))
    ratios = [a / b for a, b in zip(times["ours"], times["theirs"])]
    return {
        "ours_ms": round(1e3 * statistics.median(times["ours"]), 3),
        "theirs_ms": round(1e3 * statistics.median(times["theirs"]), 3),
        "ratio": round(statistics.median(ratios), 3),
    }
