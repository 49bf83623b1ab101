"""Datasets, split and encoded for the trainer: one module per dataset, one contract (base.py)."""

from __future__ import annotations

from imbloss.checks import check_choice
from imbloss.data.base import PreparedData, TensorSplit
from imbloss.data.longtail import longtail_class_sizes, prepare_digits
from imbloss.data.names import LANGUAGES, load_names, prepare_names, split_names
from imbloss.data.samplers import SAMPLERS, epoch_indices, uniform_language_eval_indices
from imbloss.data.text import CharVocab, fold_ascii

DATASETS = ("names", "digits")

__all__ = [
    "DATASETS",
    "LANGUAGES",
    "SAMPLERS",
    "CharVocab",
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
    """``prepare_names(**kwargs)`` or ``prepare_digits(**kwargs)``, chosen by ``name``."""
    check_choice("dataset", name, DATASETS)
    return prepare_names(**kwargs) if name == "names" else prepare_digits(**kwargs)
