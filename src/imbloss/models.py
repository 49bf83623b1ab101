"""Classifiers the trainer builds from a :class:`~imbloss.data.base.PreparedData`.

* :class:`CharBiGRU` (``kind="sequence"``): embedding, a bidirectional GRU over
  packed sequences, the final hidden state of both directions, one linear layer.
* :class:`FeatureMLP` (``kind="features"``): a one-hidden-layer perceptron.

Either ends in a ``"linear"`` layer or a :class:`CosineClassifier` (``classifier=``).

Every model is called ``model(x, lengths)`` and returns logits (N, C);
``model.features(x, lengths)`` returns what its classifier reads (the input of the
decoupled baselines, :mod:`imbloss.decoupled`).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from imbloss.checks import check_choice
from imbloss.data.base import PreparedData

KINDS = ("sequence", "features")
CLASSIFIERS = ("linear", "cosine")


class CharBiGRU(nn.Module):
    """Character-level bidirectional GRU classifier.

    Args:
        vocab_size: number of character indices, including padding (0) and OOV (1).
        num_classes: number of output logits.
        embedding_dim: size of each character embedding.
        hidden_size: GRU hidden units per direction.
        num_layers: stacked GRU layers.
        dropout: dropout on the concatenated final states (and between GRU layers).
        classifier: ``"linear"`` or ``"cosine"`` (:class:`CosineClassifier`).
    """

    def __init__(
        self,
        vocab_size: int,
        num_classes: int,
        *,
        embedding_dim: int = 32,
        hidden_size: int = 64,
        num_layers: int = 1,
        dropout: float = 0.0,
        classifier: str = "linear",
    ) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=0)
        self.gru = nn.GRU(
            embedding_dim,
            hidden_size,
            num_layers=num_layers,
            batch_first=True,
            bidirectional=True,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        self.dropout = nn.Dropout(dropout)
        self.head = _classifier(classifier, 2 * hidden_size, num_classes)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """``x`` (N, L) int64 padded with 0, ``lengths`` (N) int64 -> logits (N, C).

        ``lengths`` may live on the CPU while ``x`` is on an accelerator (packing
        needs them on the CPU); the rows may come in any order.
        """
        return self.head(self.dropout(self.features(x, lengths)))

    def features(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """What the classifier reads (N, 2H): the last layer's final states, both directions."""
        packed = pack_padded_sequence(
            self.embedding(x).float(), lengths.cpu(), batch_first=True, enforce_sorted=False
        )
        # Under CUDA autocast cuDNN runs RNNs in float16 whatever dtype was asked for, and
        # the trainer uses no gradient scaler: the GRU stays in float32.
        with torch.autocast(x.device.type, enabled=False):
            _, h_n = self.gru(packed)  # (num_layers * 2, N, H), in the caller's order
        return torch.cat([h_n[-2], h_n[-1]], dim=1)  # last layer: forward, backward


class FeatureMLP(nn.Module):
    """A perceptron with one ReLU hidden layer for dense feature vectors."""

    def __init__(
        self,
        input_size: int,
        num_classes: int,
        *,
        hidden_size: int = 64,
        dropout: float = 0.0,
        classifier: str = "linear",
    ) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(input_size, hidden_size),
            nn.ReLU(),
            nn.Dropout(dropout),
            _classifier(classifier, hidden_size, num_classes),
        )

    @property
    def head(self) -> nn.Module:
        """The classifier layer (the last of ``net``)."""
        return self.net[-1]

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """``x`` (N, D) float -> logits (N, C); ``lengths`` is ignored."""
        return self.net(x)

    def features(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """What the classifier reads (N, H): the hidden layer's activations."""
        return self.net[1](self.net[0](x))


class CosineClassifier(nn.Module):
    """Logits ``cos(h, w_c)``: features and class weights normalised to unit length, no bias.

    The logits lie in [-1, 1], so a loss that multiplies them by a scale (LDAM's
    ``s``) sets how peaked the softmax can get; this is the classifier of LDAM-DRW
    (Cao et al. 2019, their ``NormedLinear``).
    """

    def __init__(self, in_features: int, num_classes: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(num_classes, in_features))
        nn.init.uniform_(self.weight, -1.0, 1.0)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return (
            nn.functional.normalize(features, dim=1) @ nn.functional.normalize(self.weight, dim=1).T
        )


def _classifier(kind: str, in_features: int, num_classes: int) -> nn.Module:
    if kind == "linear":
        return nn.Linear(in_features, num_classes)
    if kind == "cosine":
        return CosineClassifier(in_features, num_classes)
    check_choice("classifier", kind, CLASSIFIERS)
    raise AssertionError(f"classifier {kind!r} has no model")


def build_model(
    data: PreparedData,
    *,
    hidden_size: int = 64,
    embedding_dim: int = 32,
    num_layers: int = 1,
    dropout: float = 0.0,
    classifier: str = "linear",
) -> nn.Module:
    """The default model for ``data.kind``: :class:`CharBiGRU` or :class:`FeatureMLP`.

    ``embedding_dim`` and ``num_layers`` only apply to sequences.
    """
    if data.kind == "sequence":
        return CharBiGRU(
            data.input_size,
            data.num_classes,
            embedding_dim=embedding_dim,
            hidden_size=hidden_size,
            num_layers=num_layers,
            dropout=dropout,
            classifier=classifier,
        )
    if data.kind == "features":
        return FeatureMLP(
            data.input_size,
            data.num_classes,
            hidden_size=hidden_size,
            dropout=dropout,
            classifier=classifier,
        )
    check_choice("data.kind", data.kind, KINDS)
    raise AssertionError(f"data.kind {data.kind!r} has no model")
