"""Gradients: gradcheck in float64 for every loss, closed forms of dL/dz, and finite
values and gradients where the naive formulas overflow or divide 0 by 0."""

import math

import pytest
import torch
import torch.nn.functional as F

from imbloss.losses import (
    focal_loss,
    gw_loss,
    ldam_loss,
    ldam_margins,
    logit_adjusted_loss,
    sigmoid_focal_loss,
    weighted_cross_entropy,
)

C = 4
COUNTS = [50, 20, 5, 1]
WEIGHT = torch.tensor([0.5, 2.0, 1.0, 3.0], dtype=torch.float64)

SOFTMAX = {
    "weighted_ce": lambda z, y, **k: weighted_cross_entropy(z, y, WEIGHT, **k),
    "focal flowing": lambda z, y, **k: focal_loss(z, y, 2.0, WEIGHT, **k),
    "focal gamma=0.5 flowing": lambda z, y, **k: focal_loss(z, y, 0.5, WEIGHT, **k),
    "focal detached": lambda z, y, **k: focal_loss(z, y, 2.0, WEIGHT, detach_modulator=True, **k),
    "gw detached": lambda z, y, **k: gw_loss(z, y, weight=WEIGHT, **k),
    "gw flowing": lambda z, y, **k: gw_loss(z, y, weight=WEIGHT, detach_modulator=False, **k),
    "gw_blog": lambda z, y, **k: gw_loss(z, y, weight=WEIGHT, blog_code=True, **k),
    "gw_blog flowing": lambda z, y, **k: gw_loss(
        z, y, weight=WEIGHT, blog_code=True, detach_modulator=False, **k
    ),
    "logit_adjusted": lambda z, y, **k: logit_adjusted_loss(z, y, COUNTS, 1.0, WEIGHT, **k),
    "ldam": lambda z, y, **k: ldam_loss(z, y, COUNTS, 0.5, 3.0, WEIGHT, **k),
    "ldam scale=30": lambda z, y, **k: ldam_loss(z, y, COUNTS, 0.5, 30.0, WEIGHT, **k),
}


def batch(n=6, spatial=(), seed=0, dtype=torch.float64, scale=2.0, device="cpu"):
    g = torch.Generator().manual_seed(seed)
    logits = scale * torch.randn(n, C, *spatial, generator=g, dtype=dtype)
    target = torch.randint(0, C, (n, *spatial), generator=g)
    target.view(-1)[1] = -100
    return logits.to(device).requires_grad_(), target.to(device)


def true_class(logits, target):
    """(p, p_t, log p_t, onehot) for kept positions of a (N, C) batch."""
    log_p = torch.log_softmax(logits.detach(), 1)
    log_pt = log_p.gather(1, target.clamp(min=0)[:, None]).squeeze(1)
    onehot = F.one_hot(target.clamp(min=0), C).double()
    return log_p.exp(), log_pt.exp(), log_pt, onehot


# a detached modulator's gradient is not the derivative of the loss, so finite differences
# cannot check it; test_detached_modulator_gradient_is_w_m_times_p_minus_onehot pins it
DIFFERENTIABLE = [n for n in SOFTMAX if "detached" not in n and n != "gw_blog"]


@pytest.mark.parametrize("name", DIFFERENTIABLE)
@pytest.mark.parametrize("reduction", ["mean", "none"])
@pytest.mark.parametrize("spatial", [(), (2, 3)])
def test_gradcheck_float64(name, reduction, spatial, device):
    """Autograd's gradient equals the finite-difference gradient (float64), for (N, C) and
    (N, C, d1, d2) logits with an ignored position."""
    logits, target = batch(spatial=spatial, device=device)
    assert torch.autograd.gradcheck(
        lambda z: SOFTMAX[name](z, target, reduction=reduction), (logits,)
    )


def sigmoid_batch(soft: bool):
    g = torch.Generator().manual_seed(1)
    logits = (2 * torch.randn(5, 3, generator=g, dtype=torch.float64)).requires_grad_()
    target = torch.rand(5, 3, generator=g, dtype=torch.float64)
    return logits, target if soft else target.round()


SIGMOID_OPTIONS = {
    "plain": {},
    "weight, pos_weight": {"weight": [0.5, 2.0, 1.0], "pos_weight": [3.0, 0.5, 1.0]},
    "ignore_index": {"ignore_index": -1.0},
}


@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0])
@pytest.mark.parametrize("alpha", [0.25, -1.0])
@pytest.mark.parametrize("soft", [False, True])
@pytest.mark.parametrize("options", list(SIGMOID_OPTIONS))
def test_sigmoid_focal_first_and_second_derivatives(gamma, alpha, soft, options):
    """Sigmoid focal loss: the closed-form gradient and the double backward both equal finite
    differences (float64), for hard 0/1 and soft targets, with weights and ignored elements."""
    logits, target = sigmoid_batch(soft)
    if options == "ignore_index":
        target[0, 1] = -1.0
    kw = SIGMOID_OPTIONS[options]

    def loss(z):
        return sigmoid_focal_loss(z, target, alpha, gamma, "mean", **kw)

    assert torch.autograd.gradcheck(loss, (logits,))
    assert torch.autograd.gradgradcheck(loss, (logits,))


def test_sigmoid_focal_second_derivative_is_finite_for_hard_targets():
    """The case of the issue: double backward with 0/1 targets was NaN (log 0 in the old
    formula); it is finite and equals finite differences."""
    x = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64, requires_grad=True)
    t = torch.tensor([1.0, 0.0, 1.0], dtype=torch.float64)
    (grad,) = torch.autograd.grad(sigmoid_focal_loss(x, t).sum(), x, create_graph=True)
    (second,) = torch.autograd.grad(grad.sum(), x)
    assert torch.isfinite(second).all()
    assert torch.autograd.gradgradcheck(lambda z: sigmoid_focal_loss(z, t), (x,))


def test_detached_modulator_gradient_is_w_m_times_p_minus_onehot():
    """With the modulator held constant, dL_i/dz_i = w_y m(p_t) (p - onehot(y)), for the focal
    factor (1-p_t)^γ and the GW weight, under reduction='sum'."""
    logits, target = batch()
    kept = (target != -100).double()[:, None]
    p, p_t, _, onehot = true_class(logits, target)
    w_y = WEIGHT[target.clamp(min=0)][:, None]
    modulators = {
        "focal": (
            lambda z: focal_loss(z, target, 2.0, WEIGHT, detach_modulator=True, reduction="sum"),
            (1 - p_t) ** 2,
        ),
        "gw": (
            lambda z: gw_loss(z, target, weight=WEIGHT, reduction="sum"),
            torch.exp(-((p_t - 0.5) ** 2) / (2 * (0.1 * math.e) ** 2)) - 0.1 * p_t,
        ),
    }
    for loss, m in modulators.values():
        (grad,) = torch.autograd.grad(loss(logits), logits)
        torch.testing.assert_close(grad, kept * w_y * m[:, None] * (p - onehot))


@pytest.mark.parametrize("gamma", [0.0, 0.3, 1.0, 2.0, 4.5])
def test_focal_flowing_gradient_closed_form(gamma):
    """With ℓ = log p_t and u = 1 - p_t, L = -w u^γ ℓ has
    dL/dz_k = -w [u^γ - γ u^(γ-1) p_t ℓ] (onehot_k - p_k)  (gradient through the factor)."""
    logits, target = batch()
    kept = (target != -100).double()[:, None]
    p, p_t, log_pt, onehot = true_class(logits, target)
    u = 1 - p_t
    w_y = WEIGHT[target.clamp(min=0)]
    dl_dlogpt = -w_y * (u**gamma - gamma * u ** (gamma - 1) * p_t * log_pt)
    expected = kept * dl_dlogpt[:, None] * (onehot - p)
    loss = focal_loss(logits, target, gamma, WEIGHT, reduction="sum")
    (grad,) = torch.autograd.grad(loss, logits)
    torch.testing.assert_close(grad, expected)


def test_gw_flowing_gradient_closed_form():
    """With the gradient through the GW weight m(p) = g(p) - s p, g(p) = exp(-(p-μ)²/(2σ²)):
    dL/dz_k = -w [m(p_t) + p_t m'(p_t) ℓ] (onehot_k - p_k), m'(p) = -g(p)(p-μ)/σ² - s."""
    logits, target = batch()
    kept = (target != -100).double()[:, None]
    p, p_t, log_pt, onehot = true_class(logits, target)
    mean, std, slope = 0.4, 0.3, 0.2
    g = torch.exp(-((p_t - mean) ** 2) / (2 * std**2))
    m = g - slope * p_t
    dm = -g * (p_t - mean) / std**2 - slope
    w_y = WEIGHT[target.clamp(min=0)]
    expected = kept * (-w_y * (m + p_t * dm * log_pt))[:, None] * (onehot - p)
    loss = gw_loss(
        logits, target, mean, std, slope, WEIGHT, detach_modulator=False, reduction="sum"
    )
    (grad,) = torch.autograd.grad(loss, logits)
    torch.testing.assert_close(grad, expected)


def test_default_gradient_modes_follow_the_papers():
    """Focal's default lets the gradient through (1-p_t)^γ (Lin et al.); GW's default holds
    the weight constant (the blog's code detaches p_t). Each default must differ from the
    other mode."""
    logits, target = batch()

    def grad(loss):
        return torch.autograd.grad(loss, logits)[0]

    focal = grad(focal_loss(logits, target, 2.0))
    torch.testing.assert_close(focal, grad(focal_loss(logits, target, 2.0, detach_modulator=False)))
    assert not torch.allclose(focal, grad(focal_loss(logits, target, 2.0, detach_modulator=True)))
    gw = grad(gw_loss(logits, target))
    torch.testing.assert_close(gw, grad(gw_loss(logits, target, detach_modulator=True)))
    assert not torch.allclose(gw, grad(gw_loss(logits, target, detach_modulator=False)))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("gamma", [0.01, 0.25, 0.5, 0.99])
def test_focal_gradient_finite_as_pt_goes_to_one_for_gamma_below_one(dtype, gamma):
    """For γ < 1, d(1-p)^γ/dp is infinite at p_t = 1 but the gradient of the loss tends to 0;
    it stays finite (and tiny) when p_t is 1 to working precision or exactly."""
    margins = torch.tensor([10.0, 30.0, 60.0, 800.0, 1e4], dtype=dtype)
    logits = torch.zeros(len(margins), C, dtype=dtype)
    logits[:, 0] = margins
    logits.requires_grad_()
    target = torch.zeros(len(margins), dtype=torch.long)
    loss = focal_loss(logits, target, gamma, reduction="sum")
    (grad,) = torch.autograd.grad(loss, logits)
    assert torch.isfinite(loss) and torch.isfinite(grad).all()
    assert grad.abs().max() < 1e-3


@pytest.mark.parametrize("name", list(SOFTMAX))
def test_huge_logits_give_finite_loss_and_gradient(name, device):
    """Logits of ±1e4 (float32): loss and gradient are finite for every loss."""
    g = torch.Generator().manual_seed(3)
    logits = (1e4 * torch.randn(8, C, generator=g).sign()).to(device).requires_grad_()
    target = torch.randint(0, C, (8,), generator=g).to(device)
    for reduction in ("mean", "sum"):
        loss = SOFTMAX[name](logits, target, reduction=reduction)
        (grad,) = torch.autograd.grad(loss, logits)
        assert torch.isfinite(loss) and torch.isfinite(grad).all()


@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0])
def test_sigmoid_focal_huge_logits_finite(gamma):
    """Sigmoid focal on logits of ±1e4 with 0/1 targets: finite loss and gradient, any γ."""
    logits = torch.tensor([[1e4, -1e4], [-1e4, 1e4]], requires_grad=True)
    target = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    loss = sigmoid_focal_loss(logits, target, 0.25, gamma, "sum")
    (grad,) = torch.autograd.grad(loss, logits)
    assert torch.isfinite(loss) and torch.isfinite(grad).all()


@pytest.mark.parametrize("name", list(SOFTMAX))
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_logits_are_computed_in_float32(name, dtype, device):
    """Half / bfloat16 logits give a float32 loss equal to the loss of the same values in
    float32, and a gradient of the logits' dtype."""
    logits, target = batch(dtype=torch.float32, device=device)
    low = logits.detach().to(dtype).requires_grad_()
    loss = SOFTMAX[name](low, target, reduction="none")
    assert loss.dtype == torch.float32
    torch.testing.assert_close(loss, SOFTMAX[name](low.detach().float(), target, reduction="none"))
    (grad,) = torch.autograd.grad(loss.sum(), low)
    assert grad.dtype == dtype and torch.isfinite(grad).all()


def test_ignored_positions_get_zero_gradient(device):
    """A position whose target is ignore_index gets exactly zero gradient in every loss."""
    logits, target = batch(device=device)
    for loss in SOFTMAX.values():
        (grad,) = torch.autograd.grad(loss(logits, target, reduction="mean"), logits)
        assert torch.equal(grad[1], torch.zeros(C, dtype=torch.float64, device=device))
        assert grad[0].abs().sum() > 0


@pytest.mark.parametrize("name", DIFFERENTIABLE)
@pytest.mark.parametrize("spatial", [(), (2,)])
def test_second_derivatives_match_finite_differences(name, spatial, device):
    """gradgradcheck (float64): double backward, e.g. for a gradient penalty, is exact for
    every loss, including through focal's closed-form gradient and the custom function of
    the logit changes (LDAM, logit adjustment)."""
    logits, target = batch(spatial=spatial, device=device)
    assert torch.autograd.gradgradcheck(
        lambda z: SOFTMAX[name](z, target, reduction="mean"), (logits,)
    )


def test_exponent_bound_changes_no_float32_loss_and_no_gradient_beyond_rounding():
    """LDAM at s = 30 on wide logits: many softmax terms lie below e^-50 of the row maximum,
    where the loss bounds them. Against F.cross_entropy of the same changed logits, unbounded,
    in float32, the loss agrees to float32 rounding, and every gradient entry to float32
    rounding of the largest entry of its row plus s e^-50 (a bounded term's probability)."""
    g = torch.Generator().manual_seed(5)
    z = (4 * torch.randn(64, C, generator=g)).requires_grad_()
    y = torch.randint(0, C, (64,), generator=g)
    shift = -30.0 * ldam_margins(COUNTS, 0.5)[y][:, None]
    changed = (30.0 * z).scatter_add(1, y[:, None], shift)
    assert ((changed - changed.amax(1, keepdim=True)) < -50).any()  # the bound is active
    ref = F.cross_entropy(changed, y, reduction="none")
    ours = ldam_loss(z, y, COUNTS, 0.5, 30.0, reduction="none")
    torch.testing.assert_close(ours, ref, rtol=1e-6, atol=1e-6)
    (g_ours,) = torch.autograd.grad(ours.sum(), z)
    (g_ref,) = torch.autograd.grad(ref.sum(), z)
    row_scale = g_ref.abs().amax(1, keepdim=True)
    assert ((g_ours - g_ref).abs() <= 1e-6 * row_scale + 30.0 * math.exp(-50.0)).all()
