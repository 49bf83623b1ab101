"""Every loss compiles with torch.compile(fullgraph=True): no host sync, no graph break.

The cheap "eager" backend runs Dynamo's tracing (which raises on any graph break under
fullgraph=True) without code generation, so the whole check takes seconds; the compiled
forward + backward must give the numbers of the eager call.
"""

import pytest
import torch

from imbloss.losses import LOSSES, GHMCLoss, build_loss, sigmoid_focal_loss

COUNTS = torch.tensor([300, 40, 12, 3])


def softmax_batch():
    g = torch.Generator().manual_seed(0)
    logits = 3 * torch.randn(16, 4, generator=g)
    target = torch.randint(0, 4, (16,), generator=g)
    target[3] = -100
    return logits, target


def sigmoid_batch():
    g = torch.Generator().manual_seed(1)
    logits = 3 * torch.randn(16, 4, generator=g)
    target = (torch.rand(16, 4, generator=g) < 0.3).float()
    target[2, 1] = -100.0
    return logits, target


def assert_compiles_to_the_eager_numbers(eager, compiled, logits, target):
    x_eager = logits.clone().requires_grad_()
    x_compiled = logits.clone().requires_grad_()
    expected = eager(x_eager, target)
    got = compiled(x_compiled, target)
    torch.testing.assert_close(got, expected)
    expected.backward()
    got.backward()
    torch.testing.assert_close(x_compiled.grad, x_eager.grad)


@pytest.mark.parametrize("name", LOSSES)
@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
def test_every_factory_loss_compiles_without_a_graph_break(name, label_smoothing, device):
    torch._dynamo.reset()
    kwargs = {"weight": [1.0, 2.0, 0.5, 3.0]} if name in ("ce", "focal", "ldam") else {}
    if name == "ghm":
        kwargs["momentum"] = 0.0  # each call's weights depend on that batch alone
    loss = build_loss(name, class_counts=COUNTS, label_smoothing=label_smoothing, **kwargs)
    loss = loss.to(device)
    compiled = torch.compile(loss, fullgraph=True, backend="eager")
    logits, target = softmax_batch()
    assert_compiles_to_the_eager_numbers(loss, compiled, logits.to(device), target.to(device))


@pytest.mark.parametrize("use_sigmoid", [False, True])
def test_ghm_compiles_and_updates_its_statistics_like_eager(use_sigmoid):
    """The moving average (buffers written in place) is part of the compiled graph: after two
    compiled calls the statistics equal those of two eager calls."""
    torch._dynamo.reset()
    eager = GHMCLoss(5, 0.75, use_sigmoid=use_sigmoid, bias_correction=True)
    module = GHMCLoss(5, 0.75, use_sigmoid=use_sigmoid, bias_correction=True)
    compiled = torch.compile(module, fullgraph=True, backend="eager")
    logits, target = sigmoid_batch() if use_sigmoid else softmax_batch()
    for _ in range(2):
        assert_compiles_to_the_eager_numbers(eager, compiled, logits, target)
    for key, value in eager.state_dict().items():
        torch.testing.assert_close(module.state_dict()[key], value)


def test_sigmoid_focal_compiles_with_every_option():
    torch._dynamo.reset()

    def loss(x, t):
        return sigmoid_focal_loss(
            x, t, 0.25, 0.5, "mean", weight=[1.0, 2.0, 0.5, 3.0], pos_weight=[2.0, 1.0, 1.0, 0.5],
            ignore_index=-100.0,
        )  # fmt: skip

    compiled = torch.compile(loss, fullgraph=True, backend="eager")
    assert_compiles_to_the_eager_numbers(loss, compiled, *sigmoid_batch())


def test_compiled_ldam_bounds_the_exponentials_but_not_the_true_logit(device):
    """Compiled, LDAM's scaled change is plain operations with _ChangedNLL's exponent bound:
    a hopeless example, its true logit 600 below the others after the scale, keeps its loss
    of about 600 and its gradient -s on the true logit, as in eager mode."""
    torch._dynamo.reset()
    loss = build_loss("ldam", class_counts=COUNTS, reduction="sum").to(device)
    compiled = torch.compile(loss, fullgraph=True, backend="eager")
    logits = torch.tensor([[-10.0, 10.0, 10.0, 0.0]], device=device)
    target = torch.tensor([0], device=device)
    assert_compiles_to_the_eager_numbers(loss, compiled, logits, target)
    assert compiled(logits, target).item() > 600
    x = logits.clone().requires_grad_()
    compiled(x, target).backward()
    assert x.grad[0, 0].item() == pytest.approx(-30.0)
