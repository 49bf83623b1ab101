"""imbloss.distributed.GlobalBatchMean: the single-process mean, exactly, with ignored targets
and class weights, in one process and over two gloo ranks."""

from __future__ import annotations

import _global_mean_worker as worker
import pytest
import torch
import torch.multiprocessing as mp

from imbloss.distributed import GlobalBatchMean
from imbloss.losses import build_loss


@pytest.mark.parametrize("name", list(worker.make_losses()))
def test_one_process_gives_the_losss_own_mean_and_gradient(name):
    """One process: both outputs are the loss's own reduction='mean' (the issue's case: one
    ignored target gave 0.813 against 1.084), and so is the gradient."""
    loss_fn = worker.make_losses()[name]
    logits, target = worker.make_batch(name)
    a = logits.clone().requires_grad_()
    b = logits.clone().requires_grad_()
    loss, mean = GlobalBatchMean(loss_fn)(a, target)
    own = worker.make_losses()[name](b, target)
    torch.testing.assert_close(loss, own)
    torch.testing.assert_close(mean, own.detach())
    loss.backward()
    own.backward()
    torch.testing.assert_close(a.grad, b.grad)


def test_the_callers_module_is_left_as_it_was():
    loss_fn = build_loss("ce", weight=worker.WEIGHT, ignore_index=-1)
    GlobalBatchMean(loss_fn)(*worker.make_batch("ce"))
    assert loss_fn.reduction == "mean"


def test_a_loss_that_does_not_say_its_denominator_is_refused():
    """GlobalBatchMean does not guess a normalisation: the loss must say it."""
    loss_fn = torch.nn.CrossEntropyLoss(ignore_index=-1)
    with pytest.raises(ValueError, match="has no method mean_denominator"):
        GlobalBatchMean(loss_fn)


def test_each_loss_says_the_denominator_its_mean_uses():
    """sum / mean_denominator is the loss's own mean, for every loss of the worker (the kept
    Σ w_y, the sigmoid Σ w_c, and every position)."""
    for name, loss_fn in worker.make_losses().items():
        logits, target = worker.make_batch(name)
        mean = loss_fn(logits, target)
        loss_fn.reduction = "sum"
        total = loss_fn(logits, target)
        loss_fn.reduction = "mean"
        torch.testing.assert_close(mean, total / loss_fn.mean_denominator(logits, target))


def test_a_batch_with_nothing_kept_gives_zero():
    loss_fn = build_loss("ce", ignore_index=-1)
    logits = torch.randn(4, 3, requires_grad=True)
    loss, mean = GlobalBatchMean(loss_fn)(logits, torch.full((4,), -1))
    loss.backward()
    assert loss.item() == 0.0 and mean.item() == 0.0
    assert torch.equal(logits.grad, torch.zeros_like(logits))


@pytest.mark.timeout(60)
def test_two_ranks_give_the_single_process_mean_and_gradient(tmp_path):
    """Two gloo ranks with uneven shards: every rank reports the single-process mean, and
    each rank's gradient, divided by 2 as DDP averages, is the single-process gradient of its
    rows; the loss that divides by every position is followed too (dividing by its kept
    positions would not give its single-process mean)."""
    mp.spawn(worker.run, args=(2, str(tmp_path / "store"), str(tmp_path)), nprocs=2)
    ranks = [torch.load(tmp_path / f"rank{r}.pt") for r in range(2)]
    for name, loss_fn in worker.make_losses().items():
        logits, target = worker.make_batch(name)
        logits.requires_grad_()
        single = loss_fn(logits, target)
        single.backward()
        for r, out in enumerate(ranks):
            torch.testing.assert_close(out[name]["mean"], single.detach(), msg=f"{name} {r}")
            torch.testing.assert_close(
                out[name]["grad"] / 2, logits.grad[worker.shard_rows(r)], msg=f"{name} {r}"
            )
