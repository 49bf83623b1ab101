"""Datasets, split and encoded for the trainer: one module per dataset, one contract (base.py)."""

from __future__ import annotations

import inspect

from imbloss.checks import check_choice
from imbloss.data.base import PreparedData, TensorSplit
from imbloss.data.longtail import longtail_class_sizes, prepare_digits
from imbloss.data.names import LANGUAGES, load_names, prepare_names, split_names
from imbloss.data.samplers import SAMPLERS, epoch_indices, uniform_language_eval_indices
from imbloss.data.text import CharVocab, fold_ascii

# the one registry of datasets: a name, its prepare function and that function's keywords
PREPARE = {"names": prepare_names, "digits": prepare_digits}
DATASETS = tuple(PREPARE)
DATASET_KWARGS = {
    name: tuple(inspect.signature(prepare).parameters) for name, prepare in PREPARE.items()
}

__all__ = [
    "DATASETS",
    "DATASET_KWARGS",
    "LANGUAGES",
    "SAMPLERS",
    "CharVocab",
    "PREPARE",
    "PreparedData",
    "TensorSplit",
    "epoch_indices",
    "fold_ascii",
    "load_names",
    "longtail_class_sizes",
    "prepare_dataset",
    "prepare_digits",
    "prepare_names",
    "split_names",
    "uniform_language_eval_indices",
]


def prepare_dataset(name: str, **kwargs) -> PreparedData:
    """``prepare_names(**kwargs)`` or ``prepare_digits(**kwargs)``, chosen by ``name``
    (:data:`PREPARE`)."""
    check_choice("dataset", name, DATASETS)
    return PREPARE[name](**kwargs)
