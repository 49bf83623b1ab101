"""CPU time per digits run: K one-model runs against the same K seeds trained stacked.

For each loss, the K seeds of one digits setting (the ``ci`` profile's: 200 epochs, batches
of 64, lr 0.01, cosine schedule) are trained ``--repeats`` times each way, alternating which
goes first, in one process with one torch thread; each split is prepared once beforehand and
given to both, so only training is timed. The ratio is (CPU time of the K one-model runs) /
(CPU time of the stack), the median over the repeats. Target: at least 5.

    python bench/bench_stacked.py --seeds 10 --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from imbloss.config import CONDITIONS, TrainConfig
from imbloss.stacked import fit_stacked
from imbloss.train import fit_and_predict, load_data

TARGET = 5.0


def configs(loss: str, seeds: int, epochs: int, ratio: float) -> list[TrainConfig]:
    fields = {"loss": loss, **CONDITIONS.get(loss, {})}
    return [
        TrainConfig(
            dataset="digits",
            dataset_kwargs={"imbalance_ratio": ratio},
            epochs=epochs,
            batch_size=64,
            lr=0.01,
            seed=seed,
            quiet=True,
            num_threads=1,
            **fields,
        )
        for seed in range(seeds)
    ]


def one_model_runs(runs: list[TrainConfig], data: list) -> None:
    for config, split in zip(runs, data):
        fit_and_predict(config, split)


def cpu_seconds(train, runs: list[TrainConfig], data: list) -> float:
    start = time.process_time()
    train(runs, data)
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--losses", nargs="+", default=["ce", "ghm", "ldam_drw"])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--imbalance-ratio", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(
        f"digits, imbalance ratio {args.imbalance_ratio:g}, {args.epochs} epochs, "
        f"{args.seeds} seeds, 1 thread, torch {torch.__version__}, median of {args.repeats} "
        "interleaved repeats (CPU time)\n"
    )
    print("| loss | one-model s/run | stacked s/run | one-model / stacked | target |")
    print("|---|---:|---:|---:|---:|")
    for loss in args.losses:
        runs = configs(loss, args.seeds, args.epochs, args.imbalance_ratio)
        data = [load_data(c.dataset, c.dataset_kwargs, c.seed) for c in runs]
        times = {"one": [], "stacked": []}
        for i in range(args.repeats):
            pair = [("one", one_model_runs), ("stacked", fit_stacked)]
            for key, train in pair if i % 2 == 0 else pair[::-1]:
                times[key].append(cpu_seconds(train, runs, data) / len(runs))
        ratio = statistics.median(a / b for a, b in zip(times["one"], times["stacked"]))
        print(
            f"| {loss} | {statistics.median(times['one']):.3f} | "
            f"{statistics.median(times['stacked']):.3f} | {ratio:.1f} | {TARGET:g} |"
        )


if __name__ == "__main__":
    main()
