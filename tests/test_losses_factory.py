"""build_loss: every name gives a movable nn.Module equal to the loss it names."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from imbloss import (
    LOSSES,
    FocalLoss,
    GWLoss,
    build_loss,
    class_balanced_weights,
    focal_loss,
    gw_loss,
    inverse_frequency_weights,
    ldam_loss,
    logit_adjusted_loss,
)

COUNTS = torch.tensor([300, 40, 12, 3])
NEEDS_COUNTS = {"weighted_ce", "cb_ce", "cb_focal", "logit_adjusted", "balanced_softmax", "ldam"}


def batch(seed=0):
    g = torch.Generator().manual_seed(seed)
    logits = 2 * torch.randn(9, 4, generator=g, dtype=torch.float64)
    target = torch.randint(0, 4, (9,), generator=g)
    target[2] = -100
    return logits, target


def test_losses_lists_the_issue_names():
    assert LOSSES == (
        "ce", "weighted_ce", "cb_ce", "focal", "cb_focal", "gw", "gw_blog", "ghm",
        "logit_adjusted", "balanced_softmax", "ldam",
    )  # fmt: skip


@pytest.mark.parametrize("name", LOSSES)
def test_every_name_builds_a_callable_module_that_accepts_class_counts(name):
    """Each name gives an nn.Module called as loss(logits, target) with a finite scalar, and
    accepts class_counts= whether or not it uses them."""
    loss = build_loss(name, class_counts=COUNTS)
    assert isinstance(loss, nn.Module)
    logits, target = batch()
    value = loss(logits.float().requires_grad_(), target)
    assert value.shape == () and torch.isfinite(value)


@pytest.mark.parametrize("name", LOSSES)
def test_every_module_moves_with_to(name, device):
    """.to(device, dtype) moves and converts every floating tensor the loss holds (they are
    buffers), and the moved module still computes there."""
    takes_weight = name in ("ce", "focal", "gw", "gw_blog", "ghm", "logit_adjusted", "ldam")
    extra = {"weight": [1.0, 2.0, 3.0, 4.0]} if takes_weight else {}
    loss = build_loss(name, class_counts=COUNTS, **extra)
    floats = [b for b in loss.buffers() if b.is_floating_point()]
    assert floats and all(b.dtype != torch.float64 for b in floats)
    moved = loss.to(device, torch.float64)
    assert moved is loss
    assert all(b.dtype == torch.float64 for b in loss.buffers() if b.is_floating_point())
    assert all(b.device.type == device.type for b in loss.buffers())
    logits, target = batch()
    value = moved(logits.to(device), target.to(device))
    assert value.device.type == device.type and torch.isfinite(value)


@pytest.mark.parametrize("name", sorted(NEEDS_COUNTS))
def test_missing_class_counts_is_a_value_error_saying_so(name):
    with pytest.raises(ValueError, match=rf"loss '{name}' needs class_counts="):
        build_loss(name)


@pytest.mark.parametrize("name", sorted(set(LOSSES) - NEEDS_COUNTS))
def test_losses_without_counts_build_without_them(name):
    assert isinstance(build_loss(name), nn.Module)


def test_unknown_name_lists_the_valid_names():
    with pytest.raises(ValueError, match=r"unknown loss 'focall'; expected one of \('ce', "):
        build_loss("focall")


@pytest.mark.parametrize(
    "name, bad",
    [("ce", "gamma"), ("focal", "tau"), ("balanced_softmax", "tau"), ("weighted_ce", "weight"),
     ("gw_blog", "blog_code"), ("gw_blog", "seed_bug"), ("ldam", "s"), ("cb_focal", "weight")],
)  # fmt: skip
def test_unknown_keyword_lists_the_valid_ones(name, bad):
    """A keyword the name does not take (or fixes itself) is refused, listing the valid ones."""
    with pytest.raises(ValueError, match=rf"unknown keyword\(s\) \['{bad}'\]; valid keywords"):
        build_loss(name, class_counts=COUNTS, **{bad: 1.0})


def test_valid_keywords_listed_for_focal():
    with pytest.raises(ValueError) as info:
        build_loss("focal", gammma=2)
    for keyword in ("gamma", "weight", "detach_modulator", "ignore_index", "reduction"):
        assert keyword in str(info.value)


def _ce(logits, target, weight=None):
    return F.cross_entropy(logits, target, weight=None if weight is None else weight.double())


@pytest.mark.parametrize(
    "name, kwargs, reference",
    [
        ("ce", {}, lambda z, y: _ce(z, y)),
        ("weighted_ce", {}, lambda z, y: _ce(z, y, inverse_frequency_weights(COUNTS))),
        ("cb_ce", {"beta": 0.99}, lambda z, y: _ce(z, y, class_balanced_weights(COUNTS, 0.99))),
        ("cb_ce", {}, lambda z, y: _ce(z, y, class_balanced_weights(COUNTS, 0.9999))),
        ("focal", {"gamma": 1.5}, lambda z, y: focal_loss(z, y, 1.5)),
        (
            "cb_focal",
            {"beta": 0.9, "gamma": 0.5},
            lambda z, y: focal_loss(z, y, 0.5, class_balanced_weights(COUNTS, 0.9).double()),
        ),
        ("gw", {"slope": 0.2}, lambda z, y: gw_loss(z, y, slope=0.2)),
        ("gw_blog", {}, lambda z, y: gw_loss(z, y, blog_code=True)),
        ("logit_adjusted", {"tau": 0.5}, lambda z, y: logit_adjusted_loss(z, y, COUNTS, 0.5)),
        ("balanced_softmax", {}, lambda z, y: _ce(z + COUNTS.double().log(), y)),
        ("ldam", {"scale": 10.0}, lambda z, y: ldam_loss(z, y, COUNTS, 0.5, 10.0)),
    ],
)
def test_each_name_is_the_loss_it_names(name, kwargs, reference):
    """weighted_ce = CE with 1/n weights, cb_* = class-balanced weights (beta), balanced_softmax
    = CE(z + log n), gw_blog = GW with the blog code's weight; options pass through."""
    logits, target = batch()
    got = build_loss(name, class_counts=COUNTS, **kwargs)(logits, target)
    torch.testing.assert_close(got, reference(logits, target))


def test_factory_passes_options_to_the_module():
    loss = build_loss("focal", gamma=0.0, detach_modulator=True, reduction="sum")
    assert isinstance(loss, FocalLoss)
    assert (loss.gamma, loss.detach_modulator, loss.reduction) == (0.0, True, "sum")
    gw = build_loss("gw_blog", std=0.5)
    assert isinstance(gw, GWLoss) and gw.blog_code and gw.std == 0.5


def test_the_old_blog_code_names_still_work_with_a_deprecation_warning():
    """gw_seed / seed_bug= (one release): the same loss as gw_blog / blog_code=, and a
    DeprecationWarning that names the new name."""
    logits, target = batch()
    with pytest.warns(DeprecationWarning, match="'gw_seed' is deprecated.*'gw_blog'"):
        old = build_loss("gw_seed", std=0.5)
    torch.testing.assert_close(old(logits, target), build_loss("gw_blog", std=0.5)(logits, target))
    with pytest.warns(DeprecationWarning, match="seed_bug= is deprecated.*blog_code="):
        old = build_loss("gw", seed_bug=True)
    assert old.blog_code
    with pytest.warns(DeprecationWarning, match="seed_bug="):
        value = gw_loss(logits, target, seed_bug=True)
    torch.testing.assert_close(value, gw_loss(logits, target, blog_code=True))


def test_assigning_a_new_weight_changes_the_loss():
    """The class weight is a buffer that can be replaced in training (LDAM's deferred
    re-weighting)."""
    logits, target = batch()
    loss = build_loss("ldam", class_counts=COUNTS)
    before = loss(logits, target)
    loss.weight = class_balanced_weights(COUNTS, 0.999)
    assert not torch.allclose(before, loss(logits, target))
    assert "weight" in dict(loss.named_buffers())
