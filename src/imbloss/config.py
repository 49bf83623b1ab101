"""What defines a training run: :class:`TrainConfig`, checked when it is created.

The trainer (:func:`imbloss.train.fit`) reads it; the sweep builds many of them from a
spec. Invalid values raise ``ValueError`` (a value of the wrong type ``TypeError``) naming
the field, the value and what was expected (:mod:`imbloss.checks`).
"""

from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass, field, fields

import torch

from imbloss.checks import check_bool, check_choice, check_int, check_mapping, check_real
from imbloss.data import DATASET_KWARGS, DATASETS, SAMPLERS
from imbloss.losses import LOSSES, build_loss
from imbloss.models import CLASSIFIERS
from imbloss.runs import RUNTIME_FIELDS, run_id
from imbloss.runtime import DEVICES, is_cuda_index

LR_SCHEDULES = ("constant", "cosine", "step")
# Named training conditions beyond a bare loss: the config fields each one sets.
# LDAM-DRW as published (Cao et al. 2019): a cosine classifier, LDAM's margins and scale,
# class-balanced re-weighting switched on with a tenfold learning-rate step late in training.
# Class-balanced re-sampling: plain cross-entropy on batches that draw every class equally often.
CONDITIONS = {
    "ldam_drw": {"loss": "ldam", "classifier": "cosine", "drw_start": 0.8, "lr_schedule": "step"},
    "ce_resampled": {"loss": "ce", "sampler": "balanced"},
}


@dataclass
class TrainConfig:
    """Everything that defines a training run; invalid values raise ``ValueError`` (wrong types
    ``TypeError``) at creation.

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
        lr: Adam's initial learning rate.
        lr_schedule: ``"cosine"`` (from ``lr`` to 0 over the run, per step; Loshchilov &
            Hutter 2017), ``"step"`` (``lr``, times :data:`imbloss.schedules.STEP_FACTOR`
            from :data:`~imbloss.schedules.STEP_AT` of the steps on, the schedule of
            LDAM-DRW) or ``"constant"``.
        weight_decay: Adam weight decay (L2).
        classifier: ``"linear"`` or ``"cosine"`` (normalised features and class weights,
            logits in [-1, 1]: the classifier of LDAM-DRW, whose loss scales them).
        drw_start: deferred re-weighting (Cao et al. 2019): from this fraction of the
            epochs on, the loss's class weights become class-balanced weights
            (β = 0.9999, Cui et al. 2019); None keeps the loss's own weights.
        sampler: one of :data:`imbloss.data.SAMPLERS`.
        length_grouping: batches whose rows are sorted by length together (1 = off).
        seed: seeds Python, NumPy, torch, the batch order and (by default) the split.
        device: ``"auto"`` (CUDA, then MPS, then CPU), ``"cpu"``, ``"cuda"``,
            ``"cuda:N"`` or ``"mps"``.
        num_threads: torch CPU threads for the run (None:
            :func:`imbloss.runtime.default_num_threads`; a sweep gives each run one).
        quiet: no progress bar (else :func:`imbloss.progress.progress`: lines in a log).
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
    lr_schedule: str = "cosine"
    weight_decay: float = 0.0
    classifier: str = "linear"
    drw_start: float | None = None
    sampler: str = "natural"
    length_grouping: int = 8
    seed: int = 0
    device: str = "auto"
    num_threads: int | None = None
    quiet: bool = False

    def __post_init__(self) -> None:
        check_choice("dataset", self.dataset, DATASETS)
        check_choice("loss", self.loss, LOSSES)
        check_choice("sampler", self.sampler, SAMPLERS)
        check_choice("lr_schedule", self.lr_schedule, LR_SCHEDULES)
        check_choice("classifier", self.classifier, CLASSIFIERS)
        if self.drw_start is not None:
            check_real(
                "drw_start", self.drw_start, low=0.0, high=1.0, low_open=True, high_open=True
            )
            self.drw_start = float(self.drw_start)
        for name in ("dataset_kwargs", "loss_kwargs"):
            check_mapping(name, getattr(self, name))
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
            check_int(name, getattr(self, name), minimum=1)
            setattr(self, name, int(getattr(self, name)))  # NumPy integers -> int (JSON, run_id)
        if self.drw_start is not None and math.floor(self.drw_start * self.epochs) < 1:
            raise ValueError(
                f"drw_start={self.drw_start} with epochs={self.epochs} re-weights from the first "
                f"epoch (class-balanced CE, not DRW); expected drw_start >= {1 / self.epochs:g}"
            )
        check_int("seed", self.seed, minimum=0)
        self.seed = int(self.seed)
        if self.num_threads is not None:
            check_int("num_threads", self.num_threads, minimum=1)
            self.num_threads = int(self.num_threads)
        check_real("lr", self.lr, low=0.0, high=math.inf, low_open=True, high_open=True)
        check_real("weight_decay", self.weight_decay, low=0.0, high=math.inf, high_open=True)
        check_real("dropout", self.dropout, low=0.0, high=1.0, high_open=True)
        check_bool("quiet", self.quiet)
        if not isinstance(self.device, str):
            raise TypeError(f"device must be a string; got {self.device!r}")
        if self.device not in DEVICES and not is_cuda_index(self.device):
            raise ValueError(
                f"device={self.device!r} is not valid; expected one of {DEVICES} or 'cuda:N'"
            )

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        """Build from a mapping; an unknown key is an error that lists the valid ones."""
        if not isinstance(values, dict):
            raise TypeError(f"a train config must be a mapping; got {type(values).__name__}")
        valid = [f.name for f in fields(cls)]
        unknown = sorted(set(values) - set(valid))
        if unknown:
            raise ValueError(f"unknown config key(s) {unknown}; valid keys are {valid}")
        return cls(**copy.deepcopy(values))

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def run_id(self) -> str:
        """A stable, readable id (:func:`imbloss.runs.run_id`)."""
        return run_id(self.to_dict())


def stack_key(config: TrainConfig) -> str | None:
    """What configs must share to train together in one stack, or None if ``config`` cannot.

    Configs stack (:func:`imbloss.stacked.fit_stacked`) when they train on the digits data (a
    :class:`~imbloss.models.FeatureMLP`) and differ only in ``seed`` and in how they run
    (threads, progress).
    """
    if config.dataset != "digits":
        return None
    values = config.to_dict()
    return repr(sorted((k, v) for k, v in values.items() if k not in ("seed", *RUNTIME_FIELDS)))
