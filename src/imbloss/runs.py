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
from dataclasses import asdict, dataclass, field
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
    """The training condition: the loss name, with ``_drw`` under deferred re-weighting and
    ``_resampled`` under the class-balanced sampler."""
    name = config["loss"] + ("_drw" if config.get("drw_start") is not None else "")
    sampler = config.get("sampler", "natural")
    return name + {"natural": "", "balanced": "_resampled"}.get(sampler, f"_{sampler}")


# Config fields besides the loss keywords that a sweep's grid may tune (imbloss.spec); a
# run's params name them when they differ from 0
TUNED_FIELDS = ("weight_decay",)


def loss_params(config: Mapping) -> str:
    """The config's loss keywords, sorted, and a non-zero :data:`TUNED_FIELDS` value, as
    ``"gamma=2.0"`` or ``"weight_decay=0.0001"`` (empty when neither is set)."""
    settings = dict(config["loss_kwargs"])
    settings.update({k: config[k] for k in TUNED_FIELDS if config.get(k)})
    return ",".join(f"{k}={v}" for k, v in sorted(settings.items()))


# The decision rules a label may name after its condition (imbloss.comparison.CE_RULES).
RULES = ("", "post-hoc τ", "cRT", "τ-norm")


def label(condition: str, params: str = "", *, rule: str = "") -> str:
    """The one label of a condition at a setting, composed here and nowhere else:
    ``"focal(gamma=2.0)"`` (``params`` as :func:`loss_params` writes them), the bare name
    without keywords, and ``" + <rule>"`` after it for a decision rule of :data:`RULES`
    applied to its trained model.

    Examples:
        >>> label("focal", "gamma=2.0"), label("ce", rule="post-hoc τ"), label("ce", rule="cRT")
        ('focal(gamma=2.0)', 'ce + post-hoc τ', 'ce + cRT')
    """
    if rule not in RULES:
        raise ValueError(f"rule={rule!r} is not valid; expected one of {RULES}")
    text = f"{condition}({params})" if params else condition
    return f"{text} + {rule}" if rule else text


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

    Runs with the decoupled baselines (:func:`imbloss.decoupled.applies`) also keep, per
    metric, ``crt[metric][split]``: the logits of the classifier re-trained on the frozen
    features of that epoch's model, and ``classifier[metric]``: the trained linear layer's
    ``"bias"`` and class weight ``"norms"`` (C each), which τ-normalisation reads
    (:func:`imbloss.posthoc.tau_normalized_logits`).
    """

    logits: dict
    labels: dict
    class_counts: np.ndarray
    crt: dict = field(default_factory=dict)
    classifier: dict = field(default_factory=dict)

    def to_arrays(self) -> dict[str, np.ndarray]:
        arrays = {"class_counts": np.asarray(self.class_counts, dtype=np.int64)}
        for split, labels in self.labels.items():
            arrays[f"labels_{split}"] = np.asarray(labels, dtype=np.int64)
        for prefix, by_metric in (("logits", self.logits), ("crt", self.crt)):
            for metric, by_split in by_metric.items():
                for split, logits in by_split.items():
                    arrays[f"{prefix}_{metric}_{split}"] = np.asarray(logits, dtype=np.float16)
        for metric, layer in self.classifier.items():
            for name, values in layer.items():
                arrays[f"classifier_{metric}_{name}"] = np.asarray(values, dtype=np.float32)
        return arrays

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> Predictions:
        parts: dict = {"logits": {}, "crt": {}, "classifier": {}}
        labels = {}
        for key, value in arrays.items():
            prefix, _, rest = key.partition("_")
            if prefix == "labels":
                labels[rest] = np.asarray(value)
            elif prefix in parts:  # <prefix>_<metric>_<split, or bias / norms>
                metric, _, split = rest.rpartition("_")
                parts[prefix].setdefault(metric, {})[split] = np.asarray(value)
        return cls(labels=labels, class_counts=np.asarray(arrays["class_counts"]), **parts)

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
