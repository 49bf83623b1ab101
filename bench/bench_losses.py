"""Time forward + backward of every loss in ``imbloss.LOSSES`` against ``F.cross_entropy``.

The command line of :func:`imbloss.benchmark.loss_cost` (its docstring says what is
measured and how): prints the table as Markdown; ``--json PATH`` also writes it as JSON.

    python bench/bench_losses.py [--n 65536] [--repeats 60] [--threads 1] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from imbloss import LOSSES
from imbloss.benchmark import loss_cost, markdown


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
        help="do not flush denormal floats to zero (see imbloss.benchmark)",
    )
    parser.add_argument("--json", type=Path, help="also write the table here as JSON")
    args = parser.parse_args(argv)

    table = loss_cost(
        args.losses,
        n=args.n,
        repeats=args.repeats,
        warmup=args.warmup,
        threads=args.threads,
        keep_denormals=args.keep_denormals,
    )
    setup = table["setup"]
    print(
        f"N={setup['n']}, C={setup['c']}, float32, CPU, {setup['threads']} thread(s), "
        f"torch {setup['torch']}, denormals {'flushed' if setup['denormals_flushed'] else 'kept'}"
        f", median of {setup['repeats']} interleaved steps (CPU time of the process)\n"
    )
    print(markdown(table["rows"]))
    if args.json:
        args.json.write_text(json.dumps(table, indent=2) + "\n")
    return table["rows"]


if __name__ == "__main__":
    main()
