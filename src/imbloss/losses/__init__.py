"""Losses for imbalanced classification; every softmax loss is one configuration of
:func:`imbloss.losses.core.modulated_cross_entropy`. Build any of them by name with
:func:`build_loss`."""

from .class_weights import (
    WeightedCrossEntropyLoss,
    class_balanced_weights,
    inverse_frequency_weights,
    weighted_cross_entropy,
)
from .core import modulated_cross_entropy
from .factory import LOSSES, build_loss
from .focal import FocalLoss, focal_loss, focal_weight
from .ghm import GHMCLoss
from .gw import GWLoss, gw_loss, gw_weight
from .ldam import LDAMLoss, ldam_loss, ldam_margins
from .logit_adjustment import LogitAdjustedLoss, log_prior_offset, logit_adjusted_loss
from .sigmoid import SigmoidFocalLoss, sigmoid_focal_loss

__all__ = [
    "LOSSES",
    "FocalLoss",
    "GHMCLoss",
    "GWLoss",
    "LDAMLoss",
    "LogitAdjustedLoss",
    "SigmoidFocalLoss",
    "WeightedCrossEntropyLoss",
    "build_loss",
    "class_balanced_weights",
    "focal_loss",
    "focal_weight",
    "gw_loss",
    "gw_weight",
    "inverse_frequency_weights",
    "ldam_loss",
    "ldam_margins",
    "log_prior_offset",
    "logit_adjusted_loss",
    "modulated_cross_entropy",
    "sigmoid_focal_loss",
    "weighted_cross_entropy",
]
