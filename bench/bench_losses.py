"""Time forward + backward of every loss in ``imbloss.LOSSES`` against ``F.cross_entropy``.

The command line of :func:`imbloss.benchmark.loss_cost` (see there for the data and the
columns): float32 logits (N, C) on the CPU, targets from the names data's class counts,
loss and cross-entropy steps interleaved in one process, CPU time. Prints a Markdown
table of the median ratios (loss / CE); the target, 1.3, applies to the "kept" column.

    python bench/bench_losses.py [--n 65536] [--repeats 40] [--threads 1] [--compile]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from imbloss import LOSSES
from imbloss.benchmark import loss_cost, markdown


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=65_536, help="batch size N")
    parser.add_argument("--repeats", type=int, default=40, help="timed steps per loss")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps per loss")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--losses", nargs="+", default=list(LOSSES), choices=LOSSES)
    parser.add_argument("--compile", action="store_true", help="add the compiled column")
    parser.add_argument("--json", type=Path, help="also write the table here as JSON")
    args = parser.parse_args(argv)

    columns = ("kept", "flushed") + (("compiled",) if args.compile else ())
    cost = loss_cost(
        args.losses,
        n=args.n,
        repeats=args.repeats,
        warmup=args.warmup,
        threads=args.threads,
        columns=columns,
    )
    setup = cost["setup"]
    print(
        f"N={setup['n']}, C={setup['c']}, float32, CPU, {args.threads} thread(s), "
        f"torch {setup['torch']}, median of {args.repeats} interleaved steps (CPU time)\n"
    )
    print(markdown(cost["rows"]))
    if args.json:
        args.json.write_text(json.dumps(cost, indent=2) + "\n")
    return cost


if __name__ == "__main__":
    main()
