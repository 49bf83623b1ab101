"""Epoch samplers: natural is a permutation, balanced gives every class the same number of
draws, uniform_language draws classes independently and uniformly (frequencies within 5 sd).
"""

from __future__ import annotations

import math

import pytest
import torch

from imbloss.data import SAMPLERS, epoch_indices, uniform_language_eval_indices

# a long tail: 1000, 100, 10 and 1 rows, interleaved so that rows are not sorted by class
Y = torch.tensor([0] * 1000 + [1] * 100 + [2] * 10 + [3])
Y = Y[torch.randperm(len(Y), generator=torch.Generator().manual_seed(0))]


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _within_binomial_band(count: int, n: int, p: float, sds: float = 5.0) -> bool:
    return abs(count - n * p) <= sds * math.sqrt(n * p * (1 - p))


def test_unknown_kind_lists_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="'oversample'.*natural.*balanced.*uniform_language"):
        epoch_indices("oversample", Y, generator=_gen())


def test_natural_is_a_permutation_of_all_rows() -> None:
    idx = epoch_indices("natural", Y, generator=_gen())
    assert idx.dtype == torch.int64
    assert torch.equal(idx.sort().values, torch.arange(len(Y)))
    assert not torch.equal(idx, torch.arange(len(Y)))
    assert not torch.equal(idx, epoch_indices("natural", Y, generator=_gen(1)))


def test_natural_longer_than_the_data_repeats_every_row_evenly() -> None:
    idx = epoch_indices("natural", Y, generator=_gen(), num_samples=2 * len(Y) + 5)
    visits = torch.bincount(idx, minlength=len(Y))
    assert set(visits.tolist()) == {2, 3} and int((visits == 3).sum()) == 5


@pytest.mark.parametrize("kind", SAMPLERS)
def test_same_generator_seed_same_epoch(kind: str) -> None:
    first = epoch_indices(kind, Y, generator=_gen(7))
    assert torch.equal(first, epoch_indices(kind, Y, generator=_gen(7)))
    assert len(first) == len(Y) and int(first.min()) >= 0 and int(first.max()) < len(Y)


def test_balanced_gives_every_class_the_same_number_of_draws() -> None:
    idx = epoch_indices("balanced", Y, generator=_gen(), num_samples=4000)
    assert torch.bincount(Y[idx]).tolist() == [1000, 1000, 1000, 1000]
    uneven = torch.bincount(Y[epoch_indices("balanced", Y, generator=_gen(), num_samples=4003)])
    assert sorted(uneven.tolist()) == [1000, 1001, 1001, 1001]


def test_balanced_draws_uniformly_within_a_class_and_shuffles() -> None:
    idx = epoch_indices("balanced", Y, generator=_gen(), num_samples=40_000)
    rows_of_class_2 = torch.nonzero(Y == 2).flatten()
    visits = torch.bincount(idx, minlength=len(Y))[rows_of_class_2]
    assert all(_within_binomial_band(int(v), 10_000, 0.1) for v in visits)
    assert int(visits.sum()) == 10_000
    assert len(set(Y[idx[:8]].tolist())) > 1  # classes are mixed, not in blocks


def test_uniform_language_class_frequencies_are_about_one_in_c() -> None:
    n = 40_000
    counts = torch.bincount(
        Y[epoch_indices("uniform_language", Y, generator=_gen(), num_samples=n)]
    )
    assert all(_within_binomial_band(int(c), n, 0.25) for c in counts)
    natural_share = torch.bincount(Y).float() / len(Y)
    assert not all(
        _within_binomial_band(int(c), n, float(p)) for c, p in zip(counts, natural_share)
    )


def test_classes_absent_from_y_are_not_drawn() -> None:
    y = torch.tensor([5] * 90 + [2] * 10)
    idx = epoch_indices("uniform_language", y, generator=_gen(), num_samples=20_000)
    counts = torch.bincount(y[idx], minlength=6)
    assert counts[[0, 1, 3, 4]].sum() == 0
    assert _within_binomial_band(int(counts[2]), 20_000, 0.5)


def test_eval_draw_is_the_uniform_language_draw() -> None:
    drawn = uniform_language_eval_indices(Y, 500, _gen(3))
    assert torch.equal(
        drawn, epoch_indices("uniform_language", Y, generator=_gen(3), num_samples=500)
    )


@pytest.mark.parametrize(
    ("y", "match"),
    [
        (torch.zeros(2, 2, dtype=torch.int64), "1-D"),
        (torch.tensor([], dtype=torch.int64), "empty"),
    ],
)
def test_bad_labels_are_rejected(y, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        epoch_indices("natural", y, generator=_gen())


@pytest.mark.parametrize(
    ("y", "match"), [(torch.tensor([0.0, 1.0]), "torch.float32"), ([0, 1], "got list")]
)
def test_labels_of_the_wrong_type_are_a_type_error(y, match: str) -> None:
    with pytest.raises(TypeError, match=f"y must be a 1-D integer tensor.*{match}"):
        epoch_indices("natural", y, generator=_gen())


@pytest.mark.parametrize("num_samples", [0, -3])
def test_bad_num_samples_is_rejected(num_samples) -> None:
    with pytest.raises(ValueError, match="num_samples must be an integer >= 1"):
        epoch_indices("balanced", Y, generator=_gen(), num_samples=num_samples)


@pytest.mark.parametrize("num_samples", [2.5, True])
def test_num_samples_that_is_not_an_integer_is_a_type_error(num_samples) -> None:
    with pytest.raises(TypeError, match="num_samples must be an integer; got"):
        epoch_indices("balanced", Y, generator=_gen(), num_samples=num_samples)
