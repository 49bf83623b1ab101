"""The record of a training run: what it was (config, id, label) and what it measured.

This module imports neither torch nor the trainer, so the sweep, the statistics and
the plots read results without them. A run is recorded as two parts:

* :class:`RunResult` (JSON): config, per-epoch history, the metrics of
  each selected epoch, timings, versions;
* :class:`Predictions` (a compressed ``.npz``): the validation and test logits (float16)
  and labels at each selected epoch, so that post-hoc rules, bootstraps over
  examples and AUCs need no retraining.

:class:`imbloss.store.RunStore` keeps them in a results folder, whole or not at all.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

# The validation metrics a run selects its epoch by; each has its own selected epoch.
TARGET_METRICS = ("macro_f1", "balanced_accuracy")
# Fields that change how a run is executed or shown, not what it computes: not in the run id.
RUNTIME_FIELDS = ("num_threads", "quiet")


def config_digest(config: Mapping, drop: Sequence[str] = ()) -> str:
    """A 10-hex-digit hash of every result-changing field of a config dict, less ``drop``."""
    kept = {k: v for k, v in config.items() if k not in set(drop) | set(RUNTIME_FIELDS)}
    return hashlib.sha1(json.dumps(kept, sort_keys=True, default=str).encode()).hexdigest()[:10]


def run_id(config: Mapping) -> str:
    """A stable, readable id: dataset, condition, seed and a hash of every result-changing field."""
    return f"{config['dataset']}-{condition(config)}-s{config['seed']}-{config_digest(config)}"


def condition(config: Mapping) -> str:
    """The training condition: the loss name, with ``_drw`` under deferred re-weighting."""
    return config["loss"] + ("_drw" if config.get("drw_start") is not None else "")


def loss_params(config: Mapping) -> str:
    """The config's loss keywords, sorted, as ``"gamma=2.0"`` (empty without keywords)."""
    return ",".join(f"{k}={v}" for k, v in sorted(config["loss_kwargs"].items()))


# How a post-hoc adjusted row is labelled: ``"<loss label> + post-hoc τ"``.
POST_HOC_SUFFIX = " + post-hoc τ"


def label(condition: str, params: str = "", *, post_hoc: bool = False) -> str:
    """The one label of a condition at a setting, composed here and nowhere else:
    ``"focal(gamma=2.0)"`` (``params`` as :func:`loss_params` writes them), the bare name
    without keywords, and ``" + post-hoc τ"`` after it for the post-hoc rule on its logits.

    Examples:
        >>> label("focal", "gamma=2.0"), label("ce", post_hoc=True)
        ('focal(gamma=2.0)', 'ce + post-hoc τ')
    """
    text = f"{condition}({params})" if params else condition
    return text + POST_HOC_SUFFIX if post_hoc else text


def loss_label(config: Mapping) -> str:
    """The condition and its loss keywords of a config as :func:`label` writes them."""
    return label(condition(config), loss_params(config))


@dataclass
class RunResult:
    """What one training run measured; ``to_json`` / ``from_json`` round-trip it exactly.

    ``selections`` maps each of :data:`TARGET_METRICS` to the epoch selected by that
    validation metric: ``{"best_epoch", "val_metrics", "test_metrics"}`` (the metrics
    of :func:`imbloss.metrics.classification_metrics`). ``best_epoch``,
    ``val_metrics`` and ``test_metrics`` are the macro-F1 selection's.

    ``history`` has one dict per epoch: ``epoch``, ``lr``, ``train_loss``,
    ``val_accuracy``, ``val_macro_f1``, ``val_balanced_accuracy``,
    ``easy_grad_share``, ``head_grad_share``, ``mean_p_t`` and ``train_s``.
    ``timings`` holds ``train_s`` (training steps only), ``eval_s``, ``total_s`` and
    ``examples_per_s`` (training rows per second of ``train_s``).
    """

    run_id: str
    config: dict
    selections: dict
    history: list
    head_classes: list
    class_counts: list
    timings: dict
    versions: dict
    device: str

    @property
    def best_epoch(self) -> int:
        return self.selections["macro_f1"]["best_epoch"]

    @property
    def val_metrics(self) -> dict:
        return self.selections["macro_f1"]["val_metrics"]

    @property
    def test_metrics(self) -> dict:
        return self.selections["macro_f1"]["test_metrics"]

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> RunResult:
        return cls(**values)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1)

    @classmethod
    def from_json(cls, text: str) -> RunResult:
        return cls.from_dict(json.loads(text))

    def save(self, path: str | Path) -> Path:
        """Write the JSON alone (an export; a results folder is a :class:`RunStore`)."""
        return atomic_write(Path(path), self.to_json().encode())

    @classmethod
    def load(cls, path: str | Path) -> RunResult:
        return cls.from_json(Path(path).read_text())


@dataclass
class Predictions:
    """A run's logits at each selected epoch: ``logits[metric][split]`` is (N, C) float16.

    ``labels[split]`` are the true classes (int64) of ``"val"`` and ``"test"``;
    ``class_counts`` are the training counts, whose log is the prior of post-hoc
    adjustment. The logits are the ones the run's decision rule takes the argmax of
    (for LDAM, after its scale).
    """

    logits: dict
    labels: dict
    class_counts: np.ndarray

    def to_arrays(self) -> dict[str, np.ndarray]:
        arrays = {"class_counts": np.asarray(self.class_counts, dtype=np.int64)}
        for split, labels in self.labels.items():
            arrays[f"labels_{split}"] = np.asarray(labels, dtype=np.int64)
        for metric, by_split in self.logits.items():
            for split, logits in by_split.items():
                arrays[f"logits_{metric}_{split}"] = np.asarray(logits, dtype=np.float16)
        return arrays

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> Predictions:
        logits: dict = {}
        labels = {}
        for key, value in arrays.items():
            if key.startswith("labels_"):
                labels[key.removeprefix("labels_")] = np.asarray(value)
            elif key.startswith("logits_"):
                metric, _, split = key.removeprefix("logits_").rpartition("_")
                logits.setdefault(metric, {})[split] = np.asarray(value)
        return cls(logits=logits, labels=labels, class_counts=np.asarray(arrays["class_counts"]))

    def to_bytes(self) -> bytes:
        """The compressed ``.npz`` file's contents."""
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **self.to_arrays())
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Predictions:
        with np.load(io.BytesIO(data)) as arrays:
            return cls.from_arrays(dict(arrays))


def atomic_write(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file of a unique name renamed into place.

    A reader sees the old file or the new one, never a part; two writers never share a
    temporary file. Parent folders are created.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
