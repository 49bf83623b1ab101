"""Label smoothing on every softmax loss: ``F.cross_entropy``'s smoothed target
``(1 - ε) onehot(y) + ε / C`` with class weights as torch applies them, so that every loss at
its neutral setting is ``F.cross_entropy(..., label_smoothing=ε)``; a modulated loss is the
modulator of the true class's ``p_t`` times that smoothed cross-entropy."""

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from imbloss import LOSSES, build_loss
from imbloss.losses import (
    GHMCLoss,
    focal_loss,
    gw_loss,
    gw_weight,
    ldam_loss,
    ldam_margins,
    logit_adjusted_loss,
    weighted_cross_entropy,
)

IGNORE = -100
COUNTS = torch.tensor([400.0, 120.0, 30.0, 9.0, 2.0, 50.0])

# every softmax loss at its neutral setting, with a free weight
NEUTRAL = {
    "ce": lambda z, y, **kw: weighted_cross_entropy(z, y, **kw),
    "focal gamma=0": lambda z, y, **kw: focal_loss(z, y, 0.0, **kw),
    "focal gamma=0 detached": lambda z, y, **kw: focal_loss(z, y, 0.0, detach_modulator=True, **kw),
    "gw slope=0 std=inf": lambda z, y, **kw: gw_loss(z, y, 0.5, math.inf, 0.0, **kw),
    "gw flowing": lambda z, y, **kw: gw_loss(
        z, y, 0.5, math.inf, 0.0, detach_modulator=False, **kw
    ),
    "ghm bins=1": lambda z, y, **kw: GHMCLoss(1, 0.0, **kw)(z, y),
    "logit adjustment tau=0": lambda z, y, **kw: logit_adjusted_loss(
        z, y, COUNTS[: z.shape[1]], 0.0, **kw
    ),
    "ldam max_margin=0 scale=1": lambda z, y, **kw: ldam_loss(
        z, y, COUNTS[: z.shape[1]], 0.0, 1.0, **kw
    ),
}


@st.composite
def smoothing_problems(draw, device, dtype):
    """(logits, target, weight or None, ε, reduction) with random shape and ignored positions."""
    c = draw(st.integers(2, 6))
    n = draw(st.integers(1, 6))
    spatial = draw(st.sampled_from([(), (3,), (2, 2)]))
    g = torch.Generator().manual_seed(draw(st.integers(0, 2**31 - 1)))
    logits = 4 * torch.randn(n, c, *spatial, generator=g, dtype=torch.float64)
    target = torch.randint(0, c, (n, *spatial), generator=g)
    target[torch.rand(target.shape, generator=g) < draw(st.sampled_from([0.0, 0.4]))] = IGNORE
    weight = None
    if draw(st.booleans()):
        weight = (torch.rand(c, generator=g, dtype=torch.float64) + 0.1).to(device, dtype)
    eps = draw(st.sampled_from([0.0, 0.05, 0.3, 1.0]))
    reduction = draw(st.sampled_from(["mean", "sum", "none"]))
    return logits.to(device, dtype).requires_grad_(), target.to(device), weight, eps, reduction


@pytest.mark.parametrize("name", list(NEUTRAL))
def test_neutral_point_is_cross_entropy_with_label_smoothing(name, device, dtype):
    """At its neutral setting every softmax loss with ``label_smoothing=ε`` equals
    ``F.cross_entropy(..., label_smoothing=ε)`` in value and gradient, over shapes, class
    weights, ignored positions, ε in [0, 1] and the three reductions."""

    @given(smoothing_problems(device, dtype))
    def check(problem):
        logits, target, weight, eps, reduction = problem
        kw = {"weight": weight, "label_smoothing": eps, "reduction": reduction}
        ours = NEUTRAL[name](logits, target, **kw)
        ref = F.cross_entropy(logits, target, **kw)
        torch.testing.assert_close(ours, ref)
        (g_ours,) = torch.autograd.grad(ours.sum(), logits)
        (g_ref,) = torch.autograd.grad(ref.sum(), logits)
        torch.testing.assert_close(g_ours, g_ref)

    check()


def batch(device, dtype=torch.float64, seed=0):
    g = torch.Generator().manual_seed(seed)
    logits = 3 * torch.randn(11, 6, generator=g, dtype=torch.float64)
    target = torch.randint(0, 6, (11,), generator=g)
    target[::4] = IGNORE
    return logits.to(device, dtype).requires_grad_(), target.to(device)


WEIGHT = [0.5, 2.0, 1.0, 3.0, 0.25, 1.5]


def smoothed_ce(logits, target, eps, weight=None):
    """F.cross_entropy's smoothed per-position loss (0 where ignored), and -log p_t."""
    per = F.cross_entropy(logits, target, weight=weight, label_smoothing=eps, reduction="none")
    kept = target != IGNORE
    log_pt = torch.log_softmax(logits, 1).gather(1, target.clamp(min=0)[:, None]).squeeze(1)
    return per, torch.where(kept, log_pt, 0.0)


@pytest.mark.parametrize("gamma", [0.5, 2.0])
def test_focal_is_its_factor_of_p_t_times_the_smoothed_cross_entropy(gamma, device, dtype):
    """focal_ε = (1 - p_t)^γ CE_ε per position, with p_t the true class's probability;
    the mean divides by Σ w_y over the kept positions, as at ε = 0."""
    logits, target = batch(device, dtype)
    weight = torch.tensor(WEIGHT, device=device, dtype=dtype)
    per, log_pt = smoothed_ce(logits, target, 0.2, weight)
    expected = (1 - log_pt.exp()) ** gamma * per
    got = focal_loss(logits, target, gamma, weight, label_smoothing=0.2, reduction="none")
    torch.testing.assert_close(got, expected)
    kept = target != IGNORE
    mean = focal_loss(logits, target, gamma, weight, label_smoothing=0.2)
    torch.testing.assert_close(mean, expected.sum() / weight[target[kept]].sum())
    (g_got,) = torch.autograd.grad(got.sum(), logits)
    (g_expected,) = torch.autograd.grad(expected.sum(), logits)
    torch.testing.assert_close(g_got, g_expected)


def test_gw_is_its_weight_of_p_t_times_the_smoothed_cross_entropy(device):
    """GW_ε = m(p_t) CE_ε with the GW bell m, no gradient through m by default."""
    logits, target = batch(device)
    per, log_pt = smoothed_ce(logits, target, 0.1)
    m = gw_weight(log_pt.exp().detach())
    got = gw_loss(logits, target, label_smoothing=0.1, reduction="none")
    torch.testing.assert_close(got, m * per)
    (g_got,) = torch.autograd.grad(got.sum(), logits)
    (g_expected,) = torch.autograd.grad((m * per).sum(), logits)
    torch.testing.assert_close(g_got, g_expected)


def test_ghm_weights_the_smoothed_cross_entropy_by_the_same_beta(device):
    """Smoothing changes the target, not p_t, so GHM-C's β (from g = 1 - p_t) is the same:
    GHM_ε / GHM_0 = CE_ε / CE_0 position by position."""
    logits, target = batch(device)
    weight = torch.tensor(WEIGHT, device=device, dtype=torch.float64)
    plain = GHMCLoss(4, 0.0, weight=weight, reduction="none")(logits, target)
    smooth = GHMCLoss(4, 0.0, weight=weight, label_smoothing=0.3, reduction="none")(logits, target)
    ce0, _ = smoothed_ce(logits, target, 0.0, weight)
    ce_eps, _ = smoothed_ce(logits, target, 0.3, weight)
    kept = target != IGNORE
    torch.testing.assert_close(smooth[kept] * ce0[kept], plain[kept] * ce_eps[kept])
    assert torch.all(smooth[~kept] == 0)


def test_logit_changes_are_smoothed_after_the_change(device):
    """LDAM_ε = CE_ε(s (z - Δ_y onehot(y))) and logit adjustment_ε = CE_ε(z + τ log π): the
    smoothed target is that of the changed logits' softmax."""
    logits, target = batch(device)
    weight = torch.tensor(WEIGHT, device=device, dtype=torch.float64)
    counts = COUNTS.to(device)
    margins = ldam_margins(counts, 0.5).to(device, torch.float64)
    onehot = F.one_hot(target.clamp(min=0), 6).bool()
    changed = 30.0 * torch.where(onehot, logits - margins[target.clamp(min=0)][:, None], logits)
    for reduction in ("mean", "sum", "none"):
        kw = {"label_smoothing": 0.1, "reduction": reduction}
        torch.testing.assert_close(
            ldam_loss(logits, target, counts, 0.5, 30.0, weight, **kw),
            F.cross_entropy(changed, target, weight=weight, **kw),
        )
        shifted = logits + 0.5 * torch.log(counts / counts.sum()).to(torch.float64)
        torch.testing.assert_close(
            logit_adjusted_loss(logits, target, counts, 0.5, weight, **kw),
            F.cross_entropy(shifted, target, weight=weight, **kw),
        )


@pytest.mark.parametrize("name", LOSSES)
def test_every_factory_name_takes_label_smoothing_and_changes_the_loss(name):
    """build_loss passes label_smoothing to every softmax loss; ε > 0 changes the number, and
    the module shows it."""
    logits, target = batch("cpu")
    extra = {"momentum": 0.0} if name == "ghm" else {}
    plain = build_loss(name, class_counts=COUNTS, **extra)
    smooth = build_loss(name, class_counts=COUNTS, label_smoothing=0.2, **extra)
    assert smooth.label_smoothing == 0.2 and "label_smoothing=0.2" in repr(smooth)
    assert not torch.allclose(smooth(logits, target), plain(logits, target))


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan")])
def test_label_smoothing_outside_0_1_is_an_error_naming_it(bad):
    with pytest.raises(ValueError, match=r"label_smoothing must be a number in \[0.0, 1.0\]"):
        build_loss("focal", label_smoothing=bad)
    logits, target = batch("cpu")
    with pytest.raises(ValueError, match="label_smoothing"):
        focal_loss(logits, target, label_smoothing=bad)


def test_label_smoothing_of_another_type_is_a_type_error_naming_it():
    with pytest.raises(TypeError, match=r"label_smoothing must be a real number; got True"):
        build_loss("focal", label_smoothing=True)


def test_the_sigmoid_ghm_takes_no_label_smoothing():
    with pytest.raises(ValueError, match="label_smoothing=0.1 applies to the softmax form"):
        GHMCLoss(use_sigmoid=True, label_smoothing=0.1)


def test_low_precision_logits_are_smoothed_in_float32():
    """bfloat16 / float16 logits give the float32 result of their float32 copy (computed in
    float32, so the tolerance is float32's)."""
    logits, target = batch("cpu", torch.float32)
    for half in (torch.bfloat16, torch.float16):
        low = logits.detach().to(half)
        got = focal_loss(low, target, 0.0, label_smoothing=0.1)
        assert got.dtype == torch.float32
        torch.testing.assert_close(got, F.cross_entropy(low.float(), target, label_smoothing=0.1))
