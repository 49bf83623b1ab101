"""Names as characters: optional ASCII folding and a character vocabulary built on training names.

Index 0 is padding (``PAD``), index 1 stands for any character the vocabulary has not seen
(``OOV``), and the characters seen in training get 2, 3, ... in sorted order, so the same
training names always give the same vocabulary.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence

import torch

PAD = 0
OOV = 1


def fold_ascii(name: str) -> str:
    """Drop accents: NFD-decompose ``name`` and remove the combining marks (Unicode ``Mn``).

    This is the folding of the PyTorch char-RNN tutorial's ``unicodeToAscii`` without its final
    filter to a fixed alphabet: ``"Ślusàrski" -> "Slusarski"``. Letters that have no
    decomposition (``ß``, ``ł``) and other characters are kept as they are, not deleted.
    """
    return "".join(
        ch for ch in unicodedata.normalize("NFD", name) if unicodedata.category(ch) != "Mn"
    )


class CharVocab:
    """Map characters to indices: ``PAD=0``, ``OOV=1``, the known characters from 2 on.

    Build it on the training names only (``CharVocab.build``), so that characters seen only in
    validation or test are encoded as ``OOV``, as they would be for a new name.
    """

    def __init__(self, chars: Iterable[str], *, ascii_fold: bool = False) -> None:
        self.chars: tuple[str, ...] = tuple(sorted(set(chars)))
        bad = [ch for ch in self.chars if len(ch) != 1]
        if bad:
            raise ValueError(f"chars must be single characters; got {bad[:5]!r}")
        self.ascii_fold = ascii_fold
        self._index = {ch: i for i, ch in enumerate(self.chars, start=OOV + 1)}

    @classmethod
    def build(cls, names: Iterable[str], *, ascii_fold: bool = False) -> CharVocab:
        """Vocabulary of every character in ``names`` (after :func:`fold_ascii` if asked)."""
        fold = fold_ascii if ascii_fold else str
        return cls((ch for name in names for ch in fold(name)), ascii_fold=ascii_fold)

    def __len__(self) -> int:
        """Number of indices, padding and OOV included: the embedding size a model needs."""
        return len(self.chars) + 2

    def __repr__(self) -> str:
        return f"CharVocab(size={len(self)}, ascii_fold={self.ascii_fold})"

    def encode(self, name: str) -> list[int]:
        """Indices of the characters of ``name``; unknown characters become ``OOV``."""
        if self.ascii_fold:
            name = fold_ascii(name)
        return [self._index.get(ch, OOV) for ch in name]

    def encode_batch(self, names: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode ``names`` into ``x`` (N, L) int64 padded with ``PAD`` and ``lengths`` (N) int64.

        ``L`` is the longest encoded name. Every name must encode to at least one character.
        """
        encoded = [self.encode(name) for name in names]
        empty = [i for i, codes in enumerate(encoded) if not codes]
        if empty:
            raise ValueError(
                f"names at positions {empty[:5]} are empty; every name needs >= 1 character"
            )
        lengths = torch.tensor([len(codes) for codes in encoded], dtype=torch.int64)
        width = max((len(codes) for codes in encoded), default=0)
        x = torch.full((len(encoded), width), PAD, dtype=torch.int64)
        for row, codes in enumerate(encoded):
            x[row, : len(codes)] = torch.tensor(codes, dtype=torch.int64)
        return x, lengths
