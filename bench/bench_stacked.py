"""CPU time per digits run: K one-model runs against the same K seeds trained stacked.

For each loss, the K seeds of one digits setting (the ``ci`` profile's: 200 epochs, batches
of 64, lr 0.01, cosine schedule) are trained ``--repeats`` times each of three ways, rotating
which goes first, in one process with one torch thread; each split is prepared once
beforehand and given to all three, so only training is timed:

* ``before``: the one-model trainer as it was before stacking
  (:func:`imbloss.train.fit_and_predict` with the metrics computed by scikit-learn's
  functions, as ``imbloss.metrics`` did then);
* ``one-model``: :func:`imbloss.train.fit_and_predict` as it is now (the metrics from one
  confusion matrix);
* ``stacked``: :func:`imbloss.stacked.fit_stacked` of the K configs.

The ratios are medians over the repeats of (CPU time of the K runs) / (CPU time of the
stack). Target: ``before / stacked`` at least 5.

    python bench/bench_stacked.py --seeds 10 --repeats 3
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
from unittest import mock

import numpy as np
import torch
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)

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


def _labels(values) -> np.ndarray:
    return np.asarray(values.cpu() if hasattr(values, "cpu") else values)


def sklearn_epoch_metrics(y_true, y_pred, num_classes: int) -> dict:
    """``imbloss.metrics.epoch_metrics`` before stacking: scikit-learn's functions."""
    y_true, y_pred = _labels(y_true), _labels(y_pred)
    labels = np.arange(num_classes)
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(
            f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)
        ),
        "balanced_accuracy": float(balanced_accuracy_score(y_true, y_pred)),
    }


def sklearn_classification_metrics(y_true, y_pred, class_names) -> dict:
    """``imbloss.metrics.classification_metrics`` before stacking: scikit-learn's functions."""
    y_true, y_pred = _labels(y_true), _labels(y_pred)
    labels = np.arange(len(class_names))
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    return {
        **sklearn_epoch_metrics(y_true, y_pred, len(class_names)),
        "per_class": {
            name: {"precision": p, "recall": r, "f1": f, "support": int(n)}
            for name, p, r, f, n in zip(class_names, precision, recall, f1, support)
        },
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        "class_names": list(class_names),
    }


def one_model_runs(runs: list[TrainConfig], data: list) -> None:
    for config, split in zip(runs, data):
        fit_and_predict(config, split)


def runs_before_stacking(runs: list[TrainConfig], data: list) -> None:
    with contextlib.ExitStack() as patches:
        patches.enter_context(mock.patch("imbloss.train.epoch_metrics", sklearn_epoch_metrics))
        patches.enter_context(
            mock.patch("imbloss.train.classification_metrics", sklearn_classification_metrics)
        )
        one_model_runs(runs, data)


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
    sklearn_classification_metrics([0, 1], [0, 1], ["a", "b"])  # scikit-learn's first call
    print(
        f"digits, imbalance ratio {args.imbalance_ratio:g}, {args.epochs} epochs, "
        f"{args.seeds} seeds, 1 thread, torch {torch.__version__}, median of {args.repeats} "
        "interleaved repeats (CPU time)\n"
    )
    print(
        "| loss | before s/run | one-model s/run | stacked s/run | before / stacked "
        "| one-model / stacked | target |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for loss in args.losses:
        runs = configs(loss, args.seeds, args.epochs, args.imbalance_ratio)
        data = [load_data(c.dataset, c.dataset_kwargs, c.seed) for c in runs]
        ways = [("before", runs_before_stacking), ("one", one_model_runs), ("stacked", fit_stacked)]
        times = {key: [] for key, _ in ways}
        for i in range(args.repeats):
            for key, train in ways[i % 3 :] + ways[: i % 3]:
                times[key].append(cpu_seconds(train, runs, data) / len(runs))
        before, one, stacked = (times[key] for key, _ in ways)
        ratio = {
            key: statistics.median(a / b for a, b in zip(times[key], stacked))
            for key in ("before", "one")
        }
        print(
            f"| {loss} | {statistics.median(before):.3f} | {statistics.median(one):.3f} | "
            f"{statistics.median(stacked):.3f} | {ratio['before']:.1f} | {ratio['one']:.1f} "
            f"| {TARGET:g} |"
        )


if __name__ == "__main__":
    main()
