"""The expected failures: each names what is wrong and what to do, and has its exit status.

The command line prints the message of an :class:`ImbLossError` in one or two lines and
exits with its ``exit_code`` (no traceback unless ``--debug``). Each class also derives from
the built-in exception a caller would catch without knowing imbloss (``FileNotFoundError``
for absent data, ``ValueError`` for a bad value, ``KeyboardInterrupt`` for Ctrl-C).
"""

from __future__ import annotations


class ImbLossError(Exception):
    """An expected failure; ``exit_code`` is the command line's exit status for it."""

    exit_code = 1


class ConfigError(ImbLossError, ValueError):
    """A sweep spec file that is missing, unreadable or not YAML."""

    exit_code = 3


class OutputError(ImbLossError, OSError):
    """A results file or folder that cannot be created or written."""

    exit_code = 3


class DataError(ImbLossError):
    """Data that is missing, corrupt or cannot be downloaded."""

    exit_code = 4


class DataNotFoundError(DataError, FileNotFoundError):
    """A data folder or file that is not where it was looked for."""


class DataCorruptError(DataError, ValueError):
    """Data files whose contents are not the genuine ones (a checksum mismatch)."""


class DownloadError(DataError, RuntimeError):
    """A download that failed or did not give the expected archive."""


class DeviceError(ImbLossError, ValueError):
    """A device (CUDA, MPS) asked for that this machine does not have."""

    exit_code = 5


class SchedulerError(ImbLossError, ConnectionError):
    """A Dask scheduler that does not answer."""

    exit_code = DeviceError.exit_code


class TrainingDiverged(ImbLossError, FloatingPointError):
    """A training loss that became NaN or infinite; the message says the epoch and what to lower."""

    exit_code = 6


INTERRUPTED = 130  # the shell's status for a command ended by Ctrl-C (128 + SIGINT)


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C during a sweep; the message says how many runs are kept and how to resume."""


# the command line's exit statuses, for its --help and the README
EXIT_CODES = {
    0: "success",
    1: "a sweep finished but some runs failed (reports in <results-dir>/failed/)",
    2: "a bad option or value",
    ConfigError.exit_code: "a config file or output path that cannot be read or written",
    DataError.exit_code: "data missing, corrupt or not downloadable",
    DeviceError.exit_code: "the device or Dask scheduler asked for is not available",
    TrainingDiverged.exit_code: "training diverged (a NaN or infinite loss)",
    INTERRUPTED: "interrupted (Ctrl-C); a sweep keeps its finished runs",
}
