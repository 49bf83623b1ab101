"""Command line: ``imbloss train ...`` for one run, ``imbloss sweep ...`` for many.

Examples::

    imbloss train --loss focal --gamma 2 --seed 0 --epochs 10 --output focal.json
    imbloss train --dataset digits --loss focal --results-dir results/mine   # as a sweep keeps it
    imbloss train --dataset digits --imbalance-ratio 100 --loss ldam --max-margin 0.5
    imbloss train --loss cb_focal --label-smoothing 0.1
    imbloss sweep --profile ci --results-dir results/ci --n-jobs 2
    imbloss sweep --config my_profile.yaml
    torchrun --nproc_per_node=2 -m imbloss train --dataset digits --loss ghm   # data-parallel
    imbloss sweep --profile ci --scheduler tcp://10.0.0.5:8786                 # on a Dask cluster

An expected failure (a bad option or value, a missing or malformed config, missing or
corrupt data, a device the machine lacks, Ctrl-C) prints what is wrong and what to do and
exits with the status of :data:`imbloss.errors.EXIT_CODES`; ``--debug`` (or
``IMBLOSS_DEBUG=1``) shows the traceback instead.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import inspect
import os
import sys
import warnings
from dataclasses import fields
from pathlib import Path

import pandas as pd
import yaml

from imbloss import __version__, distributed, interrupts
from imbloss.config import TrainConfig
from imbloss.data import DATASETS, SAMPLERS, prepare_digits
from imbloss.errors import (
    EXIT_CODES,
    INTERRUPTED,
    ConfigError,
    DeviceError,
    ImbLossError,
    OutputError,
    SweepInterrupted,
)
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
from imbloss.profiles import PROFILE_NAMES, PROFILES, load_spec
from imbloss.runs import TARGET_METRICS
from imbloss.runtime import check_num_threads, resolve_device
from imbloss.store import RunStore
from imbloss.sweep import comparison_tables, run_sweep

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


def _train(args: argparse.Namespace) -> int:
    config = train_config_from_args(args)
    check_num_threads(config.num_threads)
    try:
        resolve_device(config.device)
    except ValueError as error:
        raise DeviceError(f"{error}; use --device auto or --device cpu") from None
    if args.output is not None:
        if args.output.is_dir():
            raise OutputError(f"--output {args.output} is a folder; give a file name in it")
        _make_folder(args.output.parent, "--output")
    if args.results_dir is not None:
        _make_folder(args.results_dir, "--results-dir")
    from imbloss.train import fit_and_predict  # the trainer, only when a run trains

    result, predictions = fit_and_predict(config)
    if not distributed.is_main():  # under torchrun every rank trains, rank 0 reports
        return 0
    if args.results_dir is not None:
        try:
            RunStore(args.results_dir).save(result, predictions)
        except OSError as error:
            raise OutputError(f"--results-dir {args.results_dir}: cannot write ({error})") from None
        print(f"run {result.run_id} recorded in {args.results_dir}")
    if args.output is not None:
        try:
            result.save(args.output)
        except OSError as error:
            raise OutputError(f"--output {args.output}: cannot write it ({error})") from None
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
        spec, name = _read_config(args.config), args.config.stem
    results_dir = args.results_dir or Path("results") / name
    _make_folder(results_dir, "--results-dir")
    with warnings.catch_warnings():  # the failures are reported below
        warnings.filterwarnings("ignore", r"\d+ of \d+ runs failed", RuntimeWarning)
        df = run_sweep(
            spec,
            results_dir,
            n_jobs=args.n_jobs,
            quiet=args.quiet,
            scheduler=args.scheduler,
            rerun_stale=args.rerun_stale,
        )
    failures = df.attrs["failures"]
    try:  # a Ctrl-C from here to the exit still ends with status 130 and its line
        print(f"{len(df)} results in {results_dir}")
        if not df.empty:
            with pd.option_context(
                "display.width", 200, "display.max_columns", 30, "display.precision", 4
            ):
                for title, table in comparison_tables(spec, df, args.metric):
                    print(f"\n{title}: test {args.metric} against CE, paired by seed")
                    print(table.to_string(index=False))
        if failures:
            print(
                f"{len(failures)} run(s) failed; their configs and tracebacks are in "
                f"{RunStore(results_dir).failures_dir}; the same command again retries them",
                file=sys.stderr,
            )
        sys.stdout.flush()
        interrupts.settle()
    except KeyboardInterrupt:
        total = len(df) + len(failures)
        raise SweepInterrupted(
            f"interrupted: {len(df)} of {total} runs are kept in {results_dir}; "
            "run the same sweep again to resume (finished runs are not rerun)"
        ) from None
    return 1 if failures else 0


def _read_config(path: Path) -> dict:
    """The spec in the file ``path``; a missing, unreadable or non-YAML file is a ConfigError."""
    try:
        return load_spec(path)
    except FileNotFoundError:
        hint = f" (the built-in one is --profile {path.stem})" if path.stem in PROFILE_NAMES else ""
        raise ConfigError(
            f"--config {path}: no such file; give the path of a YAML sweep spec{hint}, "
            f"or --profile with one of {PROFILE_NAMES}"
        ) from None
    except OSError as error:
        raise ConfigError(
            f"--config {path}: cannot read it ({error.strerror}); give a YAML sweep spec file"
        ) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or error
        raise ConfigError(
            f"--config {path} is not valid YAML: {problem}{where}; fix that line"
        ) from None


def _make_folder(folder: Path, flag: str) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(
            f"{flag}: cannot create the folder {folder} ({error.strerror}); choose another path"
        ) from None


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (:data:`imbloss.errors.EXIT_CODES`).

    As the program (``argv`` None) a finished sweep keeps Ctrl-C blocked to its exit
    (:func:`imbloss.interrupts.settle`); called with ``argv`` (tests, notebooks) it
    unblocks it before returning.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with interrupts.recorded(), _warnings_as_lines(args._parser.prog):
            return _train(args) if args.command == "train" else _sweep(args)
    except (ImbLossError, ValueError, TypeError, KeyboardInterrupt) as error:
        if args.debug or os.environ.get(DEBUG_ENV, "0") not in ("", "0"):
            raise
        return _report(error, args._parser)
    finally:
        if argv is not None:
            interrupts.unblock()


@contextlib.contextmanager
def _warnings_as_lines(prog: str):
    """Inside the block, each warning is one line, ``imbloss sweep: warning: ...``."""

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        print(f"{prog}: warning: {message}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


def _report(error: BaseException, parser: argparse.ArgumentParser) -> int:
    """Print ``error`` in a line or two and return its exit status."""
    if isinstance(error, KeyboardInterrupt):
        print(f"{parser.prog}: {str(error) or 'interrupted; nothing was written'}", file=sys.stderr)
        return INTERRUPTED
    if not isinstance(error, ImbLossError):  # a ValueError or TypeError: a bad option or value
        parser.print_usage(sys.stderr)
    print(f"{parser.prog}: error: {error}", file=sys.stderr)
    return getattr(error, "exit_code", 2)
