"""Train several small models at once: the seeds of one digits setting as one stacked model.

A digits run is 200 epochs of a one-hidden-layer perceptron on a few hundred images, so its
time goes to the per-step overhead of Python, autograd and the optimiser, not to arithmetic.
:func:`fit_stacked` trains ``K`` configs that differ only in their seed as one
:class:`StackedMLP`, whose weights carry a leading model axis (``torch.bmm`` instead of ``K``
``nn.Linear`` calls), with one backward pass and one Adam step per batch for all of them.
The models share their training class counts (the digits data keeps the same class sizes
for every seed). Each model keeps what its one-model run
(:func:`imbloss.train.fit_and_predict`) has:

* its own initialisation (``seed_everything(seed)``, then :func:`imbloss.models.build_model`,
  whose weights are stacked), its own split (``load_data(..., seed)``) and its own batch
  order (a ``torch.Generator`` seeded with its seed);
* its own loss: the stacked objective is ``sum_k L_k`` where ``L_k`` is model ``k``'s batch
  mean, so the gradient of model ``k``'s weights is that of ``L_k`` alone; Adam works element
  by element, so one Adam over stacked weights is ``K`` independent Adams;
* its own per-epoch validation scores and best epoch per target metric, diagnostics,
  and the :class:`~imbloss.runs.RunResult` and :class:`~imbloss.runs.Predictions` of a
  one-model run.

``tests/test_stacked.py`` checks that a stacked run equals the one-model runs of the same
seeds to float tolerance; ``bench/bench_stacked.py`` measures the CPU time per run. The
same code runs on CUDA (with the bf16 autocast of the one-model trainer). The loss is one
call with ``reduction="none"`` over all ``K`` batches, each model's rows summed and divided
by that model's ``mean_denominator`` (what its one-model ``reduction="mean"`` divides by). A
loss whose value couples the examples of a batch (GHM-C's gradient density and its moving
average) is built with ``groups=K``: one set of statistics per model, as ``K`` separate
losses would keep.

Dropout draws its masks in another order than ``K`` one-model runs, so with ``dropout > 0``
the runs are valid but not equal to the one-model ones.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from imbloss import decoupled
from imbloss.config import TrainConfig, stack_key
from imbloss.data import epoch_indices
from imbloss.data.base import PreparedData
from imbloss.diagnostics import GradientDiagnostics, head_classes
from imbloss.losses import build_loss, class_balanced_weights
from imbloss.metrics import classification_metrics, epoch_metrics
from imbloss.models import CosineClassifier, FeatureMLP, build_model
from imbloss.progress import progress
from imbloss.runs import TARGET_METRICS, Predictions, RunResult, condition
from imbloss.runtime import default_num_threads, library_versions, resolve_device, seed_everything
from imbloss.runtime import torch_threads as _torch_threads
from imbloss.schedules import DRW_BETA, drw_epoch, learning_rate
from imbloss.train import diverged, load_data, non_finite_logits_diverge

# losses whose batch value couples its examples: built with groups=K (statistics per model)
GROUPED_LOSSES = ("ghm",)


class StackedMLP(nn.Module):
    """``K`` :class:`~imbloss.models.FeatureMLP` models as one module with a model axis.

    ``forward(x)`` takes ``x`` of shape (K, N, D) (row block ``k`` for model ``k``) and
    returns logits (K, N, C): ``relu(x W1_k^T + b1_k) W2_k^T + b2_k``, or the cosine
    classifier ``normalize(h) normalize(W2_k)^T`` (:class:`~imbloss.models.CosineClassifier`).
    The parameters are the models' own, stacked: ``state(k)`` gives model ``k``'s
    ``state_dict`` back.
    """

    def __init__(self, models: Sequence[FeatureMLP]) -> None:
        super().__init__()
        if not models or not all(isinstance(m, FeatureMLP) for m in models):
            raise TypeError(f"models must be a non-empty sequence of FeatureMLP; got {models!r}")
        states = [m.state_dict() for m in models]
        self.names = list(states[0])
        if any(list(state) != self.names for state in states):
            raise ValueError("models must have the same layers (hidden size and classifier)")
        self.weights = nn.ParameterList(
            [nn.Parameter(torch.stack([state[name] for state in states])) for name in self.names]
        )
        _, _, dropout, classifier = models[0].net
        self.cosine = isinstance(classifier, CosineClassifier)
        self.dropout = dropout.p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w1, b1, w2, *b2 = self.weights
        hidden = F.dropout(self.features(x), self.dropout, self.training)
        if self.cosine:
            return F.normalize(hidden, dim=2) @ F.normalize(w2, dim=2).transpose(1, 2)
        return torch.baddbmm(b2[0].unsqueeze(1), hidden, w2.transpose(1, 2))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Every model's hidden activations (K, N, H): what its classifier reads."""
        w1, b1, *_ = self.weights
        return torch.relu(torch.baddbmm(b1.unsqueeze(1), x, w1.transpose(1, 2)))

    def state(self, k: int) -> dict[str, torch.Tensor]:
        """Model ``k``'s weights (copies) under the names of its ``FeatureMLP.state_dict``."""
        return {name: w[k].detach().clone() for name, w in zip(self.names, self.weights)}

    @torch.no_grad()
    def load_states(self, states: Sequence[dict[str, torch.Tensor]]) -> None:
        """Set every model's weights from one ``state(k)``-shaped dict per model."""
        for name, w in zip(self.names, self.weights):
            w.copy_(torch.stack([state[name] for state in states]))


def fit_stacked(
    configs: Sequence[TrainConfig], data: Sequence[PreparedData] | None = None
) -> list[tuple[RunResult, Predictions]]:
    """Train ``configs`` at once (one :func:`~imbloss.config.stack_key`, distinct seeds).

    Returns one ``(RunResult, Predictions)`` per config, in order, as
    :func:`imbloss.train.fit_and_predict` would.

    ``data`` overrides loading each config's split (one per config, in order). Timings are
    the stack's, divided by ``K`` (``timings["stacked_models"]`` says ``K``).
    """
    configs = list(configs)
    if not configs or not all(isinstance(c, TrainConfig) for c in configs):
        raise TypeError(f"configs must be a non-empty sequence of TrainConfig; got {configs!r}")
    keys = {stack_key(c) for c in configs}
    if None in keys or len(keys) > 1:
        raise ValueError(
            "configs must be digits configs that differ only in their seed; got "
            f"{[c.run_id for c in configs]}"
        )
    seeds = [c.seed for c in configs]
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"configs must have distinct seeds; got {seeds}")
    start = time.perf_counter()
    first = configs[0]
    with _torch_threads(first.num_threads or default_num_threads()):
        if data is None:
            data = [load_data(c.dataset, c.dataset_kwargs, c.seed) for c in configs]
        if len(data) != len(configs):
            raise ValueError(f"data must hold one split per config; got {len(data)} for {seeds}")
        if any(not torch.equal(d.class_counts, data[0].class_counts) for d in data):
            raise ValueError(
                "the configs' training sets must have the same class counts; got "
                f"{[d.class_counts.tolist() for d in data]}"
            )
        trainer = _StackedTrainer(configs, list(data), resolve_device(first.device))
        outcomes = trainer.run()
    total_s = (time.perf_counter() - start) / len(configs)
    for result, _ in outcomes:
        result.timings["total_s"] = total_s
    return outcomes


class _StackedTrainer:
    """The epoch loop of :func:`fit_stacked`: :class:`imbloss.train.Trainer` with a model axis."""

    def __init__(self, configs, data, device) -> None:
        self.configs, self.data, self.device = configs, data, device
        self.config = config = configs[0]
        models = []
        for c, d in zip(configs, data):
            seed_everything(c.seed)
            models.append(
                build_model(
                    d,
                    hidden_size=c.hidden_size,
                    dropout=c.dropout,
                    classifier=c.classifier,
                )
            )
        self.model = StackedMLP(models).to(device)
        self.optimizer = torch.optim.Adam(
            self.model.parameters(),
            lr=config.lr,
            weight_decay=config.weight_decay,
            fused=device.type in ("cpu", "cuda"),
        )
        self.generators = [torch.Generator().manual_seed(c.seed) for c in configs]
        self.class_counts = counts = data[0].class_counts
        grouped = {"groups": len(configs)} if config.loss in GROUPED_LOSSES else {}
        self.loss = build_loss(
            config.loss, class_counts=counts, reduction="none", **grouped, **config.loss_kwargs
        ).to(device)
        self.train = _stack([d.train for d in data], device)
        self.val = _stack([d.val for d in data], device)
        self.test = _stack([d.test for d in data], device)
        self.num_classes = data[0].num_classes
        self.head = head_classes(counts)
        self.diagnostics = GradientDiagnostics(
            self.head, self.num_classes, device=device, models=len(configs)
        )
        self.autocast = lambda: torch.autocast(
            device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"
        )
        self.decision_scale = float(getattr(self.loss, "scale", 1.0))
        self.steps_per_epoch = -(-len(data[0].train) // config.batch_size)
        self.step = 0

    def run(self) -> list[tuple[RunResult, Predictions]]:
        config, k_models = self.config, len(self.configs)
        histories = [[] for _ in self.configs]
        # per model and metric: score, epoch, state
        best = [{m: (-1.0, 0, None) for m in TARGET_METRICS} for _ in self.configs]
        train_s = eval_s = 0.0
        seen = 0
        bar = progress(
            range(1, config.epochs + 1),
            desc=f"{config.dataset} {condition(config.to_dict())} {k_models} seeds stacked",
            unit="epoch",
            quiet=config.quiet,
            leave=False,
        )
        for epoch in bar:
            if epoch == drw_epoch(config):
                self._start_reweighting()
            tick = time.perf_counter()
            lr = learning_rate(config, self.step, self.steps_per_epoch * config.epochs)
            seen += self._train_epoch(epoch)
            diags = self.diagnostics.compute_per_model()  # the epoch's one host synchronisation
            epoch_s = time.perf_counter() - tick
            for k, diag in enumerate(diags):
                if not np.isfinite(diag["loss"]):
                    what = f"the loss of seed {self.configs[k].seed} became {diag['loss']}"
                    raise diverged(config, epoch, what)
            tick = time.perf_counter()
            predicted = self._logits(self.val).argmax(2)
            vals = [
                epoch_metrics(y, p, self.num_classes) for y, p in zip(self.val.y_cpu, predicted)
            ]
            eval_s += time.perf_counter() - tick
            train_s += epoch_s
            for k, (val, diag) in enumerate(zip(vals, diags)):
                histories[k].append(
                    {
                        "epoch": epoch,
                        "lr": lr,
                        "train_loss": diag.pop("loss"),
                        **{f"val_{name}": value for name, value in val.items()},
                        **diag,
                        "train_s": epoch_s / k_models,
                    }
                )
                for metric in TARGET_METRICS:
                    if val[metric] > best[k][metric][0]:
                        best[k][metric] = (val[metric], epoch, self.model.state(k))
            bar.set_postfix(val_f1=f"{np.mean([v['macro_f1'] for v in vals]):.3f}")

        tick = time.perf_counter()
        logits = {}
        crt = [{} for _ in self.configs]
        classifier = [{} for _ in self.configs]
        for metric in TARGET_METRICS:
            self.model.load_states([b[metric][2] for b in best])
            logits[metric] = {"val": self._logits(self.val), "test": self._logits(self.test)}
            if decoupled.applies(config):
                self._decoupled(metric, crt, classifier)
        eval_s += time.perf_counter() - tick
        outcomes = []
        for k, (c, d) in enumerate(zip(self.configs, self.data)):
            tick = time.perf_counter()
            names = d.class_names
            selections, run_logits = {}, {}
            for metric in TARGET_METRICS:
                by_split = {split: z[k] for split, z in logits[metric].items()}
                run_logits[metric] = {split: z.numpy() for split, z in by_split.items()}
                selections[metric] = {
                    "best_epoch": best[k][metric][1],
                    "val_metrics": classification_metrics(
                        self.val.y_cpu[k], by_split["val"].argmax(1), names
                    ),
                    "test_metrics": classification_metrics(
                        self.test.y_cpu[k], by_split["test"].argmax(1), names
                    ),
                }
            run_eval_s = eval_s / k_models + time.perf_counter() - tick
            result = RunResult(
                run_id=c.run_id,
                config=c.to_dict(),
                selections=selections,
                history=histories[k],
                head_classes=[names[i] for i in self.head],
                class_counts=d.class_counts.tolist(),
                timings={
                    "train_s": train_s / k_models,
                    "eval_s": run_eval_s,
                    "examples_per_s": seen / train_s,
                    "stacked_models": k_models,
                },
                versions=library_versions(),
                device=str(self.device),
            )
            predictions = Predictions(
                logits=run_logits,
                labels={"val": self.val.y_cpu[k].numpy(), "test": self.test.y_cpu[k].numpy()},
                class_counts=d.class_counts.numpy(),
                crt=crt[k],
                classifier=classifier[k],
            )
            outcomes.append((result, predictions))
        return outcomes

    def _start_reweighting(self) -> None:
        """Deferred re-weighting: the loss's class weights become class-balanced weights."""
        self.loss.weight = class_balanced_weights(self.class_counts, beta=DRW_BETA).to(self.device)

    def _train_epoch(self, epoch: int) -> int:
        """One pass of optimiser steps for every model; returns the rows trained (all models')."""
        config, train = self.config, self.train
        total_steps = self.steps_per_epoch * config.epochs
        orders = torch.stack(
            [
                epoch_indices(config.sampler, y, generator=g)
                for y, g in zip(train.y_cpu, self.generators)
            ]
        ).to(self.device)
        models = torch.arange(len(self.configs), device=self.device).unsqueeze(1)
        # the epoch's rows in order, gathered once: each batch is then a view
        inputs, targets = train.x[models, orders], train.y[models, orders]
        self.model.train()
        batches = zip(
            inputs.split(config.batch_size, dim=1), targets.split(config.batch_size, dim=1)
        )
        for x, target in batches:
            for group in self.optimizer.param_groups:
                group["lr"] = learning_rate(config, self.step, total_steps)
            with self.autocast():
                logits = self.model(x)
            logits.retain_grad()
            with non_finite_logits_diverge(config, epoch, logits):
                per_model = self._per_model_loss(logits, target)
            self.optimizer.zero_grad(set_to_none=True)
            per_model.sum().backward()
            self.optimizer.step()
            self.diagnostics.update(logits, target, per_model)
            self.step += 1
        return orders.numel()

    def _per_model_loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Each model's batch-mean loss (K,): one call over every model's rows, each model's
        sum divided by its own ``mean_denominator``."""
        loss = self.loss
        k_models, batch, classes = logits.shape
        per_row = loss(logits.reshape(k_models * batch, classes), target.reshape(-1))
        denominators = torch.stack([loss.mean_denominator(z, y) for z, y in zip(logits, target)])
        return per_row.reshape(k_models, batch).sum(1) / denominators.to(per_row.dtype)

    @torch.no_grad()
    def _decoupled(self, metric: str, crt: list, classifier: list) -> None:
        """Each model's decoupled baselines at its ``metric`` epoch (loaded), into ``crt[k]`` and
        ``classifier[k]`` (:func:`imbloss.decoupled.decoupled_outputs`)."""
        self.model.eval()
        features = {
            name: self.model.features(split.x).float().cpu()
            for name, split in (("train", self.train), ("val", self.val), ("test", self.test))
        }
        _, _, weight, bias = self.model.weights
        for k, config in enumerate(self.configs):
            crt[k][metric], classifier[k][metric] = decoupled.decoupled_outputs(
                {name: f[k] for name, f in features.items()},
                self.train.y_cpu[k],
                weight[k],
                bias[k],
                config,
                self.num_classes,
            )

    @torch.no_grad()
    def _logits(self, split: _StackedSplit) -> torch.Tensor:
        """Every model's decision logits (K, N, C), float32 on the CPU."""
        self.model.eval()
        with self.autocast():
            logits = self.model(split.x)
        return logits.float().cpu() * self.decision_scale


class _StackedSplit:
    """One split of every model as (K, N, ...) tensors on the device; labels also on the CPU."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, device: torch.device) -> None:
        self.x, self.y, self.y_cpu = x.to(device), y.to(device), y


def _stack(splits, device: torch.device) -> _StackedSplit:
    sizes = {len(s) for s in splits}
    if len(sizes) > 1:
        raise ValueError(f"every model's split must be of one size; got {sorted(sizes)}")
    return _StackedSplit(
        torch.stack([s.x for s in splits]), torch.stack([s.y for s in splits]), device
    )
