"""Time forward + backward of every loss in ``imbloss.LOSSES`` against ``F.cross_entropy``.

Float32 logits (N, C) on the CPU, targets drawn from the class counts of the names data
(18 classes, 9408 down to 73 examples). Each loss is built with
``build_loss(name, class_counts=...)``, so its argument checks are timed too. Loss and
cross-entropy steps alternate in one process (``bench/_pairs.py``); the table gives the
median of the ratios of adjacent steps (loss time / CE time), CPU time of the process.

Columns, all from one run:

* eager, with the float settings a training loop runs with (denormals not flushed);
  the target, 1.3, applies to it;
* eager with denormals flushed to zero (``torch.set_flush_denormal(True)``), for
  comparison with earlier tables: on x86 arithmetic on denormals is many times slower;
* compiled (``--compile``): ``torch.compile`` (inductor) of the loss against
  ``torch.compile(F.cross_entropy)``, denormals not flushed.

    python bench/bench_losses.py [--n 65536] [--repeats 40] [--threads 1] [--compile]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
import torch.nn.functional as F
from _pairs import ratio

from imbloss import LOSSES, build_loss

# training counts of the 18 classes of the names data (surnames by language)
NAMES_COUNTS = (9408, 3668, 2000, 991, 724, 709, 519, 298, 297, 277, 268, 232, 203, 139, 100, 94)
NAMES_COUNTS += (74, 73)
TARGET = 1.3


def markdown(rows: list[dict], compiled: bool) -> str:
    head = "| loss | loss ms | CE ms | ratio | flushed | " + ("compiled | " if compiled else "")
    lines = [
        head + "target |",
        "|---|---:|---:|---:|---:|" + ("---:|" if compiled else "") + "---:|",
    ]
    for r in rows:
        kept = r["kept"]
        cells = [r["loss"], f"{kept['ours_ms']:.2f}", f"{kept['theirs_ms']:.2f}"]
        cells.append(f"{kept['ratio']:.2f}" + ("" if kept["ratio"] <= TARGET else " (over)"))
        cells.append(f"{r['flushed']['ratio']:.2f}")
        if compiled:
            cells.append(f"{r['compiled']['ratio']:.2f}")
        lines.append("| " + " | ".join(cells) + f" | {TARGET} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=65_536, help="batch size N")
    parser.add_argument("--repeats", type=int, default=40, help="timed steps per loss")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps per loss")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--losses", nargs="+", default=list(LOSSES), choices=LOSSES)
    parser.add_argument("--compile", action="store_true", help="add the compiled column")
    parser.add_argument("--json", type=Path, help="also write the table here as JSON")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    generator = torch.Generator().manual_seed(0)
    counts = torch.tensor(NAMES_COUNTS)
    prior = counts / counts.sum()
    target = torch.multinomial(prior, args.n, replacement=True, generator=generator)
    logits = (2 * torch.randn(args.n, len(counts), generator=generator)).requires_grad_()
    compiled_ce = torch.compile(F.cross_entropy)

    rows = []
    for name in args.losses:
        loss_fn = build_loss(name, class_counts=counts)
        row = {"loss": name}
        for key, flush in (("kept", False), ("flushed", True)):
            torch.set_flush_denormal(flush)
            row[key] = ratio(loss_fn, F.cross_entropy, logits, target, args.repeats, args.warmup)
        torch.set_flush_denormal(False)
        if args.compile:
            compiled = torch.compile(build_loss(name, class_counts=counts))
            row["compiled"] = ratio(
                compiled, compiled_ce, logits, target, args.repeats, args.warmup
            )
        rows.append(row)
    print(
        f"N={args.n}, C={len(counts)}, float32, CPU, {args.threads} thread(s), "
        f"torch {torch.__version__}, median of {args.repeats} interleaved steps (CPU time)\n"
    )
    print(markdown(rows, args.compile))
    if args.json:
        meta = {"n": args.n, "c": len(counts), "threads": args.threads, "repeats": args.repeats}
        meta.update(torch=torch.__version__, clock="process CPU time")
        args.json.write_text(json.dumps({"setup": meta, "rows": rows}, indent=2) + "\n")
    return rows


if __name__ == "__main__":
    main()
