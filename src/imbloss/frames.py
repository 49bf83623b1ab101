"""Tidy frames of saved runs, for the book's figures and checks: the validation curves of
each run (:func:`learning_curves`, :func:`history_frame`), how much the last quarter of
training added (:func:`last_quarter_gain`), and the test confusion matrices pooled over
runs (:func:`pooled_confusion`, :func:`row_normalized`, :func:`block_confusion_rate`).
:mod:`imbloss.plots` draws them; :mod:`imbloss.comparison` makes the experiment's tables."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from imbloss.checks import check_choice
from imbloss.runs import TARGET_METRICS, RunResult, condition, loss_label, loss_params


def learning_curves(results: Sequence[RunResult], metric: str = "macro_f1") -> pd.DataFrame:
    """Validation ``metric`` epoch by epoch: one row per (run, epoch) with ``condition``,
    ``params``, ``seed``, ``epoch`` and ``val_<metric>``, from each run's history."""
    check_choice("metric", metric, TARGET_METRICS)
    rows = [
        {
            "condition": condition(result.config),
            "params": loss_params(result.config),
            "seed": result.config["seed"],
            "epoch": epoch["epoch"],
            f"val_{metric}": epoch[f"val_{metric}"],
        }
        for result in results
        for epoch in result.history
    ]
    return pd.DataFrame(rows)


def last_quarter_gain(result: RunResult, metric: str = "macro_f1") -> float:
    """Best validation ``metric`` over all epochs minus the best over the first three quarters.

    A converged budget leaves this near 0: the last quarter of training adds little.
    """
    check_choice("metric", metric, TARGET_METRICS)
    scores = [epoch[f"val_{metric}"] for epoch in result.history]
    cut = max(1, int(0.75 * len(scores)))
    return float(max(scores) - max(scores[:cut]))


def _as_results(results: Sequence[RunResult] | RunResult) -> list[RunResult]:
    if isinstance(results, RunResult):
        return [results]
    results = list(results)
    if not results or not all(isinstance(r, RunResult) for r in results):
        raise ValueError("results must be one RunResult or a non-empty sequence of them")
    return results


def history_frame(results: Sequence[RunResult] | RunResult) -> pd.DataFrame:
    """One row per run and epoch: ``run_id``, ``loss``, ``label``, ``seed`` and the history.

    The history columns are those of :class:`~imbloss.train.RunResult` (``epoch``,
    ``train_loss``, ``val_accuracy``, ``val_macro_f1``, ``easy_grad_share``,
    ``head_grad_share``, ``mean_p_t``, ``train_s``).
    """
    rows = []
    for result in _as_results(results):
        ident = {
            "run_id": result.run_id,
            "loss": result.config["loss"],
            "label": loss_label(result.config),
            "seed": result.config["seed"],
        }
        rows.extend({**ident, **epoch} for epoch in result.history)
    return pd.DataFrame(rows)


def pooled_confusion(results: Sequence[RunResult] | RunResult) -> pd.DataFrame:
    """The test confusion matrices of ``results`` summed (rows: true class, columns: predicted).

    Runs with different seeds are scored on different test splits; the sum pools their
    test examples. All runs must share the class names.
    """
    results = _as_results(results)
    names = results[0].test_metrics["class_names"]
    if any(r.test_metrics["class_names"] != names for r in results):
        raise ValueError("the runs do not share their class names; cannot pool them")
    total = sum(np.asarray(r.test_metrics["confusion_matrix"], dtype=np.int64) for r in results)
    frame = pd.DataFrame(total, index=names, columns=names)
    frame.index.name, frame.columns.name = "true", "predicted"
    return frame


def block_confusion_rate(confusion: pd.DataFrame, block: Sequence[str]) -> float:
    """How often the classes of ``block`` are mistaken for one another, on a 0..1 scale.

    For each class of ``block``: the share of its test examples predicted as *another*
    class of ``block``; then the mean over the classes. ``confusion`` is a labelled
    confusion matrix (:func:`pooled_confusion`). Each class counts equally, whatever its
    size, so the number is the same under the natural test distribution and under a
    class-uniform draw of test examples (the rows are normalised first). For
    ``block = ["English", "French", "Dutch"]`` it is the mean off-diagonal row mass of
    the 3 x 3 block of a row-normalised confusion matrix.
    """
    block = list(block)
    missing = [c for c in block if c not in confusion.index]
    if missing or len(block) < 2:
        raise ValueError(
            f"block must name at least two classes of the matrix; unknown {missing} "
            f"(classes: {list(confusion.index)})"
        )
    sub = row_normalized(confusion).loc[block, block].to_numpy(dtype=float)
    return float((sub.sum(axis=1) - np.diag(sub)).mean())


def row_normalized(confusion: pd.DataFrame) -> pd.DataFrame:
    """``confusion`` with each row divided by its total (a row of zeros stays zeros): the
    share of each true class predicted as each class."""
    totals = confusion.sum(axis=1).replace(0, np.nan)
    return confusion.div(totals, axis=0).fillna(0.0)
