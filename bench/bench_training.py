"""Training speed and accuracy of the default model against the PyTorch char-RNN tutorial's recipe.

Everything is measured in one run, on the same split of the names data (seed 0), on the CPU:

* the default model (:class:`imbloss.models.CharBiGRU`, ``TrainConfig()`` defaults: batches of
  512 index rows of the padded tensors, length grouping, Adam), trained ``--epochs`` epochs;
* the same without length grouping (``length_grouping=1``): how much the grouping buys;
* the tutorial's recipe (:func:`tutorial_recipe.fit_tutorial`: one-hot characters, a 128-unit
  ``nn.RNN``, one name per SGD step at lr 0.005, names drawn a uniform language at a time),
  trained ``--tutorial-steps`` steps (default 100,000, the tutorial's ``n_iters``); its time per
  epoch is its time per step times the training-set size.

Speeds are reported as ratios to the default model; test accuracy, balanced accuracy and
macro-F1 are on the natural (imbalanced) test set. The machine's load average is printed
because other processes on a shared machine slow every number down.

    IMBLOSS_NAMES_DIR=/path/to/names python bench/bench_training.py --threads 2
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics

import torch
from tutorial_recipe import fit_tutorial

from imbloss.train import TrainConfig, fit, load_data

TARGET_NAMES_PER_S = 25_000


def _row(name: str, epoch_s: float, names_per_s: float, metrics: dict, note: str) -> dict:
    return {
        "model": name,
        "epoch_s": epoch_s,
        "names_per_s": names_per_s,
        "accuracy": metrics["accuracy"],
        "balanced_accuracy": metrics["balanced_accuracy"],
        "macro_f1": metrics["macro_f1"],
        "note": note,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=10, help="epochs of the batched models")
    parser.add_argument("--tutorial-steps", type=int, default=100_000, help="tutorial SGD steps")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", help="also write the table as JSON here")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()
    data = load_data("names", {}, args.seed)
    n_train = len(data.train)
    config = TrainConfig(
        epochs=args.epochs, seed=args.seed, device="cpu", num_threads=args.threads, quiet=True
    )
    rows = []
    for name, cfg in [
        ("default BiGRU", config),
        ("BiGRU, no length grouping", dataclasses.replace(config, length_grouping=1)),
    ]:
        result = fit(cfg, data)
        epoch_s = statistics.median(e["train_s"] for e in result.history)
        note = f"{cfg.epochs} epochs, best epoch {result.best_epoch}"
        rows.append(
            _row(name, epoch_s, result.timings["examples_per_s"], result.test_metrics, note)
        )
        print(f"{name}: {result.timings['examples_per_s']:,.0f} names/s ({note})", flush=True)

    tutorial = fit_tutorial(data, steps=args.tutorial_steps, seed=args.seed)
    steps_note = f"{args.tutorial_steps:,} steps = {args.tutorial_steps / n_train:.1f} epochs"
    rows.append(
        _row(
            "tutorial nn.RNN(128), SGD",
            tutorial["s_per_step"] * n_train,
            1 / tutorial["s_per_step"],
            tutorial["test_metrics"],
            steps_note,
        )
    )
    load_after = os.getloadavg()

    base = rows[0]
    print(
        f"\nnames data: {n_train:,} training names; {args.threads} torch threads; "
        f"load average {load_before[0]:.1f} before, {load_after[0]:.1f} after"
    )
    header = (
        f"{'model':28s} {'s/epoch':>8s} {'names/s':>9s} {'slower x':>8s} "
        f"{'acc':>6s} {'bal acc':>7s} {'macro-F1':>8s}  note"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row['model']:28s} {row['epoch_s']:8.2f} {row['names_per_s']:9,.0f} "
            f"{row['epoch_s'] / base['epoch_s']:8.1f} {row['accuracy']:6.3f} "
            f"{row['balanced_accuracy']:7.3f} {row['macro_f1']:8.3f}  {row['note']}"
        )
    tut = rows[-1]
    verdicts = [
        f"default throughput {base['names_per_s']:,.0f} names/s "
        f"({'meets' if base['names_per_s'] >= TARGET_NAMES_PER_S else 'BELOW'} the "
        f"{TARGET_NAMES_PER_S:,} target)",
        f"an epoch of the tutorial's recipe takes {tut['epoch_s'] / base['epoch_s']:.1f}x "
        f"as long as the default model's",
        f"default vs tutorial: accuracy {base['accuracy']:.3f} vs {tut['accuracy']:.3f}, "
        f"macro-F1 {base['macro_f1']:.3f} vs {tut['macro_f1']:.3f} ("
        + (
            "the default model beats it on both"
            if base["accuracy"] > tut["accuracy"] and base["macro_f1"] > tut["macro_f1"]
            else "the default model does NOT beat it on both"
        )
        + ")",
    ]
    print("\n" + "\n".join(verdicts))
    if args.output:
        with open(args.output, "w") as handle:
            json.dump(
                {
                    "rows": rows,
                    "threads": args.threads,
                    "load_before": load_before,
                    "load_after": load_after,
                    "verdicts": verdicts,
                },
                handle,
                indent=1,
            )


if __name__ == "__main__":
    main()
