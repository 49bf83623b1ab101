"""Tests of GHM-C (imbloss.losses.ghm.GHMCLoss); each test's name says the fact it checks."""

from __future__ import annotations

import copy

import _ghm_dist_worker as dist_worker
import pytest
import torch
import torch.multiprocessing as mp
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from imbloss.losses.ghm import GHMCLoss
from imbloss.peers import mmdet_edges, mmdet_ghmc

# ----------------------------------------------------------------------------------------------
# References: plain loops over the bins.


def softmax_reference(
    logits,
    target,
    state,
    *,
    bins,
    momentum,
    bias_correction=False,
    weight=None,
    ignore_index=-100,
    reduction="mean",
):
    """GHM-C softmax form, one bin at a time, in float64 Python.

    ``state`` is a dict of the Python lists ``acc`` and ``steps`` (one entry per bin),
    updated in place; returns the loss and this batch's per-bin counts.
    """
    num_classes = logits.shape[1]
    z = logits.movedim(1, -1).reshape(-1, num_classes).double()
    y = target.reshape(-1)
    keep = y != ignore_index
    y_safe = torch.where(keep, y, 0)
    p_t = torch.softmax(z, dim=1)[torch.arange(len(y)), y_safe]
    g = 1 - p_t
    edges = mmdet_edges(bins).double()
    tot = int(keep.sum())
    beta = torch.zeros_like(g)
    counts = []
    non_empty = 0
    for b in range(bins):
        in_bin = (g >= edges[b]) & (g < edges[b + 1]) & keep
        count = int(in_bin.sum())
        counts.append(count)
        if count == 0:
            continue
        non_empty += 1
        state["acc"][b] = momentum * state["acc"][b] + (1 - momentum) * count
        state["steps"][b] += 1
        density = state["acc"][b]
        if bias_correction:
            density /= 1 - momentum ** state["steps"][b]
        beta[in_bin] = tot / density
    beta /= max(non_empty, 1)
    w = torch.ones(num_classes, dtype=torch.float64) if weight is None else torch.tensor(weight)
    w_y = w.double()[y_safe] * keep
    losses = -torch.log(p_t) * beta * w_y
    if reduction == "none":
        return losses.reshape(target.shape), counts
    if reduction == "sum":
        return losses.sum(), counts
    return (losses.sum() / w_y.sum() if w_y.sum() > 0 else losses.sum() * 0), counts


def random_batch(
    seed, shape=(64, 6), *, scale=3.0, ignore_index=-100, ignore_frac=0.2, dtype=torch.float64
):
    gen = torch.Generator().manual_seed(seed)
    logits = scale * torch.randn(shape, generator=gen, dtype=dtype)
    target_shape = (shape[0],) + tuple(shape[2:])
    target = torch.randint(0, shape[1], target_shape, generator=gen)
    target[torch.rand(target_shape, generator=gen) < ignore_frac] = ignore_index
    return logits, target


# ----------------------------------------------------------------------------------------------
# Softmax form


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weight", [None, [0.5, 2.0, 1.0, 0.0, 3.0]])
@pytest.mark.parametrize("shape", [(30, 5), (6, 5, 4, 3)])
def test_one_bin_without_momentum_is_cross_entropy(reduction, weight, shape, device):
    logits, target = random_batch(0, shape, ignore_index=-1, dtype=torch.float32)
    logits, target = logits.to(device).requires_grad_(True), target.to(device)
    loss = GHMCLoss(bins=1, momentum=0.0, weight=weight, ignore_index=-1, reduction=reduction)
    ours = loss.to(device)(logits, target)
    w = None if weight is None else torch.tensor(weight, device=device)
    ref = F.cross_entropy(logits, target, weight=w, ignore_index=-1, reduction=reduction)
    torch.testing.assert_close(ours, ref, rtol=1e-6, atol=1e-7)
    (g_ours,) = torch.autograd.grad(ours.sum(), logits)
    (g_ref,) = torch.autograd.grad(ref.sum(), logits)
    torch.testing.assert_close(g_ours, g_ref, rtol=1e-6, atol=1e-7)


def test_one_bin_with_bias_corrected_momentum_is_cross_entropy_while_tot_is_constant():
    loss = GHMCLoss(bins=1, momentum=0.9, bias_correction=True)
    for seed in range(4):
        logits, target = random_batch(seed, ignore_frac=0.0, dtype=torch.float32)
        torch.testing.assert_close(loss(logits, target), F.cross_entropy(logits, target))


@pytest.mark.parametrize("momentum", [0.0, 0.75])
@pytest.mark.parametrize("bias_correction", [False, True])
@pytest.mark.parametrize(
    "weight, reduction",
    [
        (None, "mean"),
        ([0.5, 2.0, 1.0, 0.0, 3.0, 1.5], "mean"),
        ([0.5, 2.0, 1.0, 0.0, 3.0, 1.5], "sum"),
        (None, "none"),
    ],
)
def test_softmax_matches_per_bin_loop_over_steps(
    momentum, bias_correction, weight, reduction, device
):
    bins = 10
    loss = GHMCLoss(
        bins,
        momentum,
        bias_correction=bias_correction,
        weight=weight,
        ignore_index=-1,
        reduction=reduction,
    ).to(device)
    state = {"acc": [0.0] * bins, "steps": [0] * bins}
    # the scale changes per step, so bins empty at one step fill at the next
    for step, scale in enumerate([8.0, 0.5, 3.0, 3.0]):
        logits, target = random_batch(step, (40, 6, 3), scale=scale, ignore_index=-1)
        ours = loss(logits.to(device), target.to(device)).cpu()
        ref, counts = softmax_reference(
            logits,
            target,
            state,
            bins=bins,
            momentum=momentum,
            bias_correction=bias_correction,
            weight=weight,
            ignore_index=-1,
            reduction=reduction,
        )
        torch.testing.assert_close(ours, ref, rtol=1e-6, atol=1e-9)
        assert loss.last_counts.tolist() == counts
    assert loss.steps.tolist() == state["steps"]
    torch.testing.assert_close(loss.acc_sum.cpu(), torch.tensor(state["acc"], dtype=torch.float32))


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(0, 40),
    num_classes=st.integers(2, 7),
    bins=st.integers(1, 16),
    momentum=st.sampled_from([0.0, 0.5, 0.9]),
    bias_correction=st.booleans(),
    ignore_frac=st.sampled_from([0.0, 0.3, 1.0]),
    seed=st.integers(0, 2**16),
)
def test_softmax_matches_per_bin_loop_for_any_size(
    n, num_classes, bins, momentum, bias_correction, ignore_frac, seed
):
    loss = GHMCLoss(bins, momentum, bias_correction=bias_correction)
    state = {"acc": [0.0] * bins, "steps": [0] * bins}
    for step in range(2):
        logits, target = random_batch(seed + step, (n, num_classes), ignore_frac=ignore_frac)
        ours = loss(logits, target)
        ref, counts = softmax_reference(
            logits, target, state, bins=bins, momentum=momentum, bias_correction=bias_correction
        )
        assert torch.isfinite(ours)
        torch.testing.assert_close(ours, ref, rtol=1e-6, atol=1e-9)
        assert loss.last_counts.tolist() == counts


def test_bins_follow_mmdet_edges_including_exact_edge_values():
    # g = 1 - p_t = 0.5 exactly (two equal logits) lies on the edge 0.5: it belongs to the
    # upper bin [0.5, 0.75); g = 0 (p_t = 1) goes to the first bin, g = 1 (p_t = 0) to the last.
    logits = torch.tensor([[0.0, 0.0], [0.0, -200.0], [-200.0, 0.0]], dtype=torch.float64)
    target = torch.tensor([0, 0, 0])
    loss = GHMCLoss(bins=4, momentum=0.0)
    loss(logits, target)
    assert loss.last_counts.tolist() == [1, 0, 1, 1]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("bins", [1, 3, 10, 11, 30])
def test_bins_follow_mmdet_edges_next_to_every_edge(bins, dtype):
    # sigmoid(-1e4) is exactly 0, so g = |0 - y| = y: put g on every edge and on the floats
    # either side of it, where floor(g * bins) alone picks the wrong bin
    edges = mmdet_edges(bins).to(dtype)
    g = torch.cat([edges, torch.nextafter(edges, edges + 1), torch.nextafter(edges, edges - 1)])
    g = g.clamp(0, 1)[:, None]
    loss = GHMCLoss(bins, 0.0, use_sigmoid=True)
    loss(torch.full_like(g, -1e4), g)
    expected = [int(((g >= edges[b]) & (g < edges[b + 1])).sum()) for b in range(bins)]
    assert loss.last_counts.tolist() == expected


def test_empty_and_fully_ignored_batches_give_zero_loss_and_gradient_and_leave_the_ema():
    loss = GHMCLoss(bins=5, momentum=0.75)
    loss(*random_batch(0))
    acc, steps = loss.acc_sum.clone(), loss.steps.clone()
    for logits, target in [
        (torch.randn(0, 4), torch.zeros(0, dtype=torch.long)),
        (torch.randn(6, 4), torch.full((6,), -100)),
    ]:
        logits.requires_grad_(True)
        value = loss(logits, target)
        value.backward()
        assert value.item() == 0.0
        assert torch.equal(logits.grad, torch.zeros_like(logits))
        assert torch.equal(loss.acc_sum, acc) and torch.equal(loss.steps, steps)
        assert loss.last_counts.sum().item() == 0


# ----------------------------------------------------------------------------------------------
# Sigmoid form: parity with mmdetection's GHMC


@pytest.mark.parametrize("bins, momentum", [(30, 0.75), (10, 0.0), (7, 0.5)])
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_sigmoid_matches_mmdet_ghmc_over_steps(bins, momentum, mode, device):
    """With always_update=True the module updates on every call, in either mode, as mmdet's
    GHMC does, and gives its numbers."""
    ours = GHMCLoss(bins, momentum, use_sigmoid=True, always_update=True).to(device)
    ours.train(mode == "train")
    acc_sum = torch.zeros(bins)
    gen = torch.Generator().manual_seed(1)
    for scale in [6.0, 0.3, 2.0, 2.0, 4.0]:
        pred = scale * torch.randn(50, 8, generator=gen)
        target = (torch.rand(50, 8, generator=gen) < 0.2).float()
        label_weight = (torch.rand(50, 8, generator=gen) > 0.25).float()
        ref = mmdet_ghmc(pred, target, label_weight, acc_sum, bins=bins, momentum=momentum)
        kept_target = torch.where(label_weight > 0, target, torch.tensor(-100.0))
        value = ours(pred.to(device), kept_target.to(device)).cpu()
        torch.testing.assert_close(value, ref, rtol=1e-5, atol=1e-7)
    if momentum > 0:
        torch.testing.assert_close(ours.acc_sum.cpu(), acc_sum, rtol=1e-6, atol=1e-6)


def test_sigmoid_class_weight_scales_columns_and_the_mean_divides_by_their_sum():
    gen = torch.Generator().manual_seed(2)
    pred = torch.randn(20, 3, 4, generator=gen)
    target = (torch.rand(20, 3, 4, generator=gen) < 0.5).float()
    w = torch.tensor([1.0, 0.0, 2.0])
    unweighted = GHMCLoss(6, 0.0, use_sigmoid=True, reduction="none")(pred, target)
    weighted = GHMCLoss(6, 0.0, use_sigmoid=True, weight=w, reduction="none")(pred, target)
    torch.testing.assert_close(weighted, unweighted * w[:, None])
    mean = GHMCLoss(6, 0.0, use_sigmoid=True, weight=w)(pred, target)
    torch.testing.assert_close(mean, weighted.sum() / (w.sum() * 20 * 4))


# ----------------------------------------------------------------------------------------------
# When the statistics update: like BatchNorm


@pytest.mark.parametrize("use_sigmoid", [False, True])
def test_statistics_update_in_training_mode_only_also_under_no_grad(use_sigmoid):
    """Training mode updates acc_sum, steps and last_counts, with or without torch.no_grad()
    (as BatchNorm's running statistics); after .eval() a call stores nothing, gives the loss
    a training call would give from the same state, and gives it again on the next call."""
    gen = torch.Generator().manual_seed(8)
    if use_sigmoid:
        batches = [
            (
                3 * torch.randn(30, 4, generator=gen),
                (torch.rand(30, 4, generator=gen) < 0.3).float(),
            )
            for _ in range(3)
        ]
    else:
        batches = [random_batch(seed, (30, 5)) for seed in range(3)]
    loss = GHMCLoss(6, 0.75, use_sigmoid=use_sigmoid)
    loss(*batches[0])
    with torch.no_grad():
        loss(*batches[1])
    assert loss.steps.sum() > 0 and loss.steps.max() == 2
    state = copy.deepcopy(loss.state_dict())
    trained_copy = copy.deepcopy(loss)

    loss.eval()
    first = loss(*batches[2])
    assert all(torch.equal(v, state[k]) for k, v in loss.state_dict().items())
    torch.testing.assert_close(loss(*batches[2]), first)
    torch.testing.assert_close(first, trained_copy(*batches[2]))
    assert not torch.equal(trained_copy.acc_sum, state["acc_sum"])  # training would update


def test_always_update_updates_in_eval_mode_as_mmdet():
    loss = GHMCLoss(6, 0.75, always_update=True).eval()
    loss(*random_batch(0, (30, 5)))
    assert loss.steps.sum() > 0


# ----------------------------------------------------------------------------------------------
# Gradients, precision, state


@pytest.mark.parametrize("use_sigmoid", [False, True])
def test_gradcheck_float64_with_the_state_frozen_per_call(use_sigmoid):
    loss = GHMCLoss(5, 0.75, use_sigmoid=use_sigmoid, weight=[1.0, 0.5, 2.0, 1.5], ignore_index=-1)
    gen = torch.Generator().manual_seed(3)

    def batch():
        x = 2 * torch.randn(7, 4, generator=gen, dtype=torch.float64)
        if use_sigmoid:
            y = (torch.rand(7, 4, generator=gen) < 0.5).double()
            y[0, 1] = -1
        else:
            y = torch.randint(0, 4, (7,), generator=gen)
            y[2] = -1
        return x, y

    for _ in range(3):  # build up a non-trivial moving average first
        loss(*batch())
    x, y = batch()
    x.requires_grad_(True)
    # a fresh copy per call, so every evaluation sees the same state and hence the same beta
    assert torch.autograd.gradcheck(lambda t: copy.deepcopy(loss)(t, y), (x,))
    assert torch.autograd.gradgradcheck(lambda t: copy.deepcopy(loss)(t, y), (x,))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("use_sigmoid", [False, True])
def test_low_precision_logits_are_computed_in_float32(dtype, use_sigmoid):
    gen = torch.Generator().manual_seed(4)
    logits = (3 * torch.randn(32, 5, generator=gen)).to(dtype)
    if use_sigmoid:
        target = (torch.rand(32, 5, generator=gen) < 0.3).float()
    else:
        target = torch.randint(0, 5, (32,), generator=gen)
    low = GHMCLoss(use_sigmoid=use_sigmoid)(logits, target)
    high = GHMCLoss(use_sigmoid=use_sigmoid)(logits.float(), target)
    assert low.dtype == torch.float32
    assert torch.equal(low, high)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("use_sigmoid", [False, True])
def test_logits_of_1e4_give_finite_loss_and_gradient(dtype, use_sigmoid):
    logits = torch.tensor([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4], [0.0, 0.0, -1e4]], dtype=dtype)
    logits.requires_grad_(True)
    if use_sigmoid:
        target = torch.tensor([[0.0, 1.0, 1.0], [1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    else:
        target = torch.tensor([1, 0, 2])
    value = GHMCLoss(use_sigmoid=use_sigmoid)(logits, target)
    value.backward()
    assert torch.isfinite(value) and value > 0
    assert torch.isfinite(logits.grad).all()


def test_state_dict_round_trip_continues_identically():
    a = GHMCLoss(8, 0.75, bias_correction=True)
    for seed in range(3):
        a(*random_batch(seed))
    assert set(a.state_dict()) == {"acc_sum", "steps", "last_counts"}
    b = GHMCLoss(8, 0.75, bias_correction=True)
    b.load_state_dict(a.state_dict())
    batch = random_batch(10)
    from_a, from_b = a(*batch), b(*batch)
    assert torch.equal(from_a, from_b)
    for key, value in a.state_dict().items():
        assert torch.equal(value, b.state_dict()[key]), key
    # the state matters: a fresh module gives another loss on the same batch
    assert not torch.allclose(GHMCLoss(8, 0.75, bias_correction=True)(*batch), from_a)


def test_bias_correction_removes_the_start_up_inflation():
    # the same batch every step: the corrected average equals the raw counts at every step,
    # so the loss equals momentum=0's; uncorrected, step 1 is inflated by 1 / (1 - momentum)
    batch = random_batch(5, (200, 6))
    plain = GHMCLoss(10, 0.0)(*batch)
    corrected = GHMCLoss(10, 0.9, bias_correction=True)
    raw = GHMCLoss(10, 0.9)
    torch.testing.assert_close(raw(*batch), plain / (1 - 0.9))
    for _ in range(5):
        torch.testing.assert_close(corrected(*batch), plain, rtol=1e-6, atol=0)


def test_bias_correction_counts_steps_per_bin():
    # step 1 fills only the lowest bin; a bin first filled at step 2 is corrected with its own
    # t_b = 1, so its rows get beta = tot / (raw count * non-empty bins) at step 2
    loss = GHMCLoss(10, 0.8, bias_correction=True, reduction="none")
    logits, target = random_batch(6, (100, 4), ignore_frac=0.0)
    loss(logits + 30 * F.one_hot(target, 4), target)
    assert loss.steps.tolist() == [1] + [0] * 9
    beta = loss(logits, target) / F.cross_entropy(logits, target, reduction="none")
    counts = loss.last_counts
    bin_of = (10 * (1 - torch.softmax(logits, 1)[torch.arange(100), target])).long()
    new_rows = bin_of > 0
    expected = 100 / (counts[bin_of[new_rows]] * (counts > 0).sum()).double()
    torch.testing.assert_close(beta[new_rows], expected, rtol=1e-6, atol=0)


# ----------------------------------------------------------------------------------------------
# Groups: independent statistics for the blocks of one batch (stacked models)


@pytest.mark.parametrize("use_sigmoid", [False, True])
@pytest.mark.parametrize("momentum, bias_correction", [(0.0, False), (0.75, False), (0.75, True)])
def test_groups_equal_one_loss_per_block_over_steps(use_sigmoid, momentum, bias_correction):
    """G blocks laid end to end through one ``groups=G`` loss give, row for row and state for
    state, what G separate losses give on their own blocks, step after step (ignored rows too)."""
    groups, rows, classes, bins = 3, 8, 5, 6
    kwargs = dict(bins=bins, momentum=momentum, bias_correction=bias_correction)
    kwargs.update(use_sigmoid=use_sigmoid, reduction="none")
    grouped = GHMCLoss(groups=groups, **kwargs)
    separate = [GHMCLoss(**kwargs) for _ in range(groups)]
    gen = torch.Generator().manual_seed(0)
    for _ in range(4):
        logits = torch.randn(groups * rows, classes, generator=gen) * 3
        if use_sigmoid:
            target = (torch.rand(groups * rows, classes, generator=gen) < 0.3).float()
            target[::5, 1] = -100
        else:
            target = torch.randint(classes, (groups * rows,), generator=gen)
            target[::5] = -100
        whole = grouped(logits, target)
        parts = [loss(z, y) for loss, z, y in zip(separate, logits.split(rows), target.split(rows))]
        torch.testing.assert_close(whole, torch.cat(parts))
        for name in ("acc_sum", "steps", "last_counts"):
            expected = torch.stack([getattr(loss, name) for loss in separate])
            torch.testing.assert_close(getattr(grouped, name), expected)


def test_groups_need_a_batch_of_equal_blocks():
    with pytest.raises(ValueError, match=r"groups=3 needs .* got 8 rows, not a multiple of 3"):
        GHMCLoss(groups=3)(torch.randn(8, 4), torch.zeros(8, dtype=torch.long))
    with pytest.raises(ValueError, match=r"groups must be an integer >= 1; got 0"):
        GHMCLoss(groups=0)


# ----------------------------------------------------------------------------------------------
# Distributed


@pytest.mark.timeout(60)
def test_distributed_two_ranks_use_the_global_bin_density(tmp_path):
    """Two gloo processes, each with part of every batch, against one process on the whole:
    per row the loss is beta * (its own unweighted loss), so equal rows mean equal beta."""
    mp.spawn(dist_worker.run, args=(2, str(tmp_path / "store"), str(tmp_path)), nprocs=2)
    ranks = [torch.load(tmp_path / f"rank{r}.pt") for r in range(2)]
    softmax, sigmoid = dist_worker.make_losses()
    for step, (logits, target, sig_logits, sig_target) in enumerate(dist_worker.make_batches()):
        whole = softmax(logits, target)
        split = torch.cat([ranks[0]["softmax"][step], ranks[1]["softmax"][step]])
        torch.testing.assert_close(split, whole)
        whole = sigmoid(sig_logits, sig_target)
        split = torch.cat([ranks[0]["sigmoid"][step], ranks[1]["sigmoid"][step]])
        torch.testing.assert_close(split, whole)
    for name, single in [("softmax_state", softmax), ("sigmoid_state", sigmoid)]:
        for key, value in single.state_dict().items():
            assert torch.equal(ranks[0][name][key], ranks[1][name][key]), (name, key)
            torch.testing.assert_close(ranks[0][name][key], value)


# ----------------------------------------------------------------------------------------------
# Validation


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"bins": 0}, r"bins must be an integer >= 1; got 0"),
        ({"momentum": 1.0}, r"momentum must be a number in \[0\.0, 1\.0\); got 1\.0"),
        ({"momentum": -0.1}, r"momentum must be a number in \[0\.0, 1\.0\); got -0\.1"),
        ({"reduction": "avg"}, r"reduction='avg'.*expected one of"),
        ({"weight": [1.0, -1.0]}, r"weight must be non-negative"),
        ({"weight": [[1.0, 2.0]]}, r"weight must be a 1-D vector"),
    ],
)
def test_constructor_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GHMCLoss(**kwargs)


@pytest.mark.parametrize("bins", [2.5, True])
def test_bins_of_the_wrong_type_are_a_type_error(bins):
    with pytest.raises(TypeError, match=rf"bins must be an integer; got {bins!r}"):
        GHMCLoss(bins=bins)


@pytest.mark.parametrize(
    "kwargs, logits, target, match",
    [
        (
            {"weight": [1.0, 2.0]},
            torch.randn(4, 3),
            torch.zeros(4, dtype=torch.long),
            r"weight has length 2 .*expected length 3",
        ),
        (
            {},
            torch.randn(4, 3),
            torch.tensor([0, 1, 3, 2]),
            r"class index 3; expected values in \[0, 2\]",
        ),
        ({}, torch.randn(4, 3), torch.tensor([0, -5, 1, 2]), r"class index -5"),
        ({}, torch.randn(4, 3), torch.zeros(5, dtype=torch.long), r"need target of shape \(4,\)"),
        ({}, torch.randn(4), torch.zeros(4, dtype=torch.long), r"got shape \(4,\)"),
        (
            {"use_sigmoid": True},
            torch.randn(4),
            torch.zeros(4),
            r"shape \(N, C\) or \(N, C, d1, ...\); got shape \(4,\)",
        ),
        (
            {"use_sigmoid": True},
            torch.randn(4, 3),
            torch.zeros(4),
            r"shape of logits \(4, 3\); got \(4,\)",
        ),
        (
            {"use_sigmoid": True},
            torch.randn(2, 2),
            torch.tensor([[0.0, 2.0], [1.0, 0.0]]),
            r"target contains 2\.0; expected values in \[0, 1\]",
        ),
        (
            {"use_sigmoid": True, "weight": [1.0]},
            torch.randn(4, 3),
            torch.zeros(4, 3),
            r"weight has length 1 .*expected length 3",
        ),
    ],
)
def test_forward_rejects_bad_inputs(kwargs, logits, target, match):
    with pytest.raises(ValueError, match=match):
        GHMCLoss(**kwargs)(logits, target)


@pytest.mark.parametrize(
    "use_sigmoid, target, match",
    [
        (False, torch.zeros(4), r"target must be an integer tensor.*float32"),
        (
            True,
            torch.zeros(4, 3, dtype=torch.long),
            r"floating-point tensor of 0/1 labels or probabilities; got torch.int64",
        ),
    ],
)
def test_forward_rejects_targets_of_the_wrong_dtype_with_a_type_error(use_sigmoid, target, match):
    with pytest.raises(TypeError, match=match):
        GHMCLoss(use_sigmoid=use_sigmoid)(torch.randn(4, 3), target)


# ----------------------------------------------------------------------------------------------
# The two custom ops that keep the bin steps whole under torch.compile


def test_bin_ops_agree_with_their_fake_kernels_and_with_bincount_and_indexing():
    """torch.library.opcheck runs each op for real, under fake tensors (the shapes compile
    traces with) and through the dispatcher checks; the values are those of the plain ops."""
    from imbloss.losses.ghm import _bin_counts, _bin_values

    idx = torch.tensor([0, 3, 3, 10, 2, 3], dtype=torch.int32)
    table = torch.linspace(0.0, 1.0, 11)
    torch.library.opcheck(_bin_counts, (idx, 11))
    torch.library.opcheck(_bin_values, (table, idx))
    assert _bin_counts(idx, 11).tolist() == torch.bincount(idx.long(), minlength=11).tolist()
    assert torch.equal(_bin_values(table, idx), table[idx.long()])
