"""Long-tailed digits: the exponential size profile, balanced evaluation sets, the dispatcher."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st

from imbloss.data import DATASETS, longtail_class_sizes, prepare_dataset, prepare_digits
from imbloss.data.longtail import EVAL_PER_CLASS


def test_sizes_follow_the_exponential_profile() -> None:
    assert longtail_class_sizes(1000, 4, 1000.0) == [1000, 100, 10, 1]
    sizes = longtail_class_sizes(134, 10, 100.0)
    assert sizes == [round(134 * 100 ** (-i / 9)) for i in range(10)]
    assert sizes[0] == 134 and sizes[-1] == 1


def test_ratio_one_is_balanced() -> None:
    assert longtail_class_sizes(50, 7, 1) == [50] * 7


@given(
    st.integers(1, 10_000),
    st.integers(2, 50),
    st.floats(1.0, 1e4, allow_nan=False),
)
def test_sizes_are_non_increasing_and_keep_the_ratio(n_max: int, c: int, ratio: float) -> None:
    assume(abs(n_max / ratio - 0.5) > 1e-9)  # too close to call for round()
    if n_max / ratio < 0.5:  # the tail would round to 0 examples
        with pytest.raises(ValueError, match="0 examples"):
            longtail_class_sizes(n_max, c, ratio)
        return
    sizes = longtail_class_sizes(n_max, c, ratio)
    assert len(sizes) == c and sizes[0] == n_max
    assert all(a >= b for a, b in zip(sizes, sizes[1:]))
    assert abs(sizes[-1] - n_max / ratio) <= 0.5 + 1e-9  # the last size is n_max / ratio, rounded


@pytest.mark.parametrize("ratio", [0.5, 0.0, -2.0, math.nan, math.inf])
def test_ratio_below_one_or_infinite_is_rejected(ratio) -> None:
    with pytest.raises(ValueError, match=r"imbalance ratio must be a number in \[1.0, inf\); got"):
        longtail_class_sizes(100, 10, ratio)


@pytest.mark.parametrize("ratio", [True, "100"])
def test_ratio_that_is_not_a_number_is_a_type_error(ratio) -> None:
    with pytest.raises(TypeError, match=r"imbalance ratio must be a real number; got"):
        longtail_class_sizes(100, 10, ratio)


@pytest.mark.parametrize(("n_max", "c"), [(0, 10), (100, 1)])
def test_bad_sizes_are_rejected(n_max, c) -> None:
    with pytest.raises(ValueError, match="n_max|num_classes"):
        longtail_class_sizes(n_max, c, 10.0)


def test_a_float_size_is_a_type_error() -> None:
    with pytest.raises(TypeError, match=r"n_max must be an integer; got 100.0 \(float\)"):
        longtail_class_sizes(100.0, 10, 10.0)


def test_digits_train_is_long_tailed_and_evaluation_is_balanced() -> None:
    data = prepare_digits(imbalance_ratio=100.0, seed=0)
    assert data.kind == "features" and data.input_size == 64 and data.num_classes == 10
    assert data.class_counts.tolist() == data.info["class_sizes"]
    assert data.info["class_sizes"] == longtail_class_sizes(data.info["n_max"], 10, 100.0)
    assert data.info["class_sizes"][0] / data.info["class_sizes"][-1] == pytest.approx(100, rel=0.5)
    for part in (data.val, data.test):
        assert torch.bincount(part.y).tolist() == [EVAL_PER_CLASS] * 10
    for part in (data.train, data.val, data.test):
        assert part.x.dtype == torch.float32 and part.x.shape == (len(part), 64)
        assert part.y.dtype == torch.int64 and part.lengths is None
        assert float(part.x.min()) >= 0.0 and float(part.x.max()) <= 1.0
    # load_digits has no two identical images, so images identify rows: the parts are disjoint
    seen = [{tuple(row.tolist()) for row in part.x} for part in (data.train, data.val, data.test)]
    assert sum(len(s) for s in seen) == len(set().union(*seen))


def test_digits_n_max_is_the_smallest_pool() -> None:
    data = prepare_digits(imbalance_ratio=1.0)
    assert data.info["n_max"] == 174 - 2 * EVAL_PER_CLASS  # digit 8 has the fewest images (174)
    assert data.class_counts.tolist() == [data.info["n_max"]] * 10


def test_digits_are_deterministic_for_a_seed() -> None:
    a, b, c = prepare_digits(seed=1), prepare_digits(seed=1), prepare_digits(seed=2)
    assert torch.equal(a.train.x, b.train.x) and torch.equal(a.test.x, b.test.x)
    assert not torch.equal(a.test.x, c.test.x)


def test_prepare_dataset_dispatches_and_lists_valid_names() -> None:
    data = prepare_dataset("digits", imbalance_ratio=10.0, seed=0)
    assert data.info["imbalance_ratio"] == 10.0
    with pytest.raises(ValueError, match=r"'mnist'.*\('names', 'digits'\)"):
        prepare_dataset("mnist")
    assert DATASETS == ("names", "digits")


def test_matched_balanced_control_has_the_long_tailed_size_and_equal_classes() -> None:
    from imbloss.data.longtail import prepare_digits

    skewed = prepare_digits(imbalance_ratio=100, seed=1)
    control = prepare_digits(imbalance_ratio=100, seed=1, matched_balanced=True)
    counts = control.class_counts.tolist()
    assert len(set(counts)) == 1
    assert 0 <= len(skewed.train) - len(control.train) < 10
    # the evaluation sets are the same images
    assert torch.equal(skewed.test.x, control.test.x)
