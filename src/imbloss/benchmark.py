"""Interleaved timing of forward + backward: the one timer of notebook 05 and ``bench/``.

Two callables alternate step by step in one process (which goes first alternates too), so
load from other programs hits both alike. Times are CPU time of the process
(``time.process_time``), which leaves out the time other programs hold the cores. A
comparison gives the median times of the two, the median of the ratios of adjacent steps
(ours / theirs; a target applies to it) and, as a check on a busy machine, the ratio of the
fastest steps of each.

:func:`loss_cost` times every loss of :data:`imbloss.losses.LOSSES` against
``F.cross_entropy`` on float32 logits (N, C) on the CPU, with targets drawn from the class
counts of the names data (18 classes, 9,408 down to 73 examples); each loss is built with
``build_loss(name, class_counts=...)``, so its argument checks are timed too. Its columns:

* ``"kept"``: the float settings a training loop runs with (denormals not flushed); the
  target, 1.3, applies to it;
* ``"flushed"``: denormals flushed to zero (``torch.set_flush_denormal(True)``) for both
  sides; on x86 CPUs arithmetic on denormals is many times slower;
* ``"compiled"``: ``torch.compile`` (inductor) of the loss against
  ``torch.compile(F.cross_entropy)``, denormals not flushed.

``bench/bench_losses.py`` is its command line, ``bench/bench_peers.py`` uses
:func:`interleaved` against other libraries; notebook 05 calls :func:`loss_cost` from the
installed package (Colab) as well as from a clone.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from imbloss.checks import check_int
from imbloss.losses import LOSSES, build_loss

#: Training counts of the 18 classes of the names data (Russian ... Vietnamese).
NAMES_COUNTS = (9408, 3668, 2000, 991, 724, 709, 519, 298, 297, 277, 268, 232, 203, 139, 100, 94)
NAMES_COUNTS += (74, 73)
TARGET_RATIO = 1.3  # every softmax loss against F.cross_entropy, denormals kept
COLUMNS = ("kept", "flushed", "compiled")
CLOCK = time.process_time

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def step_seconds(loss_fn: LossFn, logits: torch.Tensor, target: torch.Tensor) -> float:
    """CPU seconds of one forward + backward of ``loss_fn(logits, target)``."""
    logits.grad = None
    start = CLOCK()
    loss_fn(logits, target).backward()
    return CLOCK() - start


def interleaved(
    ours: LossFn,
    theirs: LossFn,
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    repeats: int,
    warmup: int,
) -> dict:
    """Time ``ours`` against ``theirs`` in alternating steps: ``{"ours_ms", "theirs_ms",
    "ratio", "min_ratio"}`` (median times, median of the pairwise ratios ours / theirs, and
    the ratio of the fastest steps)."""
    check_int("repeats", repeats, minimum=1)
    check_int("warmup", warmup, minimum=0)
    for _ in range(warmup):
        step_seconds(ours, logits, target)
        step_seconds(theirs, logits, target)
    times: dict[str, list[float]] = {"ours": [], "theirs": []}
    for i in range(repeats):
        pair = [("ours", ours), ("theirs", theirs)]
        for key, fn in pair if i % 2 == 0 else pair[::-1]:
            times[key].append(step_seconds(fn, logits, target))
    ratios = [a / b for a, b in zip(times["ours"], times["theirs"])]
    return {
        "ours_ms": round(1e3 * statistics.median(times["ours"]), 3),
        "theirs_ms": round(1e3 * statistics.median(times["theirs"]), 3),
        "ratio": round(statistics.median(ratios), 3),
        "min_ratio": round(min(times["ours"]) / min(times["theirs"]), 3),
    }


def loss_cost(
    losses: Sequence[str] = LOSSES,
    *,
    n: int = 65_536,
    repeats: int = 60,
    warmup: int = 5,
    threads: int = 1,
    columns: Sequence[str] = ("kept",),
) -> dict:
    """Time every loss of ``losses`` against cross-entropy on ``n`` rows; return
    ``{"setup": {...}, "rows": [{"loss", "target", <column>: interleaved(...)}, ...]}``.

    The torch thread count and the denormal setting are restored afterwards.
    """
    unknown = sorted(set(losses) - set(LOSSES))
    if unknown:
        raise ValueError(f"unknown losses {unknown}; expected names from {LOSSES}")
    bad = sorted(set(columns) - set(COLUMNS))
    if bad or not columns:
        raise ValueError(f"columns {list(columns)}: expected one or more of {COLUMNS}")
    old_threads, old_flush = torch.get_num_threads(), _flush_denormal_enabled()
    torch.set_num_threads(threads)
    try:
        generator = torch.Generator().manual_seed(0)
        counts = torch.tensor(NAMES_COUNTS)
        target = torch.multinomial(counts / counts.sum(), n, replacement=True, generator=generator)
        logits = (2 * torch.randn(n, len(counts), generator=generator)).requires_grad_()
        compiled_ce = torch.compile(F.cross_entropy) if "compiled" in columns else None
        rows = []
        for name in losses:
            row = {"loss": name, "target": TARGET_RATIO}
            for column in columns:
                torch.set_flush_denormal(column == "flushed")
                ours, theirs = build_loss(name, class_counts=counts), F.cross_entropy
                if column == "compiled":
                    ours, theirs = torch.compile(ours), compiled_ce
                row[column] = interleaved(
                    ours, theirs, logits, target, repeats=repeats, warmup=warmup
                )
            rows.append(row)
    finally:
        torch.set_num_threads(old_threads)
        torch.set_flush_denormal(old_flush)
    setup = {"n": n, "c": len(NAMES_COUNTS), "threads": threads, "repeats": repeats}
    setup.update(torch=torch.__version__, clock="process CPU time", columns=list(columns))
    return {"setup": setup, "rows": rows}


def _flush_denormal_enabled() -> bool:
    """Whether denormals are being flushed now (``set_flush_denormal`` does not say)."""
    tiny = torch.tensor(torch.finfo(torch.float32).tiny)
    return bool((tiny / 2) == 0)


def markdown(rows: list[dict]) -> str:
    """The rows of :func:`loss_cost` as a Markdown table: the times of the first column, then
    the median ratio of every column, marked where the kept ratio is over its target."""
    columns = [c for c in COLUMNS if c in rows[0]]
    first = columns[0]
    lines = [
        "| loss | loss ms | CE ms | " + " | ".join(columns) + " | target |",
        "|---|---:|---:|" + "---:|" * len(columns) + "---:|",
    ]
    for r in rows:
        cells = [r["loss"], f"{r[first]['ours_ms']:.2f}", f"{r[first]['theirs_ms']:.2f}"]
        for column in columns:
            over = column == "kept" and r[column]["ratio"] > r["target"]
            cells.append(f"{r[column]['ratio']:.2f}" + (" (over)" if over else ""))
        lines.append("| " + " | ".join(cells) + f" | {r['target']} |")
    return "\n".join(lines)
