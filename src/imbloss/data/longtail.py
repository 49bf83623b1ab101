"""Long-tailed digits: scikit-learn's bundled 8x8 digits with an exponentially imbalanced train set.

The validation and test sets stay balanced (``EVAL_PER_CLASS`` images of every digit each), so
their accuracy is the class-balanced accuracy; only the training set is made long-tailed, with
the exponential profile of Cui et al. (2019) and Cao et al. (2019). The head is fixed by class
order: digit 0 keeps the most images and digit 9 the fewest, for every seed; the seed chooses
which images go to validation, test and the training subsample. Nothing is downloaded.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from imbloss.checks import check_bool, check_int, check_real
from imbloss.data.base import PreparedData, TensorSplit

EVAL_PER_CLASS = 20


def longtail_class_sizes(n_max: int, num_classes: int, ratio: float) -> list[int]:
    """Class sizes ``n_i = round(n_max * ratio ** (-i / (num_classes - 1)))``, i = 0..C-1.

    ``n_0 = n_max`` and ``n_{C-1} = round(n_max / ratio)``; ``ratio=1`` gives balanced sizes.
    Python's ``round`` is used (halves go to the even neighbour).
    """
    check_int("n_max", n_max, minimum=1)
    check_int("num_classes", num_classes, minimum=2)
    check_real("imbalance ratio", ratio, low=1.0, high=math.inf, high_open=True)
    sizes = [round(n_max * ratio ** (-i / (num_classes - 1))) for i in range(num_classes)]
    if sizes[-1] < 1:
        raise ValueError(
            f"imbalance ratio {ratio} leaves the last class with 0 examples out of "
            f"n_max={n_max}; expected a ratio below {2 * n_max}"
        )
    return sizes


def prepare_digits(
    imbalance_ratio: float = 100.0, seed: int = 0, matched_balanced: bool = False
) -> PreparedData:
    """Digits as (N, 64) float32 features in [0, 1], with a long-tailed training set.

    Per class, a seeded shuffle puts ``EVAL_PER_CLASS`` images in validation, the next
    ``EVAL_PER_CLASS`` in test, and the rest in a training pool; ``n_max`` is the smallest pool
    (so every class can supply it) and class ``i`` keeps the first ``n_i`` images of its pool
    (:func:`longtail_class_sizes`). With ``matched_balanced`` every class instead keeps
    ``sum(n_i) // C`` images: a balanced training set of (about) the long-tailed one's size,
    the control that separates "less data" from "a skewed prior".
    """
    check_bool("matched_balanced", matched_balanced)
    # imported here: scikit-learn takes about 2 s to import, which every command line and
    # every sweep worker of the names data would pay for nothing
    from sklearn.datasets import load_digits

    digits = load_digits()
    features = torch.from_numpy(digits.data / 16.0).float()
    labels = torch.from_numpy(digits.target).long()
    classes = [str(c) for c in digits.target_names]
    rng = np.random.default_rng(seed)

    val, test, pools = [], [], []
    for c in range(len(classes)):
        rows = rng.permutation(np.flatnonzero(digits.target == c))
        val.append(rows[:EVAL_PER_CLASS])
        test.append(rows[EVAL_PER_CLASS : 2 * EVAL_PER_CLASS])
        pools.append(rows[2 * EVAL_PER_CLASS :])
    n_max = min(len(pool) for pool in pools)
    sizes = longtail_class_sizes(n_max, len(classes), imbalance_ratio)
    if matched_balanced:
        sizes = [sum(sizes) // len(classes)] * len(classes)
    train = [pool[:size] for pool, size in zip(pools, sizes)]

    def part(chosen: list[np.ndarray]) -> TensorSplit:
        rows = torch.from_numpy(np.sort(np.concatenate(chosen)))
        return TensorSplit(x=features[rows], y=labels[rows])

    return PreparedData(
        train=part(train),
        val=part(val),
        test=part(test),
        class_names=classes,
        kind="features",
        input_size=features.shape[1],
        info={
            "imbalance_ratio": float(imbalance_ratio),
            "matched_balanced": matched_balanced,
            "seed": seed,
            "n_max": n_max,
            "class_sizes": sizes,
            "eval_per_class": EVAL_PER_CLASS,
            "head_classes": "fixed by class order: digit 0 is the head, digit 9 the tail",
        },
    )
