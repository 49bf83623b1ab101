"""The PyTorch char-RNN tutorial's recipe, the baseline of ``bench_training.py``.

The tutorial ("NLP From Scratch: Classifying Names with a Character-Level RNN",
pytorch.org/tutorials) trains an ``nn.RNN`` over one-hot characters, one name per
SGD step. It lives beside the benchmark that uses it, not in the library.
"""

from __future__ import annotations

import time

import torch
from torch import nn

from imbloss.data import epoch_indices
from imbloss.data.base import PreparedData
from imbloss.metrics import classification_metrics
from imbloss.train import seed_everything


class TutorialCharRNN(nn.Module):
    """The PyTorch char-RNN tutorial's classifier: one-hot characters, ``nn.RNN``, log-softmax.

    It takes one name at a time, as the tutorial does: ``x`` (L) character
    indices without padding; it returns log-probabilities (1, C).
    """

    def __init__(self, vocab_size: int, num_classes: int, *, hidden_size: int = 128) -> None:
        super().__init__()
        self.vocab_size = vocab_size
        self.rnn = nn.RNN(vocab_size, hidden_size)
        self.h2o = nn.Linear(hidden_size, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        one_hot = nn.functional.one_hot(x, self.vocab_size).float().unsqueeze(1)  # (L, 1, V)
        _, hidden = self.rnn(one_hot)
        return torch.log_softmax(self.h2o(hidden[0]), dim=1)


def fit_tutorial(
    data: PreparedData,
    *,
    steps: int,
    lr: float = 0.005,
    hidden_size: int = 128,
    sampler: str = "uniform_language",
    seed: int = 0,
) -> dict:
    """The PyTorch char-RNN tutorial's recipe, for comparison: one name per SGD step.

    :class:`TutorialCharRNN` (one-hot characters, a ``hidden_size``
    ``nn.RNN``, log-softmax) is trained with NLL loss and plain SGD at ``lr`` for
    ``steps`` names drawn by ``sampler`` (the tutorial's draw: a uniform language,
    then a uniform name of it); there is no model selection. Returns the test
    metrics, the training seconds and seconds per step.
    """
    if data.kind != "sequence":
        raise ValueError(f"the tutorial model reads sequences; got data.kind={data.kind!r}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be an integer >= 1; got {steps!r}")
    seed_everything(seed)
    model = TutorialCharRNN(data.input_size, data.num_classes, hidden_size=hidden_size)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    train = data.train
    rows = epoch_indices(sampler, train.y, generator=generator, num_samples=steps).tolist()
    tick = time.perf_counter()
    for row in rows:
        log_probs = model(train.x[row, : int(train.lengths[row])])
        loss = nn.functional.nll_loss(log_probs, train.y[row : row + 1])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    train_s = time.perf_counter() - tick
    with torch.no_grad():
        test = data.test
        predictions = [
            int(model(test.x[i, : int(test.lengths[i])]).argmax()) for i in range(len(test))
        ]
    return {
        "steps": steps,
        "train_s": train_s,
        "s_per_step": train_s / steps,
        "test_metrics": classification_metrics(test.y, predictions, data.class_names),
    }
