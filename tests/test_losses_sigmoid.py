"""Sigmoid focal loss: the numbers of torchvision.ops.sigmoid_focal_loss.

torchvision cannot be installed here, so its published formula is written out below as the
reference (torchvision/ops/focal_loss.py, https://github.com/pytorch/vision, from fvcore):

    p = sigmoid(x); ce = BCE-with-logits(x, t); p_t = p t + (1 - p)(1 - t)
    loss = ce (1 - p_t)^γ;  if α >= 0: loss *= α t + (1 - α)(1 - t);  then mean / sum / none
"""

import pytest
import torch
import torch.nn.functional as F

from imbloss.losses import SigmoidFocalLoss, sigmoid_focal_loss


def torchvision_sigmoid_focal_loss(inputs, targets, alpha=0.25, gamma=2.0, reduction="none"):
    p = torch.sigmoid(inputs)
    ce_loss = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce_loss * ((1 - p_t) ** gamma)
    if alpha >= 0:
        alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
        loss = alpha_t * loss
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def sample(shape, soft=False, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    logits = 3 * torch.randn(shape, generator=g, dtype=dtype)
    target = torch.rand(shape, generator=g, dtype=dtype)
    return logits.requires_grad_(), target if soft else target.round()


@pytest.mark.parametrize("shape", [(16,), (8, 5), (2, 3, 4, 4)])
@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0, 3.0])
@pytest.mark.parametrize("alpha", [0.25, 0.75, -1.0])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("soft", [False, True])
def test_matches_torchvision_formula(shape, gamma, alpha, reduction, soft):
    """Same value and same gradient as torchvision's published formula, for binary and
    multi-label shapes and for soft targets."""
    logits, target = sample(shape, soft)
    ours = sigmoid_focal_loss(logits, target, gamma, alpha, reduction)
    ref = torchvision_sigmoid_focal_loss(logits, target, alpha, gamma, reduction)
    torch.testing.assert_close(ours, ref)
    (g_ours,) = torch.autograd.grad(ours.sum(), logits)
    (g_ref,) = torch.autograd.grad(ref.sum(), logits)
    torch.testing.assert_close(g_ours, g_ref)


def test_alpha_none_is_torchvision_alpha_minus_one():
    logits, target = sample((6, 3))
    torch.testing.assert_close(
        sigmoid_focal_loss(logits, target, 2.0, None),
        torchvision_sigmoid_focal_loss(logits, target, -1.0, 2.0, "mean"),
    )


def test_gamma_zero_alpha_off_is_binary_cross_entropy():
    """γ = 0 without α is BCE-with-logits, for every reduction."""
    logits, target = sample((5, 4), soft=True)
    for reduction in ("mean", "sum", "none"):
        torch.testing.assert_close(
            sigmoid_focal_loss(logits, target, 0.0, None, reduction),
            F.binary_cross_entropy_with_logits(logits, target, reduction=reduction),
        )


def test_float32_saturated_logits_stay_finite_where_the_formula_loses_the_gradient():
    """With γ < 1 and |x| large, 1 - p_t underflows and the published formula's gradient is
    NaN; ours is finite and the loss values agree."""
    logits = torch.tensor([200.0, -200.0, 30.0, -30.0], requires_grad=True)
    target = torch.tensor([1.0, 0.0, 1.0, 0.0])
    ours = sigmoid_focal_loss(logits, target, 0.5, 0.25, "sum")
    (grad,) = torch.autograd.grad(ours, logits)
    assert torch.isfinite(grad).all()
    ref_logits = logits.detach().clone().requires_grad_()
    ref = torchvision_sigmoid_focal_loss(ref_logits, target, 0.25, 0.5, "sum")
    torch.testing.assert_close(ours, ref)
    (ref_grad,) = torch.autograd.grad(ref, ref_logits)
    assert not torch.isfinite(ref_grad).all()


def test_half_logits_computed_in_float32():
    logits, target = sample((4, 3), dtype=torch.float32)
    half = logits.detach().half()
    loss = sigmoid_focal_loss(half, target.half(), reduction="none")
    assert loss.dtype == torch.float32
    torch.testing.assert_close(loss, sigmoid_focal_loss(half.float(), target, reduction="none"))


def test_empty_input_mean_is_zero():
    logits = torch.zeros(0, 3, requires_grad=True)
    loss = sigmoid_focal_loss(logits, torch.zeros(0, 3))
    assert loss.item() == 0.0


def test_module_matches_function():
    logits, target = sample((6, 2))
    module = SigmoidFocalLoss(gamma=1.0, alpha=0.5, reduction="sum")
    torch.testing.assert_close(
        module(logits, target), sigmoid_focal_loss(logits, target, 1.0, 0.5, "sum")
    )


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: sigmoid_focal_loss(torch.zeros(3), torch.zeros(4)), r"shape \(3,\); got \(4,\)"),
        (lambda: sigmoid_focal_loss(torch.zeros(2), torch.tensor([0.0, 2.0])), r"contains 2.0"),
        (lambda: sigmoid_focal_loss(torch.zeros(2), torch.tensor([-1.0, 0.0])), r"contains -1.0"),
        (lambda: sigmoid_focal_loss(torch.zeros(2, dtype=torch.long), torch.zeros(2)),
         r"logits must be a floating-point tensor"),
        (lambda: sigmoid_focal_loss(torch.zeros(2), torch.zeros(2), gamma=-1.0), r"gamma=-1.0"),
        (lambda: sigmoid_focal_loss(torch.zeros(2), torch.zeros(2), alpha=1.5), r"alpha=1.5"),
        (lambda: SigmoidFocalLoss(reduction="mena"), r"reduction='mena'"),
    ],
)  # fmt: skip
def test_bad_input_is_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()
