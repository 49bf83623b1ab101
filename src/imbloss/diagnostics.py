"""Where the gradient goes: per-epoch shares of ``|dL/dz_y|`` from easy examples and head classes.

For every training example the trainer keeps ``g = |dL/dz_y|``, the magnitude of
the gradient of the batch loss with respect to the model's logit of the true
class (read from ``logits.grad`` after ``backward()``, so it works for every
loss). Over an epoch it sums

* ``easy_grad_share = sum(g over examples with p_t > 0.9) / sum(g)``;
* ``head_grad_share = sum(g over examples of a head class) / sum(g)``;

where ``p_t`` is the softmax probability of the true class under the model's
logits (before any change a loss makes to them, such as LDAM's margin and
scale) and the head classes are :func:`head_classes` of the training counts.
With ``reduction="mean"`` every gradient of a batch is divided by the same
number, which leaves a batch's shares unchanged. For cross-entropy
``dL/dz_y = p_t - 1``, so an easy example weighs at most 0.1 where a hard one
weighs up to 1; a loss that down-weights easy examples lowers the easy share.

The sums stay on the device until :meth:`GradientDiagnostics.compute`, so
there is one host synchronisation per epoch, not per batch.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

EASY_THRESHOLD = 0.9


def head_classes(class_counts: torch.Tensor | Sequence[int]) -> list[int]:
    """The largest classes that together hold at least half of the training examples.

    Classes are taken by decreasing count (ties by index) until their total
    reaches half of all examples; the result is sorted by class index.
    """
    counts = torch.as_tensor(class_counts, dtype=torch.float64)
    if counts.dim() != 1 or len(counts) == 0 or bool((counts < 0).any()) or counts.sum() <= 0:
        raise ValueError(
            f"class_counts must be a non-empty 1-D vector of non-negative counts with a positive "
            f"total; got {counts.tolist()}"
        )
    order = sorted(range(len(counts)), key=lambda c: (-float(counts[c]), c))
    head, total = [], 0.0
    for c in order:
        head.append(c)
        total += float(counts[c])
        if total >= counts.sum().item() / 2:
            break
    return sorted(head)


class GradientDiagnostics:
    """Accumulates the gradient shares, the mean ``p_t`` and the mean loss over an epoch.

    Call :meth:`update` after ``loss.backward()`` with the logits (whose
    ``.grad`` was retained), the targets and the loss; :meth:`compute` returns
    the epoch's numbers and starts a new epoch. With ``models=K`` the inputs carry a
    leading model axis (logits (K, N, C), targets (K, N), one loss per model) and
    :meth:`compute_per_model` returns each model's numbers (:mod:`imbloss.stacked`).
    """

    def __init__(
        self,
        head: Sequence[int],
        num_classes: int,
        *,
        easy_threshold: float = EASY_THRESHOLD,
        device: torch.device | str = "cpu",
        models: int | None = None,
    ) -> None:
        self.easy_threshold = easy_threshold
        self.models = models
        self.is_head = torch.zeros(num_classes, dtype=torch.bool, device=device)
        self.is_head[list(head)] = True
        # float64 keeps long epochs exact; MPS has no float64, so it sums in float32
        self._dtype = torch.float32 if torch.device(device).type == "mps" else torch.float64
        shape = (6,) if models is None else (models, 6)
        self._sums = torch.zeros(shape, dtype=self._dtype, device=device)

    def update(self, logits: torch.Tensor, target: torch.Tensor, loss: torch.Tensor) -> None:
        """Add one batch: ``logits`` (N, C), or (K, N, C) with ``models=K``, after backward
        with ``logits.grad`` set; ``loss`` the batch mean (one per model)."""
        if logits.grad is None:
            raise ValueError(
                "logits.grad is None; call logits.retain_grad() before loss.backward()"
            )
        with torch.no_grad():
            index = target.unsqueeze(-1)
            g = logits.grad.float().gather(-1, index).squeeze(-1).abs()
            p_t = torch.softmax(logits.detach().float(), dim=-1).gather(-1, index).squeeze(-1)
            easy = p_t > self.easy_threshold
            rows = target.shape[-1]
            batch = torch.stack(
                [
                    g.sum(-1),
                    (g * easy).sum(-1),
                    (g * self.is_head[target]).sum(-1),
                    p_t.sum(-1),
                    loss.detach().float() * rows,
                    torch.full_like(p_t[..., 0], float(rows)),
                ],
                dim=-1,
            )
            self._sums += batch.to(self._dtype)

    def compute(self) -> dict[str, float]:
        """The epoch's ``easy_grad_share``, ``head_grad_share``, ``mean_p_t`` and ``loss``."""
        if self.models is not None:
            raise ValueError("these diagnostics have a model axis; use compute_per_model()")
        return self.compute_per_model()[0]

    def compute_per_model(self) -> list[dict[str, float]]:
        """:meth:`compute` for every model (one dict without a model axis)."""
        sums = self._sums.view(-1, 6).tolist()
        self._sums.zero_()
        return [_shares(*row) for row in sums]


def _shares(total_g, easy_g, head_g, sum_p, sum_loss, n) -> dict[str, float]:
    if n == 0:
        raise ValueError("no batch was added since the last compute()")
    nan = float("nan")
    return {
        "easy_grad_share": easy_g / total_g if total_g > 0 else nan,
        "head_grad_share": head_g / total_g if total_g > 0 else nan,
        "mean_p_t": sum_p / n,
        "loss": sum_loss / n,
    }
