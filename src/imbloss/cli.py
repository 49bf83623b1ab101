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
import os
import sys
import warnings
from pathlib import Path

import pandas as pd
import yaml

from imbloss import distributed, interrupts
from imbloss.arguments import DEBUG_ENV, build_parser, train_config_from_args
from imbloss.errors import (
    INTERRUPTED,
    ConfigError,
    DeviceError,
    ImbLossError,
    OutputError,
    SweepInterrupted,
)
from imbloss.profiles import PROFILE_NAMES, PROFILES, load_spec
from imbloss.runtime import check_num_threads, resolve_device
from imbloss.store import RunStore
from imbloss.sweep import comparison_tables, run_sweep


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
