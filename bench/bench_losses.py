"""Time forward + backward of every loss in ``imbloss.LOSSES`` against ``F.cross_entropy``.

Float32 logits (N, C) on the CPU, targets drawn from the class counts of the
names data (18 classes, 9408 down to 73 examples). Each loss is built with
``build_loss(name, class_counts=...)``, so its argument checks are timed too.
Loss and cross-entropy steps alternate in one process, so load from other
programs hits both alike; the table gives the median times and the median of
the ratios of adjacent steps (loss time / CE time; the target applies to it),
and, as a check on a busy machine, the ratio of the fastest steps of each, as
Markdown; ``--json PATH`` also writes it as JSON. Times are CPU time of the
process (``time.process_time``), which leaves out the time other programs hold
the cores.

Denormal floats are flushed to zero (``torch.set_flush_denormal``) for both
sides unless ``--keep-denormals``: on x86 CPUs arithmetic on them is many
times slower, and LDAM's scale s = 30 stretches the logits so far that many
softmax terms land in that range, which makes its time a measure of these
random logits rather than of the loss (LDAM is meant for cosine logits in
[-1, 1], where ``exp(-2 s)`` stays normal).

    python bench/bench_losses.py [--n 65536] [--repeats 60] [--threads 1] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from imbloss import LOSSES, build_loss

# training counts of the 18 classes of the names data (surnames by language)
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


def markdown(rows: list[dict]) -> str:
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


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=65_536, help="batch size N")
    parser.add_argument("--repeats", type=int, default=60, help="timed steps per loss")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps per loss")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--losses", nargs="+", default=list(LOSSES), choices=LOSSES)
    parser.add_argument(
        "--keep-denormals",
        action="store_true",
        help="do not flush denormal floats to zero (see the module docstring)",
    )
    parser.add_argument("--json", type=Path, help="also write the table here as JSON")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    flushed = torch.set_flush_denormal(not args.keep_denormals) and not args.keep_denormals
    generator = torch.Generator().manual_seed(0)
    counts = torch.tensor(NAMES_COUNTS)
    prior = counts / counts.sum()
    target = torch.multinomial(prior, args.n, replacement=True, generator=generator)
    logits = (2 * torch.randn(args.n, len(counts), generator=generator)).requires_grad_()

    rows = [
        measure(name, logits, target, counts, args.repeats, args.warmup) for name in args.losses
    ]
    print(
        f"N={args.n}, C={len(counts)}, float32, CPU, {args.threads} thread(s), "
        f"torch {torch.__version__}, denormals {'flushed' if flushed else 'kept'}, "
        f"median of {args.repeats} interleaved steps (CPU time of the process)\n"
    )
    print(markdown(rows))
    if args.json:
        meta = {"n": args.n, "c": len(counts), "threads": args.threads, "repeats": args.repeats}
        meta.update(torch=torch.__version__, denormals_flushed=flushed, clock="process CPU time")
        args.json.write_text(json.dumps({"setup": meta, "rows": rows}, indent=2) + "\n")
    return rows


if __name__ == "__main__":
    main()
