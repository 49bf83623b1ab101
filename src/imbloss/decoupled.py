"""Classifier re-training (cRT) on frozen features: the decoupling baseline of Kang et al.,
"Decoupling representation and classifier for long-tailed recognition" (ICLR 2020).

A model trained with plain cross-entropy on the natural class mix keeps its features
(everything before the last linear layer); a fresh linear layer is then trained on the
training set's features with class-balanced sampling (each class drawn equally often,
:func:`imbloss.data.epoch_indices` ``"balanced"``), for :data:`CRT_EPOCHS` epochs with Adam
under a cosine schedule. Only the classifier sees the balanced mix, so the representation is
the one the natural mix taught.

Its sibling, τ-normalisation of the trained layer's class weights, needs no training and is a
post-hoc rule (:func:`imbloss.posthoc.tau_normalized_logits`). The trainer runs both for the
runs :func:`applies` to and stores their inputs with the run's predictions.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from imbloss.checks import check_int, check_real
from imbloss.data.samplers import epoch_indices

# Kang et al. re-train the classifier for a few epochs (10 on ImageNet-LT)
CRT_EPOCHS = 10


def applies(config) -> bool:
    """Whether a run gets the decoupled baselines: cross-entropy runs with a linear classifier
    (plain, re-sampled, or with weight decay), whose last layer is ``z = W h + b``."""
    return config.loss == "ce" and config.classifier == "linear"


def retrain_classifier(
    features: torch.Tensor,
    labels: torch.Tensor,
    num_classes: int,
    *,
    batch_size: int,
    lr: float,
    seed: int,
    epochs: int = CRT_EPOCHS,
) -> nn.Linear:
    """A new linear layer trained on frozen ``features`` (N, D) with class-balanced sampling.

    Each epoch draws N rows, every class equally often (with replacement within a class),
    in batches of ``batch_size``; Adam from ``lr`` down to 0 on a cosine over all steps;
    mean cross-entropy. The layer is initialised and the rows drawn from ``seed``, so the
    same inputs give the same layer.

    Examples:
        >>> g = torch.Generator().manual_seed(0)
        >>> h = torch.randn(200, 4, generator=g)
        >>> y = (h[:, 0] > 1.2).long()  # a rare class, about 1 row in 9
        >>> layer = retrain_classifier(h, y, 2, batch_size=32, lr=0.05, seed=0)
        >>> recall_rare = (layer(h).argmax(1)[y == 1] == 1).float().mean().item()
        >>> recall_rare > 0.9
        True
    """
    if not isinstance(features, torch.Tensor) or features.ndim != 2:
        raise TypeError(f"features must be a 2-D tensor (N, D); got {features!r:.80}")
    if not isinstance(labels, torch.Tensor) or labels.shape != features.shape[:1]:
        raise ValueError(
            f"labels must be a tensor of {features.shape[0]} class indices; got "
            f"{getattr(labels, 'shape', labels)!r}"
        )
    check_int("num_classes", num_classes, minimum=2)
    check_int("batch_size", batch_size, minimum=1)
    check_int("epochs", epochs, minimum=1)
    check_real("lr", lr, low=0.0, high=math.inf, low_open=True, high_open=True)
    features, labels = features.detach().float(), labels.cpu()
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        layer = nn.Linear(features.shape[1], num_classes).to(features.device)
    optimizer = torch.optim.Adam(layer.parameters(), lr=lr)
    steps = epochs * -(-len(labels) // batch_size)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    targets = labels.to(features.device)
    with torch.enable_grad():  # callers may score under no_grad
        for _ in range(epochs):
            order = epoch_indices("balanced", labels, generator=generator)
            for rows in order.split(batch_size):
                rows = rows.to(features.device)
                loss = nn.functional.cross_entropy(layer(features[rows]), targets[rows])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                schedule.step()
    return layer.requires_grad_(False)


def decoupled_outputs(
    features: dict, train_labels: torch.Tensor, weight, bias, config, num_classes: int
) -> tuple[dict, dict]:
    """What a run stores for the decoupled baselines at one selected epoch.

    ``features`` maps ``"train"``, ``"val"`` and ``"test"`` to that epoch's frozen features;
    ``weight`` (C, D) and ``bias`` (C) are its trained linear layer. Returns the cRT logits
    ``{"val": (N, C), "test": (N, C)}`` (:func:`retrain_classifier` with the run's batch
    size, learning rate and seed) and ``{"bias": b, "norms": ‖w_c‖}`` for τ-normalisation.
    """
    layer = retrain_classifier(
        features["train"],
        train_labels,
        num_classes,
        batch_size=config.batch_size,
        lr=config.lr,
        seed=config.seed,
    )
    crt = {split: layer(features[split]).cpu().numpy() for split in ("val", "test")}
    classifier = {
        "bias": bias.detach().float().cpu().numpy(),
        "norms": weight.detach().float().norm(dim=1).cpu().numpy(),
    }
    return crt, classifier
