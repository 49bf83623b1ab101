"""Classifiers the trainer builds from a :class:`~imbloss.data.base.PreparedData`.

* :class:`CharBiGRU` (``kind="sequence"``): embedding, a bidirectional GRU over
  packed sequences, the final hidden state of both directions, one linear layer.
* :class:`FeatureMLP` (``kind="features"``): a one-hidden-layer perceptron.
* :class:`TutorialCharRNN`: the PyTorch char-RNN tutorial's model (one-hot
  characters, a 128-unit ``nn.RNN``, log-softmax), kept as the baseline the
  training benchmark compares against; it reads one name at a time.

Every model is called ``model(x, lengths)`` and returns logits (N, C).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from imbloss.data.base import PreparedData

KINDS = ("sequence", "features")


class CharBiGRU(nn.Module):
    """Character-level bidirectional GRU classifier.

    Args:
        vocab_size: number of character indices, including padding (0) and OOV (1).
        num_classes: number of output logits.
        embedding_dim: size of each character embedding.
        hidden_size: GRU hidden units per direction.
        num_layers: stacked GRU layers.
        dropout: dropout on the concatenated final states (and between GRU layers).
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
        self.head = nn.Linear(2 * hidden_size, num_classes)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """``x`` (N, L) int64 padded with 0, ``lengths`` (N) int64 -> logits (N, C).

        ``lengths`` may live on the CPU while ``x`` is on an accelerator (packing
        needs them on the CPU); the rows may come in any order.
        """
        packed = pack_padded_sequence(
            self.embedding(x).float(), lengths.cpu(), batch_first=True, enforce_sorted=False
        )
        # Under CUDA autocast cuDNN runs RNNs in float16 whatever dtype was asked for, and
        # the trainer uses no gradient scaler: the GRU stays in float32.
        with torch.autocast(x.device.type, enabled=False):
            _, h_n = self.gru(packed)  # (num_layers * 2, N, H), in the caller's order
        final = torch.cat([h_n[-2], h_n[-1]], dim=1)  # last layer: forward, backward
        return self.head(self.dropout(final))


class FeatureMLP(nn.Module):
    """A perceptron with one ReLU hidden layer for dense feature vectors."""

    def __init__(
        self, input_size: int, num_classes: int, *, hidden_size: int = 64, dropout: float = 0.0
    ) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(input_size, hidden_size),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden_size, num_classes),
        )

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """``x`` (N, D) float -> logits (N, C); ``lengths`` is ignored."""
        return self.net(x)


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


def build_model(
    data: PreparedData,
    *,
    hidden_size: int = 64,
    embedding_dim: int = 32,
    num_layers: int = 1,
    dropout: float = 0.0,
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
        )
    if data.kind == "features":
        return FeatureMLP(
            data.input_size, data.num_classes, hidden_size=hidden_size, dropout=dropout
        )
    raise ValueError(f"data.kind={data.kind!r} is not valid; expected one of {KINDS}")
