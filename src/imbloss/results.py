"""From saved runs to tidy scores: one row per run, and the settings validation chooses.

The selection rules, all on validation, never on test, and separate for each target
metric ``m`` of :data:`imbloss.runs.TARGET_METRICS`:

* the epoch: the one with the best validation ``m`` (done by the trainer);
* a loss's hyperparameters (:func:`choose_settings`): the grid point with the best
  mean validation ``m`` over the seeds that every grid point of that condition ran;
* the post-hoc ``τ`` and τ-normalisation's ``τ`` (:mod:`imbloss.posthoc`): the best
  validation ``m`` per run.

:mod:`imbloss.comparison` pairs the rows of :func:`results_frame` with cross-entropy.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from imbloss import posthoc, scores
from imbloss.checks import check_choice
from imbloss.frames import (  # noqa: F401 - the tidy frames, importable from here too
    block_confusion_rate,
    history_frame,
    last_quarter_gain,
    learning_curves,
    pooled_confusion,
    row_normalized,
)
from imbloss.runs import (
    TARGET_METRICS,
    Predictions,
    RunResult,
    condition,
    config_digest,
    loss_label,
    loss_params,
)
from imbloss.store import RunStore

# Config fields that define a condition (with the loss and its keywords); runs that agree
# on everything else (the data, the model, the budget) are compared with each other.
CONDITION_FIELDS = (
    "loss", "loss_kwargs", "drw_start", "classifier", "lr_schedule", "sampler", "weight_decay",
)  # fmt: skip
# the condition's fields beyond the loss: columns of the results frame, so that runs that
# differ only in them are told apart (comparison_table refuses to pool them)
SHOWN_SETTINGS = ("drw_start", "classifier", "lr_schedule", "sampler", "weight_decay")


def _check_metric(metric: str) -> None:
    check_choice("metric", metric, TARGET_METRICS)


def results_frame(
    results: Sequence[RunResult],
    experiments: dict[str, str] | None = None,
    store: RunStore | None = None,
) -> pd.DataFrame:
    """One tidy row per run: its config, its scores per target metric, diagnostics and timings.

    Columns: ``run_id``, ``experiment`` (when ``experiments`` maps run ids to names),
    ``dataset``, one column per dataset keyword, ``condition``, ``loss``, ``params``
    (``"gamma=2.0"``), ``label`` (``"focal(gamma=2.0)"``), ``seed``, ``epochs``,
    :data:`SHOWN_SETTINGS`; for
    each target metric ``m``: ``m`` (test score at the epoch selected by validation
    ``m``), ``val_m``, ``best_epoch_m`` and, when a :class:`~imbloss.store.RunStore` ``store`` holds
    the runs' predictions, ``m_posthoc`` (test score after post-hoc adjustment),
    ``val_m_posthoc`` and ``tau_m`` (its τ, chosen on validation), and the test
    calibration of :func:`calibration_scores`; ``accuracy`` at the
    macro-F1 epoch;
    ``easy_grad_share``, ``head_grad_share``, ``mean_p_t`` at that epoch; ``train_s``,
    ``total_s``, ``examples_per_s``, ``device``; and the grouping keys ``group`` (the
    config less its seed) and ``context`` (less the seed and the condition's fields).
    """
    rows = []
    for result in results:
        config = result.config
        best = result.history[result.best_epoch - 1]
        row = {"run_id": result.run_id}
        if experiments is not None:
            row["experiment"] = experiments.get(result.run_id, "")
        row.update(
            {
                "dataset": config["dataset"],
                **{k: v for k, v in config["dataset_kwargs"].items() if k != "seed"},
                "condition": condition(config),
                "loss": config["loss"],
                "params": loss_params(config),
                "label": loss_label(config),
                "seed": config["seed"],
                "epochs": config["epochs"],
                **{k: config.get(k) for k in SHOWN_SETTINGS},
                "accuracy": result.test_metrics["accuracy"],
            }
        )
        for metric in TARGET_METRICS:
            chosen = result.selections[metric]
            row[metric] = chosen["test_metrics"][metric]
            row[f"val_{metric}"] = chosen["val_metrics"][metric]
            row[f"best_epoch_{metric}"] = chosen["best_epoch"]
        if store is not None:
            predictions = store.predictions(result.run_id)
            row.update(posthoc_scores(predictions))
            row.update(calibration_scores(predictions, row))
            row.update(decoupled_scores(predictions))
        row.update(
            {
                "easy_grad_share": best["easy_grad_share"],
                "head_grad_share": best["head_grad_share"],
                "mean_p_t": best["mean_p_t"],
                "train_s": result.timings["train_s"],
                "total_s": result.timings["total_s"],
                "examples_per_s": result.timings["examples_per_s"],
                "device": result.device,
                "group": config_digest(config, drop=("seed",)),
                "context": config_digest(config, drop=("seed", *CONDITION_FIELDS)),
            }
        )
        rows.append(row)
    return pd.DataFrame(rows)


def posthoc_scores(predictions: Predictions) -> dict[str, float]:
    """``{m_posthoc, val_m_posthoc, tau_m}`` per target metric: τ chosen on validation
    (``val_m_posthoc`` is its validation score), ``m_posthoc`` its test score."""
    out = {}
    counts = predictions.class_counts
    for metric in TARGET_METRICS:
        logits = {s: z.astype(np.float32) for s, z in predictions.logits[metric].items()}
        tau, val_score = posthoc.choose_tau(
            logits["val"], predictions.labels["val"], counts, metric
        )
        predicted = posthoc.adjusted_predictions(logits["test"], counts, tau)
        num_classes = logits["test"].shape[1]
        out[f"{metric}_posthoc"] = posthoc.score(
            predictions.labels["test"], predicted, metric, num_classes
        )
        out[f"val_{metric}_posthoc"] = val_score
        out[f"tau_{metric}"] = tau
    return out


def decoupled_scores(predictions: Predictions) -> dict[str, float]:
    """The decoupled baselines of a run that has them (:mod:`imbloss.decoupled`), per target
    metric ``m``: ``m_crt`` / ``val_m_crt`` (the re-trained classifier's test and validation
    scores) and ``m_taunorm`` / ``val_m_taunorm`` / ``taunorm_m`` (τ-normalisation, its ``τ``
    chosen on validation); ``{}`` for a run without them."""
    out = {}
    labels = predictions.labels
    for metric in predictions.crt:
        crt = predictions.crt[metric]
        num_classes = crt["test"].shape[1]
        for split, prefix in (("test", ""), ("val", "val_")):
            predicted = crt[split].astype(np.float32).argmax(1)
            out[f"{prefix}{metric}_crt"] = posthoc.score(
                labels[split], predicted, metric, num_classes
            )
        layer = predictions.classifier[metric]
        logits = {s: z.astype(np.float32) for s, z in predictions.logits[metric].items()}
        tau, val_score = posthoc.choose_tau_norm(
            logits["val"], labels["val"], layer["bias"], layer["norms"], metric
        )
        normalized = posthoc.tau_normalized_logits(
            logits["test"], layer["bias"], layer["norms"], tau
        )
        out[f"{metric}_taunorm"] = posthoc.score(
            labels["test"], normalized.argmax(1), metric, num_classes
        )
        out[f"val_{metric}_taunorm"] = val_score
        out[f"taunorm_{metric}"] = tau
    return out


def calibration_scores(predictions: Predictions, taus: dict) -> dict[str, float]:
    """Test calibration per target metric ``m``: ``nll_m`` and ``ece_m``
    (:mod:`imbloss.scores`) of the softmax of the logits at the epoch ``m`` selected, and
    ``nll_m_posthoc`` / ``ece_m_posthoc`` of the same logits shifted by ``−τ log π`` with
    the post-hoc ``τ = taus["tau_m"]``: the probabilities each decision rule implies."""
    out = {}
    prior = posthoc.log_prior(predictions.class_counts)
    labels = predictions.labels["test"]
    for metric in TARGET_METRICS:
        logits = predictions.logits[metric]["test"].astype(np.float64)
        for suffix, z in (("", logits), ("_posthoc", logits - taus[f"tau_{metric}"] * prior)):
            out[f"nll_{metric}{suffix}"] = scores.negative_log_likelihood(z, labels)
            out[f"ece_{metric}{suffix}"] = scores.expected_calibration_error(z, labels)
    return out


def choose_settings(
    frame: pd.DataFrame, metric: str, tune_seeds: Sequence[int] | None = None
) -> pd.DataFrame:
    """Per context and condition, the grid point (``params``) with the best validation ``metric``.

    The mean validation score of each grid point is taken over ``tune_seeds`` (the
    seeds the grid ran on; by default the seeds that every grid point of the
    condition ran), so a choice does not change once it has run on more seeds. Ties go to
    the default
    (``params == ""``), then to the first in sorted order. Columns: ``context``,
    ``condition``, ``params`` (chosen), ``default`` (True when the default won),
    ``tune_seeds`` (their number) and ``val_score``.
    """
    _check_metric(metric)
    rows = []
    for (context, name), runs in frame.groupby(["context", "condition"], sort=False):
        seeds = set.intersection(*(set(g["seed"]) for _, g in runs.groupby("params")))
        if tune_seeds is not None:
            seeds &= set(tune_seeds)
        tuning = runs[runs["seed"].isin(seeds)]
        means = tuning.groupby("params")[f"val_{metric}"].mean()
        order = sorted(means.index, key=lambda p: (-round(means[p], 12), p != "", p))
        rows.append(
            {
                "context": context,
                "condition": name,
                "params": order[0],
                "default": order[0] == "",
                "tune_seeds": len(seeds),
                "val_score": float(means[order[0]]),
            }
        )
    return pd.DataFrame(rows)
