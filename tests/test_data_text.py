"""ASCII folding and the character vocabulary: PAD=0, OOV=1, known characters from 2."""

from __future__ import annotations

import unicodedata

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from imbloss.data import CharVocab, fold_ascii
from imbloss.data.text import OOV, PAD

names = st.text(min_size=1, max_size=12)


@pytest.mark.parametrize(
    ("name", "folded"),
    [("Ślusàrski", "Slusarski"), ("Müller", "Muller"), ("Nuñez", "Nunez"), ("Zoë", "Zoe")],
)
def test_fold_ascii_drops_accents(name: str, folded: str) -> None:
    assert fold_ascii(name) == folded


def test_fold_ascii_keeps_letters_without_decomposition() -> None:
    assert fold_ascii("Łukasz Groß") == "Łukasz Groß"


@given(names)
def test_fold_ascii_leaves_no_combining_mark_and_is_idempotent(name: str) -> None:
    folded = fold_ascii(name)
    assert not any(unicodedata.category(ch) == "Mn" for ch in folded)
    assert fold_ascii(folded) == folded


@given(st.text(st.characters(max_codepoint=127)))
def test_fold_ascii_leaves_ascii_alone(name: str) -> None:
    assert fold_ascii(name) == name


def test_vocab_indices_padding_and_oov() -> None:
    vocab = CharVocab.build(["ba", "ac"])
    assert vocab.chars == ("a", "b", "c")
    assert len(vocab) == 5  # PAD, OOV, a, b, c
    assert vocab.encode("cab") == [4, 2, 3]
    assert vocab.encode("abz") == [2, 3, OOV]
    assert CharVocab.build(["ac", "ba"]).chars == vocab.chars  # order of the names is irrelevant


def test_unicode_is_kept_unless_folding_is_asked() -> None:
    plain = CharVocab.build(["Ślusàrski"])
    assert "Ś" in plain.chars and "à" in plain.chars
    assert plain.encode("Slusarski")[0] == OOV  # "S" was never seen
    folded = CharVocab.build(["Ślusàrski"], ascii_fold=True)
    assert "Ś" not in folded.chars
    assert folded.encode("Ślusàrski") == folded.encode("Slusarski")
    assert OOV not in folded.encode("Slusarski")


def test_encode_batch_pads_with_zero_and_reports_lengths() -> None:
    vocab = CharVocab.build(["abc", "d"])
    x, lengths = vocab.encode_batch(["abc", "d", "dz"])
    assert x.dtype == lengths.dtype == torch.int64
    assert lengths.tolist() == [3, 1, 2]
    assert x.tolist() == [[2, 3, 4], [5, PAD, PAD], [5, OOV, PAD]]


def test_encode_batch_rejects_empty_names() -> None:
    with pytest.raises(ValueError, match=r"positions \[1\]"):
        CharVocab.build(["a"]).encode_batch(["a", ""])


@given(st.lists(names, min_size=1, max_size=8), st.booleans())
def test_encode_batch_rows_are_the_encoded_names(batch: list[str], ascii_fold: bool) -> None:
    vocab = CharVocab.build(batch[::2], ascii_fold=ascii_fold)
    batch = [name for name in batch if vocab.encode(name)]
    if not batch:
        return
    x, lengths = vocab.encode_batch(batch)
    for row, name in enumerate(batch):
        codes = vocab.encode(name)
        assert int(lengths[row]) == len(codes)
        assert x[row, : len(codes)].tolist() == codes
        assert (x[row, len(codes) :] == PAD).all()
        assert all(OOV < c < len(vocab) or c == OOV for c in codes)


def test_vocab_rejects_multi_character_entries() -> None:
    with pytest.raises(ValueError, match="single characters"):
        CharVocab(["ab"])
