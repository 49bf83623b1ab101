"""The tidy frames the book's figures draw (imbloss.results): built from hand-made run
records, so each number can be checked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from imbloss.frames import block_confusion_rate, history_frame, pooled_confusion, row_normalized
from imbloss.runs import RunResult

NAMES = ["a", "b", "c"]


def _result(seed: int, confusion: list[list[int]], epochs: int = 2) -> RunResult:
    test = {"class_names": NAMES, "confusion_matrix": confusion}
    return RunResult(
        run_id=f"focal-s{seed}",
        config={"loss": "focal", "loss_kwargs": {"gamma": 2.0}, "seed": seed},
        selections={"macro_f1": {"best_epoch": epochs, "val_metrics": {}, "test_metrics": test}},
        history=[{"epoch": e, "train_loss": 1.0 / e} for e in range(1, epochs + 1)],
        head_classes=[],
        class_counts=[10, 5, 2],
        timings={},
        versions={},
        device="cpu",
    )


def test_history_frame_has_a_row_per_run_and_epoch_with_its_label() -> None:
    frame = history_frame([_result(0, np.eye(3, dtype=int).tolist(), 2), _result(1, [[1]], 3)])
    assert len(frame) == 5
    assert set(frame["label"]) == {"focal(gamma=2.0)"}
    assert frame.groupby("seed")["epoch"].max().to_dict() == {0: 2, 1: 3}


def test_pooled_confusion_sums_the_runs_test_matrices() -> None:
    first, second = [[5, 1, 0], [2, 3, 0], [0, 1, 1]], [[4, 0, 1], [0, 5, 0], [1, 0, 2]]
    pooled = pooled_confusion([_result(0, first), _result(1, second)])
    np.testing.assert_array_equal(pooled.to_numpy(), np.add(first, second))
    assert list(pooled.index) == NAMES and pooled.index.name == "true"


def test_block_confusion_rate_is_the_mean_off_diagonal_row_share() -> None:
    confusion = pd.DataFrame([[6, 2, 2], [1, 1, 0], [0, 0, 4]], index=NAMES, columns=NAMES)
    # rows normalised: a -> b 0.2, b -> a 0.5; the mean over a and b is 0.35, whatever c does
    assert block_confusion_rate(confusion, ["a", "b"]) == pytest.approx(0.35)
    assert row_normalized(confusion).sum(axis=1).tolist() == pytest.approx([1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match=r"unknown \['z'\]"):
        block_confusion_rate(confusion, ["a", "z"])
