"""The command line's arguments: the flags of ``imbloss train`` and ``imbloss sweep``, the
parser that names the valid options in its errors, and the :class:`TrainConfig` that the
``train`` flags describe. :mod:`imbloss.cli` runs the commands."""

from __future__ import annotations

import argparse
import difflib
import inspect
from dataclasses import fields
from pathlib import Path

from imbloss import __version__
from imbloss.config import TrainConfig
from imbloss.data import DATASETS, SAMPLERS, prepare_digits
from imbloss.errors import EXIT_CODES
from imbloss.losses import (
    LOSSES,
    FocalLoss,
    GHMCLoss,
    GWLoss,
    LDAMLoss,
    LogitAdjustedLoss,
    class_balanced_weights,
)
from imbloss.losses.core import SoftmaxLoss
from imbloss.profiles import PROFILE_NAMES
from imbloss.runs import TARGET_METRICS

DEBUG_ENV = "IMBLOSS_DEBUG"
# flag -> (loss keyword, type, where its default is): passed to the loss only when given.
LOSS_FLAGS = {
    "--gamma": ("gamma", float, FocalLoss),
    "--beta": ("beta", float, class_balanced_weights),
    "--tau": ("tau", float, LogitAdjustedLoss),
    "--mean": ("mean", float, GWLoss),
    "--std": ("std", float, GWLoss),
    "--slope": ("slope", float, GWLoss),
    "--bins": ("bins", int, GHMCLoss),
    "--momentum": ("momentum", float, GHMCLoss),
    "--max-margin": ("max_margin", float, LDAMLoss),
    "--scale": ("scale", float, LDAMLoss),
    "--label-smoothing": ("label_smoothing", float, SoftmaxLoss),  # every softmax loss
}
# flag -> (dataset keyword, type, help)
DATASET_FLAGS = {
    "--imbalance-ratio": (
        "imbalance_ratio",
        float,
        "digits: largest / smallest training class (default: "
        f"{inspect.signature(prepare_digits).parameters['imbalance_ratio'].default})",
    ),
    "--split-seed": ("seed", int, "seed of the train/val/test split (default: --seed)"),
}
# flag -> (TrainConfig field, type, help)
TRAIN_FLAGS = {
    "--seed": ("seed", int, "seed of the run (and, unless --split-seed, of the split)"),
    "--epochs": ("epochs", int, "passes over the training data"),
    "--batch-size": ("batch_size", int, "rows per optimiser step"),
    "--lr": ("lr", float, "Adam's initial learning rate"),
    "--lr-schedule": ("lr_schedule", str, "cosine, step (x0.1 at 80%% of training) or constant"),
    "--classifier": ("classifier", str, "linear or cosine (LDAM-DRW's normalised classifier)"),
    "--drw-start": ("drw_start", float, "deferred re-weighting from this fraction of the epochs"),
    "--weight-decay": ("weight_decay", float, "Adam weight decay"),
    "--hidden-size": ("hidden_size", int, "GRU units per direction / MLP width"),
    "--embedding-dim": ("embedding_dim", int, "character embedding size"),
    "--num-layers": ("num_layers", int, "stacked GRU layers"),
    "--dropout": ("dropout", float, "dropout before the output layer"),
    "--length-grouping": ("length_grouping", int, "batches sorted by length together"),
    "--device": ("device", str, "auto, cpu, cuda, cuda:N or mps"),
    "--num-threads": ("num_threads", int, "torch CPU threads"),
}
THREADS_DEFAULT = "the cores the 1-minute load average leaves idle, at least 1"


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
    statuses = "\n".join(f"  {code:>3}  {meaning}" for code, meaning in EXIT_CODES.items())
    shown = {
        "epilog": f"exit status:\n{statuses}",
        "formatter_class": argparse.RawDescriptionHelpFormatter,  # the epilog as written
    }
    parser = _Parser(
        prog="imbloss", description="Train classifiers with imbalance losses.", **shown
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    debug_help = f"show the traceback of an error (also: {DEBUG_ENV}=1)"
    parser.add_argument("--debug", action="store_true", help=debug_help)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    train = commands.add_parser("train", help="train one model and print its test metrics", **shown)
    train.set_defaults(_parser=train)
    sup = argparse.SUPPRESS
    defaults = {f.name: f.default for f in fields(TrainConfig)}
    for flag, choices in (("--dataset", DATASETS), ("--loss", LOSSES), ("--sampler", SAMPLERS)):
        field = flag[2:]
        train.add_argument(flag, choices=choices, default=sup, help=f"default: {defaults[field]}")
    for flag, (field, kind, text) in TRAIN_FLAGS.items():
        default = THREADS_DEFAULT if field == "num_threads" else defaults[field]
        train.add_argument(
            flag, dest=field, type=kind, default=sup, help=f"{text} (default: {default})"
        )
    for flag, (key, kind, owner) in LOSS_FLAGS.items():
        default = inspect.signature(owner).parameters[key].default
        train.add_argument(
            flag,
            dest=f"loss:{key}",
            type=kind,
            default=sup,
            metavar=key.upper(),
            help=f"{owner.__name__} keyword {key} (default: {default})",
        )
    for flag, (key, kind, text) in DATASET_FLAGS.items():
        train.add_argument(
            flag, dest=f"data:{key}", type=kind, default=sup, metavar=key.upper(), help=text
        )
    train.add_argument(
        "--ascii-fold",
        dest="data:ascii_fold",
        action="store_true",
        default=sup,
        help="names: fold accented letters to ASCII",
    )
    train.add_argument("--quiet", action="store_true", default=sup, help="no progress bar")
    train.add_argument(
        "--output",
        type=Path,
        default=None,
        help="write the RunResult JSON here, creating its folder (default: not written)",
    )
    train.add_argument(
        "--results-dir",
        type=Path,
        default=None,
        help="record the run in this results folder, as a sweep does (default: not recorded)",
    )
    train.add_argument("--debug", action="store_true", default=sup, help=debug_help)

    sweep = commands.add_parser("sweep", help="run a sweep of losses x seeds in parallel", **shown)
    sweep.set_defaults(_parser=sweep)
    source = sweep.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--config",
        type=Path,
        metavar="PATH",
        help="a YAML sweep spec file (see imbloss.sweep); this or --profile is required",
    )
    source.add_argument(
        "--profile",
        choices=PROFILE_NAMES,
        help="a built-in sweep spec; this or --config is required",
    )
    sweep.add_argument(
        "--results-dir",
        type=Path,
        default=None,
        help="where results go (default: results/<profile or config name>)",
    )
    sweep.add_argument(
        "--n-jobs", type=int, default=2, help="parallel runs, -1 for one per core (default: 2)"
    )
    sweep.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="run on this Dask cluster, e.g. tcp://10.0.0.5:8786 (default: the spec's "
        "scheduler key, else local processes)",
    )
    sweep.add_argument(
        "--metric",
        choices=TARGET_METRICS,
        default="macro_f1",
        help="metric to summarise (default: macro_f1)",
    )
    sweep.add_argument(
        "--rerun-stale",
        action="store_true",
        help="train again the runs made by another imbloss or torch version (else reused)",
    )
    sweep.add_argument("--quiet", action="store_true", help="no progress bar")
    sweep.add_argument("--debug", action="store_true", default=sup, help=debug_help)
    return parser


def train_config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The :class:`TrainConfig` the given ``train`` flags describe (unset flags keep defaults)."""
    values, loss_kwargs, dataset_kwargs = {}, {}, {}
    for dest, value in vars(args).items():
        if dest.startswith("loss:"):
            loss_kwargs[dest[5:]] = value
        elif dest.startswith("data:"):
            dataset_kwargs[dest[5:]] = value
        elif dest not in ("command", "output", "results_dir", "debug", "_parser"):
            values[dest] = value
    return TrainConfig.from_dict(
        {**values, "loss_kwargs": loss_kwargs, "dataset_kwargs": dataset_kwargs}
    )
