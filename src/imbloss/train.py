"""Train one model with one loss: ``fit(TrainConfig(loss="focal", loss_kwargs={"gamma": 2}))``.

Each epoch draws its row order from :func:`imbloss.data.epoch_indices` with a seeded
``torch.Generator`` and cuts it into batches (:mod:`imbloss.data.batches`; ``length_grouping``
batches of sequences sorted by length together, 1 keeps them as drawn).

The learning rate follows ``config.lr_schedule`` per optimiser step (cosine by
default, :mod:`imbloss.schedules`); the process's seeds, threads and device are
:mod:`imbloss.runtime`'s. For each of :data:`imbloss.runs.TARGET_METRICS` (validation macro-F1 and
balanced accuracy) the epoch with the best validation score is selected: its
weights are kept in memory and the validation and test sets are scored with them,
and :func:`fit_and_predict` also returns their logits. On the CPU two runs of the
same config give identical numbers.

Under ``torchrun --nproc_per_node=N`` the same code trains data-parallel: every
rank draws the same global batches and trains on its shard of each, and the
gradient step equals the single-process one on the global batch (see
:mod:`imbloss.distributed` for what is synchronised); only rank 0 shows progress.
"""

from __future__ import annotations

import contextlib
import functools
import json
import time

import numpy as np
import torch

from imbloss import decoupled, distributed
from imbloss.config import TrainConfig
from imbloss.data import epoch_indices, prepare_dataset
from imbloss.data.base import PreparedData
from imbloss.data.batches import DeviceSplit, batch_inputs, batches, on_device
from imbloss.diagnostics import GradientDiagnostics, head_classes
from imbloss.errors import TrainingDiverged
from imbloss.losses import build_loss, class_balanced_weights
from imbloss.metrics import classification_metrics, epoch_metrics
from imbloss.models import build_model
from imbloss.progress import progress
from imbloss.runs import TARGET_METRICS, Predictions, RunResult, condition
from imbloss.runtime import (
    default_num_threads,
    library_versions,
    resolve_device,
    seed_everything,
    torch_threads,
)
from imbloss.schedules import DRW_BETA, drw_epoch, learning_rate

__all__ = [
    "RunResult",
    "TrainConfig",
    "Trainer",
    "build_run",
    "fit",
    "fit_and_predict",
    "load_data",
]

EVAL_BATCH_SIZE = 2048
# deferred re-weighting uses class-balanced weights with the beta of Cao et al. (2019)


def fit(config: TrainConfig, data: PreparedData | None = None) -> RunResult:
    """Train ``config``'s model with its loss; score validation every epoch, test at the best.

    ``data`` overrides loading ``config.dataset`` (used by tests and notebooks that
    prepare it once); it should then be what ``config`` describes. See
    :func:`fit_and_predict` for the saved logits as well.
    """
    return fit_and_predict(config, data)[0]


def fit_and_predict(
    config: TrainConfig, data: PreparedData | None = None
) -> tuple[RunResult, Predictions]:
    """:func:`fit`, and the validation and test logits of every selected epoch."""
    if not isinstance(config, TrainConfig):
        raise ValueError(f"config must be a TrainConfig; got {type(config).__name__}")
    start = time.perf_counter()
    with torch_threads(config.num_threads or default_num_threads()):
        if data is None:
            data = load_data(config.dataset, config.dataset_kwargs, config.seed)
        device = distributed.rank_device(resolve_device(config.device))
        with distributed.process_group(device):
            result, predictions = build_run(config, data, device).run()
    result.timings["total_s"] = time.perf_counter() - start
    return result, predictions


def build_run(config: TrainConfig, data: PreparedData, device: torch.device) -> Trainer:
    """One run assembled as :func:`fit_and_predict` assembles it, not yet trained: the loss
    (for the whole training set's counts, on every rank), the model seeded by
    ``config.seed``, both on ``device``, in a :class:`Trainer`. The seam for code that drives
    the epochs itself (:meth:`Trainer.train_epoch`); in a process group, call it inside the
    group, as ``fit`` does."""
    loss_fn = build_loss(config.loss, class_counts=data.class_counts, **config.loss_kwargs)
    seed_everything(config.seed)
    model = build_model(
        data,
        hidden_size=config.hidden_size,
        embedding_dim=config.embedding_dim,
        num_layers=config.num_layers,
        dropout=config.dropout,
        classifier=config.classifier,
    )
    return Trainer(config, data, model.to(device), loss_fn.to(device), device)


def diverged(config: TrainConfig, epoch: int, what: str) -> TrainingDiverged:
    """The error of a run whose training diverged in ``epoch``: what became non-finite, the
    loss and learning rate, and what to lower."""
    return TrainingDiverged(
        f"training diverged: {what} in epoch {epoch} (loss={config.loss!r}, "
        f"loss_kwargs={config.loss_kwargs}, lr={config.lr}); "
        "lower the learning rate (--lr) or the loss's keywords"
    )


@contextlib.contextmanager
def non_finite_logits_diverge(config: TrainConfig, epoch: int, logits: torch.Tensor):
    """A loss that fails on non-finite logits (GHM-C cannot bin a NaN gradient norm) raises
    :func:`diverged` instead; the logits are only inspected once the loss has failed."""
    try:
        yield
    except RuntimeError as error:
        if bool(torch.isfinite(logits).all()):
            raise
        raise diverged(config, epoch, "the logits became non-finite") from error


class Trainer:
    """The epoch loop of :func:`fit`, with its state in one place (build it with
    :func:`build_run`): :meth:`run` trains every epoch and scores the selected ones,
    :meth:`train_epoch` trains one.

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
        self.train = on_device(data.train, device)
        self.val = on_device(data.val, device)
        self.test = on_device(data.test, device)
        self.head = head_classes(data.class_counts)
        self.diagnostics = _RankDiagnostics(self.head, data.num_classes, device=device)
        self.autocast = functools.partial(
            torch.autocast, device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"
        )
        # the logits the decision rule reads: LDAM's scale multiplies the model's logits
        self.decision_scale = float(getattr(loss_fn, "scale", 1.0))
        self.steps_per_epoch = -(-len(data.train) // config.batch_size)
        self.step = 0

    def run(self) -> tuple[RunResult, Predictions]:
        config = self.config
        history = []
        best = {metric: (-1.0, 0, None) for metric in TARGET_METRICS}  # score, epoch, state
        train_s = eval_s = 0.0
        seen = 0
        bar = progress(
            range(1, config.epochs + 1),
            desc=f"{config.dataset} {condition(config.to_dict())} seed {config.seed}",
            unit="epoch",
            quiet=config.quiet or not distributed.is_main(),
            leave=False,
        )
        for epoch in bar:
            if epoch == drw_epoch(config):
                self._start_reweighting()
            tick = time.perf_counter()
            lr = learning_rate(config, self.step, self.steps_per_epoch * config.epochs)
            seen += self.train_epoch(epoch)
            diag = self.diagnostics.compute()  # the epoch's one host synchronisation
            epoch_s = time.perf_counter() - tick
            if not np.isfinite(diag["loss"]):
                raise diverged(config, epoch, f"the loss became {diag['loss']}")
            tick = time.perf_counter()
            val = epoch_metrics(
                self.val.y_cpu, self._logits(self.val).argmax(1), self.data.num_classes
            )
            eval_s += time.perf_counter() - tick
            train_s += epoch_s
            history.append(
                {
                    "epoch": epoch,
                    "lr": lr,
                    "train_loss": diag.pop("loss"),
                    **{f"val_{name}": value for name, value in val.items()},
                    **diag,
                    "train_s": epoch_s,
                }
            )
            bar.set_postfix(
                loss=f"{history[-1]['train_loss']:.3f}", val_f1=f"{val['macro_f1']:.3f}"
            )
            for metric in TARGET_METRICS:
                if val[metric] > best[metric][0]:
                    state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
                    best[metric] = (val[metric], epoch, state)

        tick = time.perf_counter()
        names = self.data.class_names
        selections, logits, crt, classifier = {}, {}, {}, {}
        for metric, (_, epoch, state) in best.items():
            self.model.load_state_dict(state)
            by_split = {"val": self._logits(self.val), "test": self._logits(self.test)}
            logits[metric] = {split: z.numpy() for split, z in by_split.items()}
            if decoupled.applies(config):
                features = {
                    name: self._features(split)
                    for name, split in (
                        ("train", self.train),
                        ("val", self.val),
                        ("test", self.test),
                    )
                }
                head = self.model.head
                crt[metric], classifier[metric] = decoupled.decoupled_outputs(
                    features,
                    self.train.y_cpu,
                    head.weight,
                    head.bias,
                    config,
                    self.data.num_classes,
                )
            selections[metric] = {
                "best_epoch": epoch,
                "val_metrics": classification_metrics(
                    self.val.y_cpu, by_split["val"].argmax(1), names
                ),
                "test_metrics": classification_metrics(
                    self.test.y_cpu, by_split["test"].argmax(1), names
                ),
            }
        eval_s += time.perf_counter() - tick
        result = RunResult(
            run_id=config.run_id,
            config=config.to_dict(),
            selections=selections,
            history=history,
            head_classes=[names[c] for c in self.head],
            class_counts=self.data.class_counts.tolist(),
            timings={"train_s": train_s, "eval_s": eval_s, "examples_per_s": seen / train_s},
            versions=library_versions(),
            device=str(self.device),
        )
        predictions = Predictions(
            logits=logits,
            labels={"val": self.val.y_cpu.numpy(), "test": self.test.y_cpu.numpy()},
            class_counts=self.data.class_counts.numpy(),
            crt=crt,
            classifier=classifier,
        )
        return result, predictions

    def _start_reweighting(self) -> None:
        """Deferred re-weighting: the loss's class weights become class-balanced weights."""
        weights = class_balanced_weights(self.data.class_counts, beta=DRW_BETA)
        self.loss_fn.weight = weights.to(self.device)

    def train_epoch(self, epoch: int) -> int:
        """One pass of optimiser steps; returns the number of rows trained on (all ranks')."""
        config, train = self.config, self.train
        total_steps = self.steps_per_epoch * config.epochs
        order = epoch_indices(config.sampler, train.y_cpu, generator=self.generator)
        self.model.train()
        for rows in batches(
            order, train.lengths, config.batch_size, config.length_grouping, self.generator
        ):
            for group in self.optimizer.param_groups:
                group["lr"] = learning_rate(config, self.step, total_steps)
            rows = distributed.shard(rows)
            x, lengths = batch_inputs(train, rows)
            target = train.y[rows.to(self.device, non_blocking=True)]
            with self.autocast():
                logits = self.step_model(x, lengths)
            logits.retain_grad()
            with non_finite_logits_diverge(self.config, epoch, logits):
                if self.global_mean is None:
                    loss = batch_loss = self.loss_fn(logits, target)
                else:
                    loss, batch_loss = self.global_mean(logits, target)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            self.diagnostics.update(logits, target, batch_loss)
            self.step += 1
        return len(order)

    def _logits(self, split: DeviceSplit) -> torch.Tensor:
        """The decision logits (float32, on the CPU) of every row."""
        with self.autocast():
            return self._every_row(split, self.model) * self.decision_scale

    def _features(self, split: DeviceSplit) -> torch.Tensor:
        """What the classifier reads (float32, on the CPU) for every row."""
        return self._every_row(split, self.model.features)

    @torch.no_grad()
    def _every_row(self, split: DeviceSplit, compute) -> torch.Tensor:
        """``compute(x, lengths)`` of every row in eval mode, in batches sorted by length."""
        self.model.eval()
        if split.lengths is None:
            order = torch.arange(len(split.y_cpu))
        else:
            order = split.lengths.argsort(descending=True)
        out = None
        for rows in order.split(EVAL_BATCH_SIZE):
            values = compute(*batch_inputs(split, rows)).float().cpu()
            if out is None:
                out = torch.empty(len(order), values.shape[1], dtype=torch.float32)
            out[rows] = values
        return out


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


@functools.lru_cache(maxsize=4)
def _load_data_cached(dataset: str, kwargs_json: str) -> PreparedData:
    return prepare_dataset(dataset, **json.loads(kwargs_json))


def load_data(dataset: str, dataset_kwargs: dict, seed: int) -> PreparedData:
    """``prepare_dataset(dataset, seed=seed, **dataset_kwargs)``, cached per process.

    The cache lets a sweep worker reuse a split; the returned data must not be modified.
    """
    kwargs = {"seed": seed, **dataset_kwargs}
    return _load_data_cached(dataset, json.dumps(kwargs, sort_keys=True, default=str))
