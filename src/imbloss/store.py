"""The results folder as a small database: :class:`RunStore` is the only code that knows its layout.

A folder holds, for each run::

    <run_id>.npz            its Predictions (written first)
    <run_id>.json           its RunResult, the .npz's SHA-256 and its run id (written last)
    failed/<run_id>.json    the report of its last failure, if it failed
    damaged/<file>          files of damaged runs, moved aside (never deleted)
    .locks/<run_id>.lock    the lock a process holds while it trains the run

A run is whole (both files readable, the JSON named by its run id and recording the
``.npz``'s checksum) or it is absent: a damaged or mismatched pair is moved to
``damaged/`` with one warning line (:class:`DamagedRunWarning`), and a sweep trains the run
again. Every file is written under a unique temporary name and renamed into place, so a
reader sees a whole file or none; a process trains a run only while it holds the run's lock
(:meth:`RunStore.claim`), so two sweeps on one folder train each run once. Locks are POSIX
file locks (``fcntl.flock``); where there is none (Windows) claims always succeed.

This module does not import torch.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import warnings
from pathlib import Path

from imbloss.runs import Predictions, RunResult, atomic_write

try:
    import fcntl
except ImportError:  # Windows: no file locks
    fcntl = None

CHECKSUM_KEY = "predictions_sha256"
RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.=,+-]*")


class DamagedRunWarning(UserWarning):
    """A run's files were unreadable or did not belong together; they were moved aside."""


class StoreError(LookupError):
    """A run that is not in the store (absent, or damaged and moved aside)."""


def check_run_id(run_id) -> str:
    """``run_id`` if it is safe as a file name (letters, digits, ``_.=,+-``, no ``..``)."""
    if not isinstance(run_id, str) or not RUN_ID.fullmatch(run_id) or ".." in run_id:
        raise ValueError(
            f"run_id={run_id!r} is not valid; expected letters, digits and _.=,+- "
            "(a name inside the results folder)"
        )
    return run_id


class Claim:
    """A run's lock, held until :meth:`release` (or the process's exit)."""

    def __init__(self, handle) -> None:
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()  # closing the file releases its lock
            self._handle = None


class RunStore:
    """The runs of one results folder ``root`` (created on the first write)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"RunStore({str(self.root)!r})"

    # --- the layout: the only place that spells a path ---

    def _record_path(self, run_id: str) -> Path:
        return self.root / f"{check_run_id(run_id)}.json"

    def _predictions_path(self, run_id: str) -> Path:
        return self.root / f"{check_run_id(run_id)}.npz"

    @property
    def failures_dir(self) -> Path:
        """The folder of failure reports (for messages that say where they are)."""
        return self.root / "failed"

    def _failure_path(self, run_id: str) -> Path:
        return self.failures_dir / f"{check_run_id(run_id)}.json"

    def _lock_path(self, run_id: str) -> Path:
        return self.root / ".locks" / f"{check_run_id(run_id)}.lock"

    # --- reading ---

    def has(self, run_id: str) -> bool:
        """Whether run ``run_id`` is whole; a damaged pair is moved aside and counts as absent."""
        return self._whole(run_id) is not None

    def result(self, run_id: str) -> RunResult:
        """The :class:`RunResult` of a whole run; :class:`StoreError` if it is not whole."""
        return self._require(run_id)[0]

    def predictions(self, run_id: str) -> Predictions:
        """The :class:`Predictions` of a whole run; :class:`StoreError` if it is not whole."""
        return Predictions.from_bytes(self._require(run_id)[1])

    def run_ids(self) -> list[str]:
        """The ids of every whole run, sorted (damaged pairs are moved aside)."""
        return [run_id for run_id in self._stems() if self.has(run_id)]

    def results(self, run_ids: list[str] | None = None) -> list[RunResult]:
        """The :class:`RunResult` of every whole run (of ``run_ids``, in their order, if given)."""
        wholes = (self._whole(r) for r in (self._stems() if run_ids is None else run_ids))
        return [whole[0] for whole in wholes if whole is not None]

    def failures(self) -> list[dict]:
        """The failure reports of runs that failed and have not succeeded since."""
        return [json.loads(path.read_text()) for path in sorted(self.failures_dir.glob("*.json"))]

    def _stems(self) -> list[str]:
        return sorted(p.stem for p in self.root.glob("*.json") if RUN_ID.fullmatch(p.stem))

    # --- writing ---

    def save(self, result: RunResult, predictions: Predictions) -> None:
        """Write a run whole: the ``.npz``, then the JSON with its checksum; clear its failure."""
        run_id = check_run_id(result.run_id)
        data = predictions.to_bytes()
        atomic_write(self._predictions_path(run_id), data)
        record = {**result.to_dict(), CHECKSUM_KEY: hashlib.sha256(data).hexdigest()}
        atomic_write(self._record_path(run_id), json.dumps(record, indent=1).encode())
        self._failure_path(run_id).unlink(missing_ok=True)

    def save_failure(self, report: dict) -> None:
        """Keep a failure report (``run_id``, ``config``, ``error``, ``traceback``, ``time``)."""
        path = self._failure_path(report["run_id"])
        atomic_write(path, json.dumps(report, indent=1).encode())

    def claim(self, run_id: str, wait: bool = False) -> Claim | None:
        """The run's lock, or None if another process (or claim) holds it and not ``wait``."""
        path = self._lock_path(run_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = path.open("a")
        if fcntl is None:
            return Claim(handle)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            handle.close()
            return None
        except BaseException:  # Ctrl-C while waiting
            handle.close()
            raise
        return Claim(handle)

    # --- whole or damaged ---

    def _require(self, run_id: str) -> tuple[RunResult, bytes]:
        whole = self._whole(run_id)
        if whole is None:
            raise StoreError(f"run {run_id!r} is not in {self.root} (absent or damaged)")
        return whole

    def _whole(self, run_id: str) -> tuple[RunResult, bytes] | None:
        """The run's record and predictions if whole; None if absent or damaged (set aside)."""
        try:
            return self._read(run_id)
        except FileNotFoundError:
            return None
        except _Damaged as damage:
            claim = self.claim(run_id)
            if claim is None:  # another process is writing this run right now
                return None
            try:
                self._read(run_id)  # it may have been rewritten meanwhile
            except _Damaged:
                self._set_aside(run_id, str(damage))
            except FileNotFoundError:
                pass
            else:
                return self._read(run_id)
            finally:
                claim.release()
            return None

    def _read(self, run_id: str) -> tuple[RunResult, bytes]:
        """The record and the ``.npz`` bytes; FileNotFoundError if no JSON, _Damaged if bad."""
        text = self._record_path(run_id).read_bytes()  # FileNotFoundError: absent
        try:
            record = json.loads(text)
            checksum = record.pop(CHECKSUM_KEY)
            result = RunResult.from_dict(record)
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            raise _Damaged(f"unreadable record ({type(error).__name__}: {error})") from None
        if result.run_id != run_id:
            raise _Damaged(f"the record is run {result.run_id!r}'s")
        try:
            data = self._predictions_path(run_id).read_bytes()
        except FileNotFoundError:
            raise _Damaged("its .npz is missing") from None
        if hashlib.sha256(data).hexdigest() != checksum:
            raise _Damaged("its .npz does not match the checksum its record holds")
        return result, data

    def _set_aside(self, run_id: str, reason: str) -> None:
        """Move the run's files to ``damaged/`` and say so in one warning line."""
        aside = self.root / "damaged"
        aside.mkdir(parents=True, exist_ok=True)
        moved = []
        for path in (self._record_path(run_id), self._predictions_path(run_id)):
            target, n = aside / path.name, 1
            while target.exists():
                target, n = aside / f"{path.name}.{n}", n + 1
            with contextlib.suppress(FileNotFoundError):
                path.rename(target)
                moved.append(path.name)
        warnings.warn(
            f"{self._record_path(run_id)}: damaged run ({reason}); moved "
            f"{' and '.join(moved)} to {aside}, the run will be trained again",
            DamagedRunWarning,
            stacklevel=4,
        )


class _Damaged(Exception):
    """A run's files that exist but are not a whole run; the message says why."""
