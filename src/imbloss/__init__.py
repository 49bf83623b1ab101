"""imbloss: losses for imbalanced classification."""

from importlib import metadata

from .losses import (
    LOSSES,
    FocalLoss,
    GHMCLoss,
    GWLoss,
    LDAMLoss,
    LogitAdjustedLoss,
    SigmoidFocalLoss,
    WeightedCrossEntropyLoss,
    build_loss,
    class_balanced_weights,
    focal_loss,
    focal_weight,
    gw_loss,
    gw_weight,
    inverse_frequency_weights,
    ldam_loss,
    ldam_margins,
    log_prior_offset,
    logit_adjusted_loss,
    modulated_cross_entropy,
    sigmoid_focal_loss,
    weighted_cross_entropy,
)

try:  # the one version is pyproject.toml's, read from the installed package's metadata
    __version__ = metadata.version("imbloss")
except metadata.PackageNotFoundError:  # imported from a source tree that is not installed
    __version__ = "unknown"

__all__ = [
    "LOSSES",
    "FocalLoss",
    "GHMCLoss",
    "GWLoss",
    "LDAMLoss",
    "LogitAdjustedLoss",
    "SigmoidFocalLoss",
    "WeightedCrossEntropyLoss",
    "__version__",
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
