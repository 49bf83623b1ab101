"""Each loss is a known function: its neutral point is F.cross_entropy, and away from
it the numbers follow the published formula (written out here independently)."""

import math

import pytest
import torch
import torch.nn.functional as F

from imbloss.losses import (
    class_balanced_weights,
    focal_loss,
    focal_weight,
    gw_loss,
    gw_weight,
    inverse_frequency_weights,
    ldam_loss,
    ldam_margins,
    logit_adjusted_loss,
    weighted_cross_entropy,
)

C = 5
COUNTS = torch.tensor([400.0, 120.0, 30.0, 9.0, 2.0])
REDUCTIONS = ("mean", "sum", "none")

NEUTRAL = {
    "weighted_cross_entropy": lambda z, y, **kw: weighted_cross_entropy(z, y, **kw),
    "focal gamma=0": lambda z, y, **kw: focal_loss(z, y, 0.0, **kw),
    "focal gamma=0 detached": lambda z, y, **kw: focal_loss(z, y, 0.0, detach_modulator=True, **kw),
    "gw slope=0 std=inf": lambda z, y, **kw: gw_loss(z, y, 0.5, math.inf, 0.0, **kw),
    "gw slope=0 std=inf flowing": lambda z, y, **kw: gw_loss(
        z, y, 0.5, math.inf, 0.0, detach_modulator=False, **kw
    ),
    "logit adjustment tau=0": lambda z, y, **kw: logit_adjusted_loss(z, y, COUNTS, 0.0, **kw),
    "ldam max_margin=0 scale=1": lambda z, y, **kw: ldam_loss(z, y, COUNTS, 0.0, 1.0, **kw),
    "class-balanced beta=0": lambda z, y, **kw: weighted_cross_entropy(
        z, y, class_balanced_weights(COUNTS, 0.0).to(z.device) * kw.pop("weight", 1.0), **kw
    ),
}


def batch(shape=(7,), seed=0, ignore=True, dtype=torch.float64, device="cpu"):
    """Logits (N, C, ...) and targets (N, ...) with a few positions set to ignore_index, drawn
    on the CPU (the same numbers everywhere) and moved to ``device``."""
    g = torch.Generator().manual_seed(seed)
    logits = 3 * torch.randn(shape[0], C, *shape[1:], generator=g, dtype=dtype)
    target = torch.randint(0, C, shape, generator=g)
    if ignore:
        target.view(-1)[::3] = -100
    return logits.to(device).requires_grad_(), target.to(device)


@pytest.mark.parametrize("name", list(NEUTRAL))
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(7,), (3, 2, 4)])
@pytest.mark.parametrize("weighted", [False, True])
def test_neutral_point_is_cross_entropy(name, reduction, shape, weighted, device, dtype):
    """At its neutral point every loss equals F.cross_entropy: value and gradient, with the
    same weight, ignore_index and reduction, for (N, C) and (N, C, d1, d2) logits, on every
    device, in float32 and float64."""
    logits, target = batch(shape, dtype=dtype, device=device)
    weight = torch.tensor([0.5, 2.0, 1.0, 3.0, 0.25], dtype=dtype, device=device)
    weight = weight if weighted else None
    kw = {"weight": weight} if weighted else {}
    ours = NEUTRAL[name](logits, target, reduction=reduction, **kw)
    ref = F.cross_entropy(logits, target, weight=weight, reduction=reduction)
    torch.testing.assert_close(ours, ref)
    (g_ours,) = torch.autograd.grad(ours.sum(), logits)
    (g_ref,) = torch.autograd.grad(ref.sum(), logits)
    torch.testing.assert_close(g_ours, g_ref)


def test_ignore_index_inside_the_class_range_is_ignored():
    """ignore_index may be a real class index (here 2): those positions still add nothing."""
    logits, target = batch(ignore=False)
    for loss in (lambda z, y, **k: focal_loss(z, y, 0.0, **k), weighted_cross_entropy):
        got = loss(logits, target, ignore_index=2, reduction="none")
        torch.testing.assert_close(
            got, F.cross_entropy(logits, target, ignore_index=2, reduction="none")
        )


def test_mean_divides_by_kept_class_weight_not_by_modulator(device):
    """reduction='mean' is Σ w_y m L / Σ w_y over kept positions: the focal factor is not in
    the denominator (it would be if mean were Σ w m L / Σ w m)."""
    logits, target = batch(device=device)
    weight = torch.tensor([0.5, 2.0, 1.0, 3.0, 0.25], dtype=torch.float64, device=device)
    kept = target != -100
    per = focal_loss(logits, target, 2.0, weight, reduction="none")
    mean = focal_loss(logits, target, 2.0, weight, reduction="mean")
    torch.testing.assert_close(mean, per.sum() / weight[target[kept]].sum())


@pytest.mark.parametrize("name", list(NEUTRAL))
@pytest.mark.parametrize("empty", ["all ignored", "no positions"])
def test_batch_with_nothing_kept_gives_zero_with_zero_gradient(name, empty, device):
    """Σ w_y = 0 makes mean 0/0; the losses return 0 and a zero (finite) gradient, not NaN."""
    if empty == "all ignored":
        logits, target = batch(device=device)
        target = torch.full_like(target, -100)
    else:
        logits = torch.zeros(0, C, dtype=torch.float64, device=device, requires_grad=True)
        target = torch.zeros(0, dtype=torch.long, device=device)
    for loss in (NEUTRAL[name], lambda z, y, **k: focal_loss(z, y, 0.5, **k)):
        value = loss(logits, target, reduction="mean")
        (grad,) = torch.autograd.grad(value, logits)
        assert value.item() == 0.0
        assert torch.equal(grad, torch.zeros_like(grad))


def test_focal_is_lin_et_al_formula(device, dtype):
    """focal = -w_y (1 - p_t)^γ log p_t per position (Lin et al. 2017, softmax form)."""
    logits, target = batch(ignore=False, dtype=dtype, device=device)
    weight = torch.tensor([0.5, 2.0, 1.0, 3.0, 0.25], dtype=dtype, device=device)
    log_pt = torch.log_softmax(logits, 1).gather(1, target[:, None]).squeeze(1)
    for gamma in (0.5, 1.0, 2.0, 5.0):
        expected = -weight[target] * (1 - log_pt.exp()) ** gamma * log_pt
        got = focal_loss(logits, target, gamma, weight, reduction="none")
        torch.testing.assert_close(got, expected)


def test_gw_is_the_blog_formula_and_gw_blog_its_code(device):
    """GW = -w_y (exp(-(p_t-μ)²/(2σ²)) - slope p_t) log p_t; the blog's code, whose gaussian()
    overwrites p_t in place, computes -(1 - slope) exp(-(p_t-μ)²/(2σ²)) log p_t instead."""
    logits, target = batch(ignore=False, device=device)
    log_pt = torch.log_softmax(logits, 1).gather(1, target[:, None]).squeeze(1)
    p = log_pt.exp()
    std = 0.1 * math.e
    bell = torch.exp(-((p - 0.5) ** 2) / (2 * std**2))
    torch.testing.assert_close(
        gw_loss(logits, target, reduction="none"), -(bell - 0.1 * p) * log_pt
    )
    torch.testing.assert_close(
        gw_loss(logits, target, blog_code=True, reduction="none"), -(0.9 * bell) * log_pt
    )


def test_gw_blog_weight_is_the_blogs_in_place_overwrite():
    """Replaying the blog code's in-place overwrite (x[i] = g(x[i]) then g - 0.1 x) gives
    gw_weight(blog_code=True) = 0.9 g(p)."""
    p = torch.linspace(0, 1, 11, dtype=torch.float64)
    overwritten = p.clone()
    for i, v in enumerate(p.tolist()):
        overwritten[i] = math.exp(-((v - 0.5) ** 2) / (2.0 * (0.1 * math.e) ** 2))
    blog = overwritten - 0.1 * overwritten
    torch.testing.assert_close(gw_weight(p, blog_code=True), blog)
    assert not torch.allclose(gw_weight(p), blog)


def test_plot_weights_take_floats_arrays_and_tensors():
    """focal_weight and gw_weight give the same numbers for float, list and tensor input;
    at p = 0.5 the GW bell is 1, so gw = 1 - 0.1·0.5."""
    assert focal_weight(0.5, 2.0) == pytest.approx(0.25)
    assert gw_weight(0.5) == pytest.approx(0.95)
    assert gw_weight(0.3, std=math.inf, slope=0.0) == pytest.approx(1.0)
    values = [0.0, 0.2, 0.9]
    torch.testing.assert_close(
        torch.as_tensor(focal_weight(values, 1.5)), focal_weight(torch.tensor(values), 1.5).double()
    )
    torch.testing.assert_close(
        torch.as_tensor(gw_weight(values)), gw_weight(torch.tensor(values, dtype=torch.float64))
    )


def test_class_balanced_weights_are_cui_et_al_effective_numbers():
    """w_c ∝ (1-β)/(1-β^n_c) scaled to mean 1; β=0 gives ones; float32 tensors."""
    for beta in (0.9, 0.999, 0.9999):
        raw = torch.tensor([(1 - beta) / (1 - beta**n) for n in COUNTS.tolist()])
        got = class_balanced_weights(COUNTS, beta)
        assert got.dtype == torch.float32
        torch.testing.assert_close(got, (raw / raw.mean()).float())
        assert got.mean().item() == pytest.approx(1.0)
    torch.testing.assert_close(class_balanced_weights(COUNTS, 0.0), torch.ones(C))


def test_inverse_frequency_weights_are_one_over_counts_mean_one():
    """w_c ∝ 1/n_c, scaled to mean 1."""
    raw = 1 / COUNTS
    got = inverse_frequency_weights([int(n) for n in COUNTS.tolist()])
    assert got.dtype == torch.float32
    torch.testing.assert_close(got, raw / raw.mean())


def test_logit_adjustment_is_cross_entropy_of_shifted_logits(device):
    """logit_adjusted = CE(z + τ log π); τ=1 equals balanced softmax CE(z + log n)
    (Ren et al.), the two differing by a constant shift the softmax ignores."""
    logits, target = batch(device=device)
    prior = (COUNTS / COUNTS.sum()).to(device)
    for tau in (0.5, 1.0, 2.0):
        got = logit_adjusted_loss(logits, target, COUNTS, tau, reduction="none")
        ref = F.cross_entropy(logits + tau * prior.log(), target, reduction="none")
        torch.testing.assert_close(got, ref)
    balanced = F.cross_entropy(logits + COUNTS.to(device).log(), target, reduction="none")
    torch.testing.assert_close(
        logit_adjusted_loss(logits, target, COUNTS, 1.0, reduction="none"), balanced
    )


def test_ldam_margins_scale_as_count_to_minus_quarter():
    """Δ_c = max_margin · (n_c)^(-1/4) / max_c (n_c)^(-1/4): the rarest class gets max_margin."""
    margins = ldam_margins(COUNTS, 0.5)
    torch.testing.assert_close(margins, (0.5 * (COUNTS / COUNTS.min()) ** -0.25).float())
    assert margins.max().item() == pytest.approx(0.5)


def test_ldam_matches_cao_et_al_reference_form(device):
    """LDAM = CE(s · (z - Δ_y onehot(y)), weight): the whole changed logit vector is scaled,
    as in the authors' LDAMLoss (kaidic/LDAM-DRW, losses.py)."""
    logits, target = batch(ignore=False, device=device)
    weight = torch.tensor([0.5, 2.0, 1.0, 3.0, 0.25], dtype=torch.float64, device=device)
    m = 1.0 / COUNTS.to(device).double().sqrt().sqrt()
    m = m * (0.5 / m.max())
    onehot = F.one_hot(target, C).bool()
    changed = torch.where(onehot, logits - m[target][:, None], logits)
    for reduction in REDUCTIONS:
        ref = F.cross_entropy(30.0 * changed, target, weight=weight, reduction=reduction)
        got = ldam_loss(logits, target, COUNTS, 0.5, 30.0, weight, reduction=reduction)
        torch.testing.assert_close(got, ref)
