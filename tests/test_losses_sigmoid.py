"""Sigmoid focal loss: the numbers of torchvision.ops.sigmoid_focal_loss.

torchvision cannot be installed here, so its published formula is the reference
:func:`imbloss.peers.torchvision_sigmoid_focal_loss` (torchvision/ops/focal_loss.py), the
copy bench/bench_peers.py times.
"""

import pytest
import torch
import torch.nn.functional as F

from imbloss.losses import SigmoidFocalLoss, sigmoid_focal_loss
from imbloss.peers import torchvision_sigmoid_focal_loss


def sample(shape, soft=False, seed=0, dtype=torch.float64, device="cpu"):
    g = torch.Generator().manual_seed(seed)
    logits = 3 * torch.randn(shape, generator=g, dtype=dtype)
    target = torch.rand(shape, generator=g, dtype=dtype)
    target = target if soft else target.round()
    return logits.to(device).requires_grad_(), target.to(device)


@pytest.mark.parametrize("shape", [(16,), (8, 5), (2, 3, 4, 4)])
@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0, 3.0])
@pytest.mark.parametrize("alpha", [0.25, 0.75, -1.0])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("soft", [False, True])
def test_matches_torchvision_formula(shape, gamma, alpha, reduction, soft, device):
    """Same value and same gradient as torchvision's published formula, for binary and
    multi-label shapes and for soft targets, on every device."""
    logits, target = sample(shape, soft, device=device)
    ours = sigmoid_focal_loss(logits, target, alpha, gamma, reduction)
    ref = torchvision_sigmoid_focal_loss(logits, target, alpha, gamma, reduction)
    torch.testing.assert_close(ours, ref)
    (g_ours,) = torch.autograd.grad(ours.sum(), logits)
    (g_ref,) = torch.autograd.grad(ref.sum(), logits)
    torch.testing.assert_close(g_ours, g_ref)


def test_drop_in_for_torchvision_positional_call_and_defaults():
    """Replacing the import changes no number: sigmoid_focal_loss(x, t, 0.75, 1.0) reads
    alpha=0.75, gamma=1 as torchvision does, and the defaults (0.25, 2, "none") agree."""
    logits, target = sample((8, 5))
    torch.testing.assert_close(
        sigmoid_focal_loss(logits, target, 0.75, 1.0),
        torchvision_sigmoid_focal_loss(logits, target, 0.75, 1.0),
    )
    default = sigmoid_focal_loss(logits, target)
    assert default.shape == logits.shape
    torch.testing.assert_close(default, torchvision_sigmoid_focal_loss(logits, target))
    module = SigmoidFocalLoss(0.75, 1.0, "mean")
    torch.testing.assert_close(
        module(logits, target), torchvision_sigmoid_focal_loss(logits, target, 0.75, 1.0, "mean")
    )


def test_alpha_none_is_torchvision_alpha_minus_one():
    logits, target = sample((6, 3))
    torch.testing.assert_close(
        sigmoid_focal_loss(logits, target, None, 2.0, "mean"),
        torchvision_sigmoid_focal_loss(logits, target, -1.0, 2.0, "mean"),
    )


def kornia_binary_focal_formula(x, t, alpha, gamma, pos_weight, weight):
    """kornia.losses.binary_focal_loss_with_logits (kornia/losses/focal.py), written out:
    -α pw (1-p)^γ t log p - (1-α) p^γ (1-t) log(1-p), times weight, per class along dim 1."""
    log_p, log_q = F.logsigmoid(x), F.logsigmoid(-x)
    pos = -alpha * pos_weight[:, None] * torch.exp(gamma * log_q) * t * log_p
    neg = -(1 - alpha) * torch.exp(gamma * log_p) * (1 - t) * log_q
    return (pos + neg) * weight[:, None]


@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0])
def test_weight_and_pos_weight_are_kornias_for_hard_targets(gamma):
    """With 0/1 targets, weight w_c and pos_weight pw_c along dim 1 give kornia's binary focal
    loss, whose pos_weight scales the positive term as F.binary_cross_entropy_with_logits."""
    logits, target = sample((6, 3, 4))
    pw = torch.tensor([2.0, 0.5, 1.0], dtype=torch.float64)
    w = torch.tensor([1.0, 3.0, 0.25], dtype=torch.float64)
    ours = sigmoid_focal_loss(logits, target, 0.25, gamma, weight=w, pos_weight=pw)
    torch.testing.assert_close(
        ours, kornia_binary_focal_formula(logits, target, 0.25, gamma, pw, w)
    )


def test_pos_weight_is_that_of_binary_cross_entropy_with_logits():
    """γ = 0 without α: the loss is F.binary_cross_entropy_with_logits with the same pos_weight
    (for (N, C) inputs, where its pos_weight runs along the classes), soft targets too."""
    logits, target = sample((7, 4), soft=True)
    pw = torch.tensor([2.0, 0.5, 1.0, 4.0], dtype=torch.float64)
    torch.testing.assert_close(
        sigmoid_focal_loss(logits, target, None, 0.0, pos_weight=pw),
        F.binary_cross_entropy_with_logits(logits, target, pos_weight=pw, reduction="none"),
    )


def test_ignore_index_masks_elements_and_leaves_them_out_of_the_mean(device):
    """Ignored elements add 0 and get zero gradient; "mean" is the mean over the kept ones,
    divided by Σ w_c over them when a weight is given."""
    logits, target = sample((6, 3), device=device)
    target[0, 1] = target[4, 2] = -1.0
    kept = target != -1
    full = torchvision_sigmoid_focal_loss(logits, target.clamp(min=0))
    per = sigmoid_focal_loss(logits, target, ignore_index=-1)
    torch.testing.assert_close(per, torch.where(kept, full, 0.0))
    mean = sigmoid_focal_loss(logits, target, reduction="mean", ignore_index=-1)
    torch.testing.assert_close(mean, full[kept].mean())
    (grad,) = torch.autograd.grad(mean, logits)
    assert torch.all(grad[~kept] == 0) and torch.all(grad[kept] != 0)
    w = torch.tensor([1.0, 2.0, 0.5], dtype=torch.float64, device=device)
    weighted = sigmoid_focal_loss(logits, target, reduction="mean", weight=w, ignore_index=-1)
    w_kept = w.expand(6, 3)[kept]
    torch.testing.assert_close(weighted, (full[kept] * w_kept).sum() / w_kept.sum())


def test_tensor_alpha_is_refused_naming_the_per_class_options():
    logits, target = sample((4, 2))
    with pytest.raises(TypeError, match=r"alpha must be a real number; got tensor"):
        sigmoid_focal_loss(logits, target, torch.tensor([0.25, 0.75]))


def test_gamma_zero_alpha_off_is_binary_cross_entropy():
    """γ = 0 without α is BCE-with-logits, for every reduction."""
    logits, target = sample((5, 4), soft=True)
    for reduction in ("mean", "sum", "none"):
        torch.testing.assert_close(
            sigmoid_focal_loss(logits, target, None, 0.0, reduction),
            F.binary_cross_entropy_with_logits(logits, target, reduction=reduction),
        )


def test_float32_saturated_logits_stay_finite_where_the_formula_loses_the_gradient():
    """With γ < 1 and |x| large, 1 - p_t underflows and the published formula's gradient is
    NaN; ours is finite and the loss values agree."""
    logits = torch.tensor([200.0, -200.0, 30.0, -30.0], requires_grad=True)
    target = torch.tensor([1.0, 0.0, 1.0, 0.0])
    ours = sigmoid_focal_loss(logits, target, 0.25, 0.5, "sum")
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
    loss = sigmoid_focal_loss(logits, torch.zeros(0, 3), reduction="mean")
    assert loss.item() == 0.0


def test_module_matches_function():
    logits, target = sample((6, 2))
    module = SigmoidFocalLoss(0.5, 1.0, "sum", weight=[1.0, 2.0], ignore_index=-1)
    target[1, 0] = -1
    torch.testing.assert_close(
        module(logits, target),
        sigmoid_focal_loss(logits, target, 0.5, 1.0, "sum", weight=[1.0, 2.0], ignore_index=-1),
    )
    assert set(dict(module.named_buffers())) == {"weight"}


Z2, Z3 = torch.zeros(2), torch.zeros(2, 3)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: sigmoid_focal_loss(torch.zeros(3), torch.zeros(4)),
         r"shape of logits \(3,\); got \(4,\)"),
        (lambda: sigmoid_focal_loss(Z2, torch.tensor([0.0, 2.0])), r"contains 2.0"),
        (lambda: sigmoid_focal_loss(Z2, torch.tensor([-1.0, 0.0])), r"contains -1.0"),
        (lambda: sigmoid_focal_loss(Z2, Z2, gamma=-1.0), r"gamma must be .*; got -1.0"),
        (lambda: sigmoid_focal_loss(Z2, Z2, alpha=1.5), r"alpha must be .*; got 1.5"),
        (lambda: sigmoid_focal_loss(Z2, Z2, weight=[1.0]), r"weight is per class along dim 1"),
        (lambda: sigmoid_focal_loss(Z3, Z3, pos_weight=[1.0]),
         r"pos_weight has length 1 .* expected length 3"),
        (lambda: sigmoid_focal_loss(Z2, torch.tensor([-1.0, 3.0]), ignore_index=-1),
         r"contains 3.0; expected values in \[0, 1\] or ignore_index=-1"),
        (lambda: SigmoidFocalLoss(reduction="mena"), r"reduction='mena'"),
    ],
)  # fmt: skip
def test_bad_input_is_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_integer_logits_are_a_type_error():
    with pytest.raises(TypeError, match=r"logits must be a floating-point tensor; got dtype"):
        sigmoid_focal_loss(torch.zeros(2, dtype=torch.long), Z2)
