"""Command line: ``imbloss train ...`` for one run, ``imbloss sweep ...`` for many.

Examples::

    imbloss train --loss focal --gamma 2 --seed 0 --epochs 10 --output focal.json
    imbloss train --dataset digits --imbalance-ratio 100 --loss ldam --max-margin 0.5
    imbloss sweep --profile ci --results-dir results/ci --n-jobs 2
    imbloss sweep --config my_profile.yaml
    torchrun --nproc_per_node=2 -m imbloss train --dataset digits --loss ghm   # data-parallel
    imbloss sweep --profile ci --scheduler tcp://10.0.0.5:8786                 # on a Dask cluster
"""

from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path

import pandas as pd

from imbloss import distributed
from imbloss.data import DATASETS, SAMPLERS
from imbloss.losses import LOSSES
from imbloss.sweep import PROFILES, comparison_tables, load_spec, run_sweep
from imbloss.train import TrainConfig, fit

# flag -> (loss keyword, type): passed to the loss only when given.
LOSS_FLAGS = {
    "--gamma": ("gamma", float),
    "--beta": ("beta", float),
    "--tau": ("tau", float),
    "--mean": ("mean", float),
    "--std": ("std", float),
    "--slope": ("slope", float),
    "--bins": ("bins", int),
    "--momentum": ("momentum", float),
    "--max-margin": ("max_margin", float),
    "--scale": ("scale", float),
}
# flag -> (dataset keyword, type)
DATASET_FLAGS = {
    "--imbalance-ratio": ("imbalance_ratio", float),
    "--split-seed": ("seed", int),
}
# flag -> (TrainConfig field, type, help)
TRAIN_FLAGS = {
    "--seed": ("seed", int, "seed of the run (and, unless --split-seed, of the split)"),
    "--epochs": ("epochs", int, "passes over the training data"),
    "--batch-size": ("batch_size", int, "rows per optimiser step"),
    "--lr": ("lr", float, "Adam learning rate"),
    "--weight-decay": ("weight_decay", float, "Adam weight decay"),
    "--hidden-size": ("hidden_size", int, "GRU units per direction / MLP width"),
    "--embedding-dim": ("embedding_dim", int, "character embedding size"),
    "--num-layers": ("num_layers", int, "stacked GRU layers"),
    "--dropout": ("dropout", float, "dropout before the output layer"),
    "--length-grouping": ("length_grouping", int, "batches sorted by length together"),
    "--device": ("device", str, "auto, cpu, cuda, cuda:N or mps"),
    "--num-threads": ("num_threads", int, "torch CPU threads"),
}


class _Parser(argparse.ArgumentParser):
    """An argument parser whose error for an unknown option lists the valid ones."""

    def parse_args(self, args=None, namespace=None):
        namespace, extras = self.parse_known_args(args, namespace)
        if extras:
            subparser = getattr(namespace, "_parser", self)
            options = sorted(o for a in subparser._actions for o in a.option_strings)
            hints = {x: difflib.get_close_matches(x.split("=")[0], options, n=1) for x in extras}
            said = ", ".join(f"{x} (did you mean {h[0]}?)" if h else x for x, h in hints.items())
            subparser.error(f"unrecognized argument(s): {said}; valid options are {options}")
        return namespace


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="imbloss", description="Train classifiers with imbalance losses.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    train = commands.add_parser("train", help="train one model and print its test metrics")
    train.set_defaults(_parser=train)
    sup = argparse.SUPPRESS
    train.add_argument("--dataset", choices=DATASETS, default=sup, help="default: names")
    train.add_argument("--loss", choices=LOSSES, default=sup, help="default: ce")
    train.add_argument("--sampler", choices=SAMPLERS, default=sup, help="default: natural")
    for flag, (field, kind, text) in TRAIN_FLAGS.items():
        train.add_argument(flag, dest=field, type=kind, default=sup, help=text)
    for flag, (key, kind) in LOSS_FLAGS.items():
        train.add_argument(
            flag,
            dest=f"loss:{key}",
            type=kind,
            default=sup,
            metavar=key.upper(),
            help=f"loss keyword {key}",
        )
    for flag, (key, kind) in DATASET_FLAGS.items():
        train.add_argument(
            flag,
            dest=f"data:{key}",
            type=kind,
            default=sup,
            metavar=key.upper(),
            help=f"dataset keyword {key}",
        )
    train.add_argument(
        "--ascii-fold",
        dest="data:ascii_fold",
        action="store_true",
        default=sup,
        help="names: fold accented letters to ASCII",
    )
    train.add_argument("--quiet", action="store_true", default=sup, help="no progress bar")
    train.add_argument("--output", type=Path, default=None, help="write the RunResult JSON here")

    sweep = commands.add_parser("sweep", help="run a sweep of losses x seeds in parallel")
    sweep.set_defaults(_parser=sweep)
    source = sweep.add_mutually_exclusive_group(required=True)
    source.add_argument("--config", type=Path, help="YAML sweep spec (see imbloss.sweep)")
    source.add_argument("--profile", choices=tuple(PROFILES), help="a built-in sweep spec")
    sweep.add_argument(
        "--results-dir",
        type=Path,
        default=None,
        help="where results go (default: results/<profile or config name>)",
    )
    sweep.add_argument("--n-jobs", type=int, default=2, help="parallel runs (default 2)")
    sweep.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="run on this Dask cluster, e.g. tcp://10.0.0.5:8786 (default: the spec's "
        "scheduler key, else local processes)",
    )
    sweep.add_argument("--metric", default="macro_f1", help="metric to summarise")
    sweep.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def train_config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The :class:`TrainConfig` the given ``train`` flags describe (unset flags keep defaults)."""
    values, loss_kwargs, dataset_kwargs = {}, {}, {}
    for dest, value in vars(args).items():
        if dest.startswith("loss:"):
            loss_kwargs[dest[5:]] = value
        elif dest.startswith("data:"):
            dataset_kwargs[dest[5:]] = value
        elif dest not in ("command", "output", "_parser"):
            values[dest] = value
    return TrainConfig.from_dict(
        {**values, "loss_kwargs": loss_kwargs, "dataset_kwargs": dataset_kwargs}
    )


def _train(args: argparse.Namespace) -> int:
    result = fit(train_config_from_args(args))
    if not distributed.is_main():  # under torchrun every rank trains, rank 0 reports
        return 0
    if args.output is not None:
        result.save(args.output)
        print(f"result written to {args.output}")
    test = result.test_metrics
    print(
        f"{result.run_id}: best epoch {result.best_epoch}, "
        f"{result.timings['examples_per_s']:.0f} examples/s on {result.device}"
    )
    print(
        f"test accuracy {test['accuracy']:.4f}  balanced accuracy "
        f"{test['balanced_accuracy']:.4f}  macro-F1 {test['macro_f1']:.4f}"
    )
    return 0


def _sweep(args: argparse.Namespace) -> int:
    if args.profile is not None:
        spec, name = PROFILES[args.profile], args.profile
    else:
        spec, name = load_spec(args.config), args.config.stem
    results_dir = args.results_dir or Path("results") / name
    df = run_sweep(
        spec, results_dir, n_jobs=args.n_jobs, quiet=args.quiet, scheduler=args.scheduler
    )
    print(f"{len(df)} results in {results_dir}")
    if not df.empty:
        with pd.option_context(
            "display.width", 200, "display.max_columns", 30, "display.precision", 4
        ):
            for title, table in comparison_tables(spec, df, args.metric):
                print(f"\n{title}: test {args.metric} against CE, paired by seed")
                print(table.to_string(index=False))
    for failure in df.attrs["failures"]:
        print(
            f"\nFAILED {failure['run_id']} {failure['config']}\n{failure['traceback']}",
            file=sys.stderr,
        )
    return 1 if df.attrs["failures"] else 0


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (2 for a bad option or value)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return _train(args) if args.command == "train" else _sweep(args)
    except ValueError as error:
        args._parser.print_usage(sys.stderr)
        print(f"{args._parser.prog}: error: {error}", file=sys.stderr)
        return 2
