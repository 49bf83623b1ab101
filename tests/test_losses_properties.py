"""Properties every softmax loss of the factory must have, over random shapes (including
(N, C, d1, d2) and empty batches), ignored positions and class weights, on every device."""

import torch
from hypothesis import given
from hypothesis import strategies as st

from imbloss import LOSSES, build_loss

SOFTMAX_LOSSES = LOSSES  # all take integer class targets (ghm in its default softmax form)
IGNORE = -100


@st.composite
def problems(draw):
    """(loss name, kwargs, logits, target) with random shape, ignored positions, counts and
    label smoothing."""
    name = draw(st.sampled_from(SOFTMAX_LOSSES))
    c = draw(st.integers(2, 5))
    n = draw(st.integers(0, 5))
    spatial = draw(st.sampled_from([(), (3,), (2, 3)]))
    seed = draw(st.integers(0, 2**31 - 1))
    g = torch.Generator().manual_seed(seed)
    logits = 4 * torch.randn(n, c, *spatial, generator=g, dtype=torch.float64)
    target = torch.randint(0, c, (n, *spatial), generator=g)
    ignored = torch.rand(target.shape, generator=g) < draw(st.sampled_from([0.0, 0.3, 1.0]))
    target[ignored] = IGNORE
    counts = torch.randint(1, 500, (c,), generator=g)
    kwargs = {"class_counts": counts, "label_smoothing": draw(st.sampled_from([0.0, 0.1]))}
    if name == "ghm":
        kwargs["momentum"] = 0.0  # each call's weights depend on that batch alone
    if name in ("ce", "focal", "gw", "gw_blog", "ghm", "logit_adjusted", "ldam") and draw(
        st.booleans()
    ):
        kwargs["weight"] = torch.rand(c, generator=g, dtype=torch.float64) + 0.1
    return name, kwargs, logits.requires_grad_(), target


def on(device, problem):
    """The problem with its tensors on ``device`` (float64 logits, a leaf that needs grad)."""
    name, kwargs, logits, target = problem
    kwargs = {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in kwargs.items()}
    return name, kwargs, logits.detach().to(device).requires_grad_(), target.to(device)


def class_weight_of(loss, target):
    """w_y of every position (0 where ignored), from the module's own weight buffer."""
    kept = target != IGNORE
    if loss.weight is None:
        return kept.double()
    return torch.where(kept, loss.weight.double()[target.clamp(min=0)], 0.0)


@given(problem=problems())
def test_sum_is_sum_of_none(device, problem):
    """reduction='sum' equals the sum of reduction='none', whose shape is the target's."""
    name, kwargs, logits, target = on(device, problem)
    none = build_loss(name, reduction="none", **kwargs).to(device)(logits, target)
    assert none.shape == target.shape
    total = build_loss(name, reduction="sum", **kwargs).to(device)(logits, target)
    torch.testing.assert_close(total, none.sum())


@given(problem=problems())
def test_mean_is_sum_over_kept_class_weight(device, problem):
    """reduction='mean' equals sum / Σ w_y over kept positions, and 0 when that is 0."""
    name, kwargs, logits, target = on(device, problem)
    loss = build_loss(name, reduction="mean", **kwargs).to(device)
    mean = loss(logits, target)
    total = build_loss(name, reduction="sum", **kwargs).to(device)(logits, target)
    denominator = class_weight_of(loss, target).sum()
    expected = total / denominator if denominator > 0 else torch.zeros((), dtype=total.dtype)
    torch.testing.assert_close(mean, expected)
    assert torch.isfinite(mean)


@given(problem=problems())
def test_ignored_positions_add_nothing_and_get_zero_gradient(device, problem):
    """Ignored positions have loss 0 and receive exactly zero gradient, and the loss of the
    kept positions does not depend on the logits at ignored positions."""
    name, kwargs, logits, target = on(device, problem)
    per_position = build_loss(name, reduction="none", **kwargs).to(device)(logits, target)
    ignored = target == IGNORE
    assert torch.all(per_position[ignored] == 0)
    (grad,) = torch.autograd.grad(per_position.sum(), logits)
    assert torch.isfinite(grad).all()
    assert torch.all(grad.movedim(1, -1)[ignored] == 0)

    moved = logits.detach().clone()
    moved.movedim(1, -1)[ignored] = 50.0
    again = build_loss(name, reduction="none", **kwargs).to(device)(moved, target)
    torch.testing.assert_close(again, per_position.detach())


@given(problem=problems())
def test_loss_is_per_position_so_batch_order_does_not_matter(device, problem):
    """Reversing the batch reverses the 'none' output and leaves 'mean' unchanged."""
    name, kwargs, logits, target = on(device, problem)
    loss = build_loss(name, reduction="none", **kwargs).to(device)
    flipped = loss(logits.flip(0), target.flip(0))
    torch.testing.assert_close(flipped, loss(logits, target).flip(0))
