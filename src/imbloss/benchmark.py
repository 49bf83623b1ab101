"""Time forward + backward of every loss in ``imbloss.LOSSES`` against ``F.cross_entropy``.

Float32 logits (N, C) on the CPU, targets drawn from the line counts of the 18 names
files (9408 down to 73). Each loss is built with ``build_loss(name, class_counts=...)``,
so its argument checks are timed too. Loss and cross-entropy steps alternate in one
process, so load from other programs hits both alike; a row gives the median times, the
median of the ratios of adjacent steps (loss time / CE time; the target applies to it)
and, as a check on a busy machine, the ratio of the fastest steps of each. Times are CPU
time of the process (``time.process_time``), which leaves out the time other programs
hold the cores.

Denormal floats are flushed to zero (``torch.set_flush_denormal``) for both sides unless
``keep_denormals``: on x86 CPUs arithmetic on them is many times slower, and LDAM's scale
s = 30 stretches the logits so far that many softmax terms land in that range, which
makes its time a measure of these random logits rather than of the loss (LDAM is meant
for cosine logits in [-1, 1], where ``exp(-2 s)`` stays normal).

``bench/bench_losses.py`` is the command line for :func:`loss_cost`; notebook 05 calls
it directly, so it works from the installed package (Colab) as well as from a clone.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from imbloss.losses import LOSSES, build_loss

#: Line counts of the 18 names files (Russian ... Vietnamese), the class prior of the targets.
NAMES_COUNTS = (9408, 3668, 2000, 991, 724, 709, 519, 298, 297, 277, 268, 232, 203, 139, 100, 94)
NAMES_COUNTS += (74, 73)
TARGET_RATIO = {"ghm": 1.6}  # every other loss: 1.3
DEFAULT_TARGET = 1.3
CLOCK = time.process_time  # CPU time of this process: not counting time other programs run


def step_seconds(loss_fn, logits: torch.Tensor, target: torch.Tensor) -> float:
    """Seconds for one forward + backward."""
    logits.grad = None
    start = CLOCK()
    loss_fn(logits, target).backward()
    return CLOCK() - start


def measure(name: str, logits, target, counts, repeats: int, warmup: int) -> dict:
    """One row of :func:`loss_cost` for the loss ``name``."""
    loss_fn = build_loss(name, class_counts=counts)
    for _ in range(warmup):
        step_seconds(loss_fn, logits, target)
        step_seconds(F.cross_entropy, logits, target)
    loss_times, ce_times = [], []
    for i in range(repeats):
        # alternate which goes first, so neither always follows the other
        pair = [(loss_fn, loss_times), (F.cross_entropy, ce_times)]
        for fn, times in pair if i % 2 == 0 else pair[::-1]:
            times.append(step_seconds(fn, logits, target))
    ratios = [a / b for a, b in zip(loss_times, ce_times)]
    return {
        "loss": name,
        "loss_ms": round(1e3 * statistics.median(loss_times), 3),
        "ce_ms": round(1e3 * statistics.median(ce_times), 3),
        "ratio": round(statistics.median(ratios), 3),
        "min_ratio": round(min(loss_times) / min(ce_times), 3),
        "target": TARGET_RATIO.get(name, DEFAULT_TARGET),
    }


def loss_cost(
    losses: Sequence[str] = LOSSES,
    *,
    n: int = 65_536,
    repeats: int = 60,
    warmup: int = 5,
    threads: int = 1,
    keep_denormals: bool = False,
) -> dict:
    """Time every loss of ``losses`` against cross-entropy on ``n`` rows; return
    ``{"setup": {...}, "rows": [one dict per loss]}`` (the JSON of ``bench_losses.py``).

    The torch thread count and the denormal setting are restored afterwards.
    """
    unknown = sorted(set(losses) - set(LOSSES))
    if unknown:
        raise ValueError(f"unknown losses {unknown}; expected names from {LOSSES}")
    old_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    flushed = torch.set_flush_denormal(not keep_denormals) and not keep_denormals
    try:
        generator = torch.Generator().manual_seed(0)
        counts = torch.tensor(NAMES_COUNTS)
        prior = counts / counts.sum()
        target = torch.multinomial(prior, n, replacement=True, generator=generator)
        logits = (2 * torch.randn(n, len(counts), generator=generator)).requires_grad_()
        rows = [measure(name, logits, target, counts, repeats, warmup) for name in losses]
    finally:
        torch.set_num_threads(old_threads)
        torch.set_flush_denormal(False)
    setup = {"n": n, "c": len(NAMES_COUNTS), "threads": threads, "repeats": repeats}
    setup.update(torch=torch.__version__, denormals_flushed=flushed, clock="process CPU time")
    return {"setup": setup, "rows": rows}


def markdown(rows: list[dict]) -> str:
    """The rows of :func:`loss_cost` as a Markdown table."""
    lines = [
        "| loss | loss ms | CE ms | ratio | min ratio | target |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        mark = "" if r["ratio"] <= r["target"] else " (over)"
        lines.append(
            f"| {r['loss']} | {r['loss_ms']:.2f} | {r['ce_ms']:.2f} | "
            f"{r['ratio']:.2f}{mark} | {r['min_ratio']:.2f} | {r['target']} |"
        )
    return "\n".join(lines)
