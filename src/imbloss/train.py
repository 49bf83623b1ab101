"""Train one model with one loss: ``fit(TrainConfig(loss="focal", loss_kwargs={"gamma": 2}))``.

Batches are index tensors into the padded training tensors (no DataLoader):
each epoch draws its row order from :func:`imbloss.data.epoch_indices` with a
seeded ``torch.Generator``, cuts it into batches and trims every batch's
padding to its longest sequence. For sequences, the rows of
``length_grouping`` consecutive batches are sorted by length before they are
cut (the "megabatch" length grouping of Hugging Face's ``group_by_length``)
and the batches are then shuffled: the GRU then runs fewer time steps per
batch; ``length_grouping=1`` keeps the batches as drawn.

The best epoch is the one with the highest validation macro-F1; its weights
are kept in memory and the test set is scored with them. On the CPU two runs
of the same config give identical numbers.

Under ``torchrun --nproc_per_node=N`` the same code trains data-parallel: every
rank draws the same global batches and trains on its shard of each, and the
gradient step equals the single-process one on the global batch (see
:mod:`imbloss.distributed` for what is synchronised); only rank 0 shows progress.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import hashlib
import inspect
import json
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from importlib import metadata
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from imbloss import distributed
from imbloss.data import (
    DATASETS,
    SAMPLERS,
    epoch_indices,
    prepare_dataset,
    prepare_digits,
    prepare_names,
)
from imbloss.data.base import PreparedData, TensorSplit
from imbloss.diagnostics import GradientDiagnostics, head_classes
from imbloss.losses import LOSSES, build_loss
from imbloss.losses._checks import check_choice as _check_choice
from imbloss.losses._checks import check_int as _check_int
from imbloss.losses._checks import check_real as _check_real
from imbloss.metrics import classification_metrics, epoch_metrics
from imbloss.models import TutorialCharRNN, build_model

DEVICES = ("auto", "cpu", "cuda", "mps")
DATASET_KWARGS = {
    name: tuple(inspect.signature(prepare).parameters)
    for name, prepare in (("names", prepare_names), ("digits", prepare_digits))
}
EVAL_BATCH_SIZE = 2048
# Fields that change how a run is executed or shown, not what it computes: not in the run id.
RUNTIME_FIELDS = ("num_threads", "quiet")


@dataclass
class TrainConfig:
    """Everything that defines a training run; invalid values raise ``ValueError`` at creation.

    Attributes:
        dataset: one of :data:`imbloss.data.DATASETS`.
        dataset_kwargs: keywords for the dataset's ``prepare_*`` function (e.g.
            ``{"imbalance_ratio": 50}`` for digits). Its ``seed`` defaults to ``seed``,
            so every seed draws its own split and runs that share a seed share a split.
        loss: one of :data:`imbloss.losses.LOSSES`.
        loss_kwargs: the loss's hyperparameters (e.g. ``{"gamma": 2.0}``).
        hidden_size: GRU units per direction, or the MLP's hidden width.
        embedding_dim: character embedding size (sequences only).
        num_layers: stacked GRU layers (sequences only).
        dropout: dropout before the output layer.
        epochs: passes over the training rows.
        batch_size: rows per optimiser step (the defaults of ``batch_size``, ``lr``, the
            model sizes and ``epochs`` suit the names data).
        lr: Adam learning rate.
        weight_decay: Adam weight decay (L2).
        sampler: one of :data:`imbloss.data.SAMPLERS`.
        length_grouping: batches whose rows are sorted by length together (1 = off).
        seed: seeds Python, NumPy, torch, the batch order and (by default) the split.
        device: ``"auto"`` (CUDA, then MPS, then CPU), ``"cpu"``, ``"cuda"``,
            ``"cuda:N"`` or ``"mps"``.
        num_threads: torch CPU threads for the run (None: leave as is).
        quiet: no progress bar (it is also off when stderr is not a terminal).
    """

    dataset: str = "names"
    dataset_kwargs: dict = field(default_factory=dict)
    loss: str = "ce"
    loss_kwargs: dict = field(default_factory=dict)
    hidden_size: int = 64
    embedding_dim: int = 32
    num_layers: int = 1
    dropout: float = 0.0
    epochs: int = 10
    batch_size: int = 512
    lr: float = 1e-2
    weight_decay: float = 0.0
    sampler: str = "natural"
    length_grouping: int = 8
    seed: int = 0
    device: str = "auto"
    num_threads: int | None = None
    quiet: bool = False

    def __post_init__(self) -> None:
        _check_choice("dataset", self.dataset, DATASETS)
        _check_choice("loss", self.loss, LOSSES)
        _check_choice("sampler", self.sampler, SAMPLERS)
        for name in ("dataset_kwargs", "loss_kwargs"):
            value = getattr(self, name)
            if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
                raise ValueError(f"{name} must be a dict with string keys; got {value!r}")
        # the loss keywords are checked by building the loss once (names and values);
        # two placeholder class counts stand in for the data's
        build_loss(self.loss, class_counts=torch.ones(2), **self.loss_kwargs)
        valid = DATASET_KWARGS.get(self.dataset)
        unknown = sorted(set(self.dataset_kwargs) - set(valid)) if valid is not None else []
        if unknown:
            raise ValueError(
                f"dataset_kwargs {unknown} are not options of dataset {self.dataset!r}; "
                f"valid ones are {valid}"
            )
        for name in (
            "hidden_size",
            "embedding_dim",
            "num_layers",
            "epochs",
            "batch_size",
            "length_grouping",
        ):
            _check_int(name, getattr(self, name), minimum=1)
            setattr(self, name, int(getattr(self, name)))  # NumPy integers -> int (JSON, run_id)
        _check_int("seed", self.seed, minimum=0)
        self.seed = int(self.seed)
        if self.num_threads is not None:
            _check_int("num_threads", self.num_threads, minimum=1)
            self.num_threads = int(self.num_threads)
        _check_real("lr", self.lr, low=0.0, low_open=True)
        _check_real("weight_decay", self.weight_decay, low=0.0)
        _check_real("dropout", self.dropout, low=0.0, high=1.0, high_open=True)
        if not isinstance(self.quiet, bool):
            raise ValueError(f"quiet must be True or False; got {self.quiet!r}")
        if not isinstance(self.device, str) or (
            self.device not in DEVICES and not _is_cuda_index(self.device)
        ):
            raise ValueError(
                f"device={self.device!r} is not valid; expected one of {DEVICES} or 'cuda:N'"
            )

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        """Build from a mapping; an unknown key is an error that lists the valid ones."""
        if not isinstance(values, dict):
            raise ValueError(f"a train config must be a mapping; got {type(values).__name__}")
        valid = [f.name for f in fields(cls)]
        unknown = sorted(set(values) - set(valid))
        if unknown:
            raise ValueError(f"unknown config key(s) {unknown}; valid keys are {valid}")
        return cls(**copy.deepcopy(values))

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def run_id(self) -> str:
        """A stable, readable id: dataset, loss, seed and a hash of every result-changing field."""
        return f"{self.dataset}-{self.loss}-s{self.seed}-{config_digest(self.to_dict())}"


def config_digest(config: dict, drop: Sequence[str] = ()) -> str:
    """A 10-hex-digit hash of every result-changing field of a config dict, less ``drop``."""
    kept = {k: v for k, v in config.items() if k not in set(drop) | set(RUNTIME_FIELDS)}
    return hashlib.sha1(json.dumps(kept, sort_keys=True, default=str).encode()).hexdigest()[:10]


def loss_params(config: dict) -> str:
    """The config's loss keywords, sorted, as ``"gamma=2.0"`` (empty without keywords)."""
    return ",".join(f"{k}={v}" for k, v in sorted(config["loss_kwargs"].items()))


def loss_label(config: dict) -> str:
    """The loss and its keywords as ``"focal(gamma=2.0)"``, or the bare name without them."""
    params = loss_params(config)
    return f"{config['loss']}({params})" if params else config["loss"]


@dataclass
class RunResult:
    """What one :func:`fit` measured; ``to_json`` / ``from_json`` round-trip it exactly.

    ``history`` has one dict per epoch: ``epoch``, ``train_loss``, ``val_accuracy``,
    ``val_macro_f1``, ``easy_grad_share``, ``head_grad_share``, ``mean_p_t`` and
    ``train_s``. ``timings`` holds ``train_s`` (training steps only), ``eval_s``,
    ``total_s`` and ``examples_per_s`` (training rows per second of ``train_s``; for
    the names data these are names per second).
    """

    run_id: str
    config: dict
    best_epoch: int
    val_metrics: dict
    test_metrics: dict
    history: list
    head_classes: list
    class_counts: list
    timings: dict
    versions: dict
    device: str

    @property
    def train_config(self) -> TrainConfig:
        return TrainConfig.from_dict(self.config)

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
        """Write the JSON atomically (a temporary file renamed into place)."""
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(self.to_json())
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> RunResult:
        return cls.from_json(Path(path).read_text())


def fit(config: TrainConfig, data: PreparedData | None = None) -> RunResult:
    """Train ``config``'s model with its loss; score validation every epoch and test at the best.

    ``data`` overrides loading ``config.dataset`` (used by tests and notebooks that
    prepare it once); it should then be what ``config`` describes.
    """
    if not isinstance(config, TrainConfig):
        raise ValueError(f"config must be a TrainConfig; got {type(config).__name__}")
    start = time.perf_counter()
    with _torch_threads(config.num_threads):
        if data is None:
            data = load_data(config.dataset, config.dataset_kwargs, config.seed)
        device = distributed.rank_device(resolve_device(config.device))
        with distributed.process_group(device):
            # the whole training set's counts on every rank, not a shard's
            loss_fn = build_loss(config.loss, class_counts=data.class_counts, **config.loss_kwargs)
            seed_everything(config.seed)
            model = build_model(
                data,
                hidden_size=config.hidden_size,
                embedding_dim=config.embedding_dim,
                num_layers=config.num_layers,
                dropout=config.dropout,
            )
            result = _Trainer(config, data, model.to(device), loss_fn.to(device), device).run()
    result.timings["total_s"] = time.perf_counter() - start
    return result


class _Trainer:
    """The epoch loop of :func:`fit`, with its state in one place.

    In a process group ``step_model`` is the DDP-wrapped ``model`` and ``loss_fn`` is
    wrapped in :class:`~imbloss.distributed.GlobalBatchMean`; otherwise both are as given.
    """

    def __init__(self, config, data, model, loss_fn, device) -> None:
        self.config, self.data, self.device = config, data, device
        self.model, self.loss_fn = model, loss_fn
        self.step_model = distributed.wrap_model(model, device)
        self.global_mean = None
        if distributed.active():
            distributed.check_batches(len(data.train), config.batch_size)
            self.global_mean = distributed.GlobalBatchMean(loss_fn)
        self.optimizer = torch.optim.Adam(
            model.parameters(),
            lr=config.lr,
            weight_decay=config.weight_decay,
            fused=device.type in ("cpu", "cuda"),  # one kernel per step instead of a loop
        )
        self.generator = torch.Generator().manual_seed(config.seed)
        self.train = _on_device(data.train, device)
        self.val = _on_device(data.val, device)
        self.test = _on_device(data.test, device)
        self.head = head_classes(data.class_counts)
        self.diagnostics = _RankDiagnostics(self.head, data.num_classes, device=device)
        self.autocast = functools.partial(
            torch.autocast, device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"
        )

    def run(self) -> RunResult:
        config = self.config
        history, best_f1, best_epoch, best_state = [], -1.0, 0, None
        train_s = eval_s = 0.0
        seen = 0
        bar = tqdm(
            range(1, config.epochs + 1),
            desc=f"{config.dataset} {config.loss} seed {config.seed}",
            disable=config.quiet or not sys.stderr.isatty() or not distributed.is_main(),
            leave=False,
        )
        for epoch in bar:
            tick = time.perf_counter()
            seen += self._train_epoch()
            diag = self.diagnostics.compute()  # the epoch's one host synchronisation
            epoch_s = time.perf_counter() - tick
            if not np.isfinite(diag["loss"]):
                raise FloatingPointError(
                    f"training loss became {diag['loss']} in epoch {epoch} "
                    f"(loss={config.loss!r}, loss_kwargs={config.loss_kwargs}, lr={config.lr})"
                )
            tick = time.perf_counter()
            val = epoch_metrics(self.val.y_cpu, self._predict(self.val), self.data.num_classes)
            eval_s += time.perf_counter() - tick
            train_s += epoch_s
            history.append(
                {
                    "epoch": epoch,
                    "train_loss": diag.pop("loss"),
                    "val_accuracy": val["accuracy"],
                    "val_macro_f1": val["macro_f1"],
                    **diag,
                    "train_s": epoch_s,
                }
            )
            bar.set_postfix(
                loss=f"{history[-1]['train_loss']:.3f}", val_f1=f"{val['macro_f1']:.3f}"
            )
            if val["macro_f1"] > best_f1:
                best_f1, best_epoch = val["macro_f1"], epoch
                best_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}

        tick = time.perf_counter()
        self.model.load_state_dict(best_state)
        names = self.data.class_names
        val_metrics = classification_metrics(self.val.y_cpu, self._predict(self.val), names)
        test_metrics = classification_metrics(self.test.y_cpu, self._predict(self.test), names)
        eval_s += time.perf_counter() - tick
        return RunResult(
            run_id=config.run_id,
            config=config.to_dict(),
            best_epoch=best_epoch,
            val_metrics=val_metrics,
            test_metrics=test_metrics,
            history=history,
            head_classes=[names[c] for c in self.head],
            class_counts=self.data.class_counts.tolist(),
            timings={"train_s": train_s, "eval_s": eval_s, "examples_per_s": seen / train_s},
            versions=library_versions(),
            device=str(self.device),
        )

    def _train_epoch(self) -> int:
        """One pass of optimiser steps; returns the number of rows trained on (all ranks')."""
        config, train = self.config, self.train
        order = epoch_indices(config.sampler, train.y_cpu, generator=self.generator)
        self.model.train()
        for rows in _batches(
            order, train.lengths, config.batch_size, config.length_grouping, self.generator
        ):
            rows = distributed.shard(rows)
            x, lengths = _batch_inputs(train, rows)
            target = train.y[rows.to(self.device, non_blocking=True)]
            with self.autocast():
                logits = self.step_model(x, lengths)
            logits.retain_grad()
            if self.global_mean is None:
                loss = batch_loss = self.loss_fn(logits, target)
            else:
                loss, batch_loss = self.global_mean(logits, target)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            self.diagnostics.update(logits, target, batch_loss)
        return len(order)

    @torch.no_grad()
    def _predict(self, split: _DeviceSplit) -> torch.Tensor:
        """Predicted class of every row (on the CPU), in batches sorted by length."""
        self.model.eval()
        n = len(split.y_cpu)
        if split.lengths is None:
            order = torch.arange(n)
        else:
            order = split.lengths.argsort(descending=True)
        predictions = torch.empty(n, dtype=torch.int64)
        for rows in order.split(EVAL_BATCH_SIZE):
            x, lengths = _batch_inputs(split, rows)
            with self.autocast():
                logits = self.model(x, lengths)
            predictions[rows] = logits.argmax(dim=1).cpu()
        return predictions


class _RankDiagnostics(GradientDiagnostics):
    """The epoch's diagnostics over every rank's rows: the sums are all-reduced once per epoch.

    Each rank adds its shard's rows with the global batch's mean loss, so the summed
    loss term is that of the global batches; the gradients of a rank are scaled by the
    world size (:class:`~imbloss.distributed.GlobalBatchMean`), which the shares, being
    ratios, do not see. In one process this is :class:`GradientDiagnostics`.
    """

    def compute(self) -> dict[str, float]:
        distributed.all_reduce_sum_(self._sums)
        return super().compute()


@dataclass
class _DeviceSplit:
    """A split on the training device; ``lengths`` and ``y_cpu`` stay on the CPU for indexing."""

    x: torch.Tensor
    y: torch.Tensor
    y_cpu: torch.Tensor
    lengths: torch.Tensor | None


def _on_device(split: TensorSplit, device: torch.device) -> _DeviceSplit:
    lengths = split.lengths.cpu() if split.lengths is not None else None
    return _DeviceSplit(split.x.to(device), split.y.to(device), split.y.cpu(), lengths)


def _batch_inputs(split: _DeviceSplit, rows: torch.Tensor):
    """The rows' inputs, padding trimmed to the longest of them, and their lengths (CPU)."""
    device_rows = rows.to(split.x.device, non_blocking=True)
    if split.lengths is None:
        return split.x[device_rows], None
    lengths = split.lengths[rows]
    return split.x[device_rows, : int(lengths.max())], lengths


def _batches(
    order: torch.Tensor,
    lengths: torch.Tensor | None,
    batch_size: int,
    grouping: int,
    generator: torch.Generator,
) -> list[torch.Tensor]:
    """Cut ``order`` into batches; with ``grouping > 1``, group rows of similar length."""
    if lengths is None or grouping == 1:
        return list(order.split(batch_size))
    batches = []
    for chunk in order.split(batch_size * grouping):
        by_length = lengths[chunk].argsort(descending=True, stable=True)
        batches.extend(chunk[by_length].split(batch_size))
    return [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]


def fit_tutorial(
    data: PreparedData,
    *,
    steps: int,
    lr: float = 0.005,
    hidden_size: int = 128,
    sampler: str = "uniform_language",
    seed: int = 0,
) -> dict:
    """The PyTorch char-RNN tutorial's recipe, for comparison: one name per SGD step.

    :class:`~imbloss.models.TutorialCharRNN` (one-hot characters, a ``hidden_size``
    ``nn.RNN``, log-softmax) is trained with NLL loss and plain SGD at ``lr`` for
    ``steps`` names drawn by ``sampler`` (the tutorial's draw: a uniform language,
    then a uniform name of it); there is no model selection. Returns the test
    metrics, the training seconds and seconds per step.
    """
    if data.kind != "sequence":
        raise ValueError(f"the tutorial model reads sequences; got data.kind={data.kind!r}")
    _check_int("steps", steps, minimum=1)
    seed_everything(seed)
    model = TutorialCharRNN(data.input_size, data.num_classes, hidden_size=hidden_size)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    train = data.train
    rows = epoch_indices(sampler, train.y, generator=generator, num_samples=steps).tolist()
    tick = time.perf_counter()
    for row in rows:
        log_probs = model(train.x[row, : int(train.lengths[row])])
        loss = nn.functional.nll_loss(log_probs, train.y[row : row + 1])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    train_s = time.perf_counter() - tick
    with torch.no_grad():
        test = data.test
        predictions = [
            int(model(test.x[i, : int(test.lengths[i])]).argmax()) for i in range(len(test))
        ]
    return {
        "steps": steps,
        "train_s": train_s,
        "s_per_step": train_s / steps,
        "test_metrics": classification_metrics(test.y, predictions, data.class_names),
    }


@functools.lru_cache(maxsize=4)
def _load_data_cached(dataset: str, kwargs_json: str) -> PreparedData:
    return prepare_dataset(dataset, **json.loads(kwargs_json))


def load_data(dataset: str, dataset_kwargs: dict, seed: int) -> PreparedData:
    """``prepare_dataset(dataset, seed=seed, **dataset_kwargs)``, cached per process.

    The cache lets a sweep worker reuse a split; the returned data must not be modified.
    """
    kwargs = {"seed": seed, **dataset_kwargs}
    return _load_data_cached(dataset, json.dumps(kwargs, sort_keys=True, default=str))


def resolve_device(name: str = "auto") -> torch.device:
    """``"auto"`` picks CUDA, then Apple MPS, then the CPU; a named device must be available."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device={name!r} was asked for but CUDA is not available")
    if name == "mps" and not torch.backends.mps.is_available():
        raise ValueError("device='mps' was asked for but MPS is not available")
    return torch.device(name)


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's global generators."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def library_versions() -> dict[str, str]:
    import sklearn

    try:
        imbloss_version = metadata.version("imbloss")
    except metadata.PackageNotFoundError:
        imbloss_version = "unknown"
    return {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "numpy": np.__version__,
        "sklearn": sklearn.__version__,
        "imbloss": imbloss_version,
    }


@contextlib.contextmanager
def _torch_threads(num_threads: int | None):
    """Use ``num_threads`` torch CPU threads inside the block, then restore the previous count."""
    if num_threads is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(num_threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _is_cuda_index(device: str) -> bool:
    prefix, _, index = device.partition(":")
    return prefix == "cuda" and index.isdigit()
