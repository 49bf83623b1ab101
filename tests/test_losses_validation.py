"""Bad input raises ValueError naming the bad value and what was expected."""

import math

import pytest
import torch

from imbloss.losses import (
    FocalLoss,
    GWLoss,
    LDAMLoss,
    LogitAdjustedLoss,
    build_loss,
    class_balanced_weights,
    focal_loss,
    focal_weight,
    gw_loss,
    gw_weight,
    inverse_frequency_weights,
    ldam_loss,
    logit_adjusted_loss,
    weighted_cross_entropy,
)

C = 3
COUNTS = [10, 5, 2]
LOGITS = torch.randn(4, C)
TARGET = torch.tensor([0, 2, 1, -100])

SOFTMAX = {
    "weighted_ce": lambda z, y, **k: weighted_cross_entropy(z, y, **k),
    "focal": lambda z, y, **k: focal_loss(z, y, **k),
    "gw": lambda z, y, **k: gw_loss(z, y, **k),
    "logit_adjusted": lambda z, y, **k: logit_adjusted_loss(z, y, COUNTS, **k),
    "ldam": lambda z, y, **k: ldam_loss(z, y, COUNTS, **k),
}


@pytest.mark.parametrize("name", list(SOFTMAX))
def test_float_targets_are_rejected(name):
    """Class-index losses refuse float targets (a wrong type: TypeError, as torch raises) and
    point to the sigmoid losses."""
    with pytest.raises(TypeError, match=r"integer tensor of class indices; got torch.float32"):
        SOFTMAX[name](LOGITS, TARGET.float())


@pytest.mark.parametrize("name", list(SOFTMAX))
@pytest.mark.parametrize("bad", [3, 7, -1, -5])
def test_out_of_range_targets_are_rejected(name, bad, device):
    """A kept target outside [0, C) is named, with the valid range and ignore_index, on every
    device (the check reads the target's values there)."""
    target = TARGET.clone()
    target[1] = bad
    with pytest.raises(ValueError, match=rf"class index {bad}; expected values in \[0, 2\]"):
        SOFTMAX[name](LOGITS.to(device), target.to(device))


@pytest.mark.parametrize("name", list(SOFTMAX))
def test_mismatched_shapes_are_rejected(name):
    """Target must have the logits' shape without the class axis."""
    with pytest.raises(ValueError, match=r"target has shape \(3,\) .* need target of shape \(4,\)"):
        SOFTMAX[name](LOGITS, TARGET[:3])
    with pytest.raises(ValueError, match=r"logits must have shape \(N, C\)"):
        SOFTMAX[name](LOGITS[0], TARGET[0])


@pytest.mark.parametrize("name", list(SOFTMAX))
def test_weight_of_wrong_length_is_rejected(name):
    """A per-class weight must have one entry per class."""
    with pytest.raises(ValueError, match=r"weight has length 2 .* expected length 3"):
        SOFTMAX[name](LOGITS, TARGET, weight=torch.ones(2))


def test_negative_weight_is_rejected():
    with pytest.raises(ValueError, match=r"weight must be non-negative .*-1.0"):
        weighted_cross_entropy(LOGITS, TARGET, torch.tensor([1.0, -1.0, 1.0]))


@pytest.mark.parametrize("loss", [logit_adjusted_loss, ldam_loss])
def test_class_counts_of_wrong_length_or_not_positive_are_rejected(loss):
    with pytest.raises(ValueError, match=r"class_counts has length 2 but there are 3 classes"):
        loss(LOGITS, TARGET, [10, 5])
    with pytest.raises(ValueError, match=r"class_counts must be positive .*0.0"):
        loss(LOGITS, TARGET, [10, 0, 5])


@pytest.mark.parametrize(
    "make, message",
    [
        (
            lambda: focal_loss(LOGITS, TARGET, gamma=-0.5),
            r"gamma must be a number in \[0.0, inf\); got -0.5",
        ),
        (lambda: FocalLoss(gamma=math.nan), r"gamma must be a number in .*; got nan"),
        (lambda: focal_weight(0.3, -1.0), r"gamma must be .*; got -1.0"),
        (
            lambda: gw_loss(LOGITS, TARGET, std=0.0),
            r"std must be a number in \(0.0, inf\]; got 0.0",
        ),
        (lambda: GWLoss(std=-1.0), r"std must be .*; got -1.0"),
        (lambda: gw_weight(0.3, std=math.nan), r"std must be .*; got nan"),
        (
            lambda: class_balanced_weights(COUNTS, beta=1.0),
            r"beta must be a number in \[0.0, 1.0\); got 1.0",
        ),
        (lambda: class_balanced_weights(COUNTS, beta=-0.1), r"beta must be .*; got -0.1"),
        (lambda: LDAMLoss(COUNTS, max_margin=-0.1), r"max_margin must be .*; got -0.1"),
        (lambda: LDAMLoss(COUNTS, scale=0.0), r"scale must be a number in \(0.0, inf\); got 0.0"),
        (
            lambda: LogitAdjustedLoss(COUNTS, tau=math.inf),
            r"tau must be a number in \(-inf, inf\); got inf",
        ),
        (lambda: inverse_frequency_weights([[1, 2]]), r"1-D vector .* shape \(1, 2\)"),
        (lambda: FocalLoss(reduction="avg"), r"reduction='avg' is not valid"),
        (lambda: focal_loss(LOGITS, TARGET, reduction="batchmean"), r"reduction='batchmean'"),
        (lambda: build_loss("ghm", momentum=1.0), r"momentum must be .*; got 1.0"),
    ],
)  # fmt: skip
def test_bad_hyperparameters_are_named(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_integer_logits_are_rejected():
    with pytest.raises(
        TypeError, match=r"logits must be a floating-point tensor; got dtype torch.int64"
    ):
        focal_loss(torch.zeros(2, C, dtype=torch.long), TARGET[:2])


@pytest.mark.parametrize(
    "target, ignore_index, may_ignore",
    [
        ([0.0, 1.0, 0.3], -100.0, False),  # every value in [0, 1], ignore_index outside: no mask
        ([0.0, 1.0, -100.0], -100.0, True),  # an ignored element
        ([0.0, 1.0, 0.5], 0.5, True),  # ignore_index among the probabilities: min/max can't tell
        ([0.0, 1.0, 0.5], None, False),
    ],
)
def test_sigmoid_check_says_whether_a_mask_is_needed(target, ignore_index, may_ignore):
    from imbloss.losses._checks import check_sigmoid_inputs

    target = torch.tensor(target)
    got = check_sigmoid_inputs(torch.zeros(3), target, ignore_index, min_dim=0)
    assert got is may_ignore


@pytest.mark.parametrize(
    ("keyword", "value"),
    [("mean", float("nan")), ("slope", float("nan")), ("slope", math.inf)],
)
def test_gw_mean_and_slope_must_be_finite_numbers(keyword, value) -> None:
    with pytest.raises(ValueError, match=f"{keyword} must be a number in"):
        build_loss("gw", class_counts=torch.ones(3), **{keyword: value})


def test_gw_mean_given_as_a_string_is_a_type_error() -> None:
    with pytest.raises(TypeError, match=r"mean must be a real number; got '0.5' \(str\)"):
        build_loss("gw", class_counts=torch.ones(3), mean="0.5")
