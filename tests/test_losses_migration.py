"""The migration table of book/api.md ("Moving from a peer"): each row is a test that the
imbloss call gives the peer's numbers.

kornia is called itself (an optional dependency: ``pip install kornia``); torchvision's and
mmdetection's are the written-out references of :mod:`imbloss.peers` (neither imports beside
this torch / in this environment).
"""

import pytest
import torch
import torch.nn.functional as F

from imbloss.losses import GHMCLoss, focal_loss, sigmoid_focal_loss, weighted_cross_entropy
from imbloss.peers import mmdet_ghmc, torchvision_sigmoid_focal_loss

kornia_losses = pytest.importorskip("kornia.losses")

C = 4


def softmax_batch(seed=0, ignore=-100):
    g = torch.Generator().manual_seed(seed)
    pred = 2 * torch.randn(3, C, 5, 2, generator=g, dtype=torch.float64)
    target = torch.randint(0, C, (3, 5, 2), generator=g)
    target[0, 1, 1] = target[2, 4, 0] = ignore
    return pred, target


def sigmoid_batch(seed=1):
    g = torch.Generator().manual_seed(seed)
    pred = 2 * torch.randn(6, C, 3, generator=g, dtype=torch.float64)
    target = (torch.rand(6, C, 3, generator=g) < 0.3).double()
    return pred, target


@pytest.mark.parametrize("alpha", [0.25, -1.0])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_torchvision_sigmoid_focal_loss_is_the_same_call(alpha, reduction):
    """torchvision.ops.sigmoid_focal_loss(x, t, alpha, gamma, reduction), alpha=-1 included
    -> imbloss.sigmoid_focal_loss(x, t, alpha, gamma, reduction)."""
    pred, target = sigmoid_batch()
    torch.testing.assert_close(
        sigmoid_focal_loss(pred, target, alpha, 1.5, reduction),
        torchvision_sigmoid_focal_loss(pred, target, alpha, 1.5, reduction),
    )


def test_kornia_focal_none_keeps_the_class_axis():
    """kornia focal_loss(pred, y, None, γ) (reduction="none", a (N, C, ...) map)
    -> one_hot(y) along dim 1 times focal_loss(pred, y, γ, reduction="none")."""
    pred, target = softmax_batch()
    ours = focal_loss(pred, target, 2.0, reduction="none")
    onehot = F.one_hot(target.clamp(min=0), C).movedim(-1, 1)
    expected = kornia_losses.focal_loss(pred, target, None, 2.0)
    torch.testing.assert_close(onehot * ours.unsqueeze(1), expected)


def test_kornia_focal_mean_divides_by_every_element_and_keeps_ignored_pixels():
    """kornia focal_loss(pred, y, None, γ, "mean") -> focal_loss(pred, y, γ,
    reduction="sum") / pred.numel(): N·C·pixels, ignored pixels included."""
    pred, target = softmax_batch()
    torch.testing.assert_close(
        focal_loss(pred, target, 2.0, reduction="sum") / pred.numel(),
        kornia_losses.focal_loss(pred, target, None, 2.0, "mean"),
    )


def test_kornia_alpha_and_weight_are_a_class_weight():
    """kornia focal_loss(pred, y, α, γ, "sum", weight=w) -> focal_loss(pred, y, γ,
    weight=[1-α, α, ..., α] * w, reduction="sum") (kornia's α: 1-α for class 0)."""
    pred, target = softmax_batch()
    w = torch.tensor([0.5, 2.0, 1.0, 3.0], dtype=torch.float64)
    alpha_weight = torch.tensor([0.75] + [0.25] * (C - 1), dtype=torch.float64)
    torch.testing.assert_close(
        focal_loss(pred, target, 2.0, alpha_weight * w, reduction="sum"),
        kornia_losses.focal_loss(pred, target, 0.25, 2.0, "sum", weight=w),
    )


def test_kornia_binary_focal_is_sigmoid_focal_with_weight_and_pos_weight():
    """kornia binary_focal_loss_with_logits(pred, t, α, γ, "none", pos_weight=pw, weight=w),
    0/1 targets -> sigmoid_focal_loss(pred, t, α, γ, "none", weight=w, pos_weight=pw); its
    "mean" -> reduction="sum" / pred.numel() (ignored elements stay in its denominator)."""
    pred, target = sigmoid_batch()
    pw = torch.tensor([2.0, 0.5, 1.0, 3.0], dtype=torch.float64)
    w = torch.tensor([1.0, 0.5, 2.0, 1.5], dtype=torch.float64)
    kw = {"weight": w, "pos_weight": pw}
    torch.testing.assert_close(
        sigmoid_focal_loss(pred, target, 0.25, 2.0, "none", **kw),
        kornia_losses.binary_focal_loss_with_logits(pred, target, 0.25, 2.0, "none", **kw),
    )
    target[0, 1, 2] = -100
    torch.testing.assert_close(
        sigmoid_focal_loss(pred, target, 0.25, 2.0, "sum", ignore_index=-100, **kw) / pred.numel(),
        kornia_losses.binary_focal_loss_with_logits(pred, target, 0.25, 2.0, "mean", **kw),
    )


def test_mmdet_ghmc_label_weight_is_ignore_index():
    """mmdet GHMC(bins, momentum)(pred, t, label_weight) -> GHMCLoss(bins, momentum,
    use_sigmoid=True, always_update=True)(pred, where(label_weight > 0, t, -100)),
    over steps (the moving average carries over)."""
    ours = GHMCLoss(10, 0.75, use_sigmoid=True, always_update=True)
    acc_sum = torch.zeros(10)
    gen = torch.Generator().manual_seed(2)
    for _ in range(3):
        pred = 3 * torch.randn(40, C, generator=gen)
        target = (torch.rand(40, C, generator=gen) < 0.2).float()
        label_weight = (torch.rand(40, C, generator=gen) > 0.2).float()
        expected = mmdet_ghmc(pred, target, label_weight, acc_sum, bins=10, momentum=0.75)
        got = ours(pred, torch.where(label_weight > 0, target, -100.0))
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_cross_entropy_is_weighted_cross_entropy(reduction):
    """F.cross_entropy(z, y, weight=w, ignore_index=i, reduction=r) -> weighted_cross_entropy(
    z, y, w, ignore_index=i, reduction=r); only a batch with nothing kept differs (0, not
    NaN, under "mean")."""
    pred, target = softmax_batch(ignore=-1)
    w = torch.tensor([0.5, 2.0, 1.0, 3.0], dtype=torch.float64)
    torch.testing.assert_close(
        weighted_cross_entropy(pred, target, w, ignore_index=-1, reduction=reduction),
        F.cross_entropy(pred, target, weight=w, ignore_index=-1, reduction=reduction),
    )
