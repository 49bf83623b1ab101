"""Every condition against cross-entropy, seed by seed: the experiment's comparison tables.

:func:`comparison_table` pairs every row of one context of a
:func:`imbloss.results.results_frame` with plain cross-entropy on the same seed: mean
difference, its Student-t interval, a paired t-test and the minimum detectable effect at
80 % power (:mod:`imbloss.stats`). The design is fixed before the answer: the *primary*
family (:func:`primary_rows`) holds one contrast per condition, its setting chosen on
validation (:func:`imbloss.results.choose_settings`) against CE, plus CE's other rules
(post-hoc ``τ``, classifier re-training, τ-normalisation, tuned weight decay); Holm's
correction runs over that family only, and every other row (defaults that validation did
not keep, the post-hoc rows of the losses) is descriptive: an interval, no test.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from imbloss import stats
from imbloss.checks import check_choice
from imbloss.results import SHOWN_SETTINGS, choose_settings
from imbloss.runs import TARGET_METRICS, label

BASELINE = "ce"
POST_HOC = "post-hoc τ"
# the rules on plain CE's trained models that the primary family holds beside the losses:
# post-hoc logit adjustment, classifier re-training and τ-normalisation (Kang et al. 2020)
CE_RULES = (POST_HOC, "cRT", "τ-norm")
# the column of the results frame that holds each rule's score for target metric m
RULE_COLUMNS = {POST_HOC: "{metric}_posthoc", "cRT": "{metric}_crt", "τ-norm": "{metric}_taunorm"}


def comparison_table(
    frame: pd.DataFrame,
    metric: str,
    tune_seeds: Sequence[int] | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Every condition against cross-entropy, seed by seed, for one target ``metric``.

    ``frame`` holds one context (same data, model and budget; see
    :func:`results_frame`), with post-hoc columns. Rows, per condition: ``default``
    (its own default keywords), ``tuned`` (the keywords :func:`choose_settings` picks on
    ``tune_seeds``,
    left out when they are the default's) and ``tuned + post-hoc τ``; cross-entropy
    has ``CE`` (the baseline), ``post-hoc τ``, ``cRT`` and ``τ-norm`` (where its runs have the
    decoupled baselines, :mod:`imbloss.decoupled`) and ``tuned`` (where its grid tunes
    the weight decay). Columns: ``condition``, ``row``, ``params``,
    ``n`` (pairs with CE tested), ``mean`` (test), ``val_mean`` (the same rule's
    validation score, the only one a practitioner can choose by), ``std``, ``diff`` (mean
    paired difference from plain CE),
    ``ci_low`` / ``ci_high`` (its t-interval), ``wins`` (seeds where the row beats CE),
    ``primary`` (the row is in :func:`primary_rows`' family), ``p`` (paired t-test),
    ``p_holm`` (Holm-corrected over the primary family; nan for descriptive rows),
    ``mde`` (the smallest mean difference the test finds with 80 % power,
    :func:`imbloss.stats.paired_mde`, at level ``α / m`` for the ``m`` rows of the primary
    family, Holm's first step, and at ``α`` for the others); ``n`` counts the pairs tested,
    and with fewer than :data:`imbloss.stats.MIN_PAIRS` there is no interval, p or MDE,
    and ``note`` says why), and for post-hoc rows
    ``diff_posthoc_ce`` (the difference from CE + post-hoc τ: what training with the loss
    adds beyond moving the threshold).
    """
    check_choice("metric", metric, TARGET_METRICS)
    if frame["context"].nunique() != 1:
        raise ValueError(
            f"frame must hold one context (one dataset and budget); got "
            f"{frame['context'].nunique()}: select rows of one experiment first"
        )
    _check_one_setting(frame)
    chosen = choose_settings(frame, metric, tune_seeds).set_index("condition")["params"]
    if BASELINE not in chosen.index:
        raise ValueError(f"frame has no {BASELINE!r} runs to compare with")
    by_seed = frame.set_index("seed")
    ce = by_seed[(by_seed["condition"] == BASELINE) & (by_seed["params"] == "")]
    # the column of each decision rule's score; "" is the model's own argmax
    columns = {rule: template.format(metric=metric) for rule, template in RULE_COLUMNS.items()}
    columns[""] = metric
    ce_plain, ce_posthoc = ce[metric], ce[columns[POST_HOC]]

    rows = []

    def add(name: str, kind: str, params: str, rule: str = "") -> None:
        runs = by_seed[(by_seed["condition"] == name) & (by_seed["params"] == params)]
        column = columns[rule]
        values = runs[column]
        paired = pd.concat([values.rename("value"), ce_plain.rename("ce")], axis=1).dropna()
        diff = (paired["value"] - paired["ce"]).to_numpy()
        row = {
            "condition": name,
            "row": kind,
            "params": params,
            "n": len(diff),
            "mean": float(values.mean()),
            "val_mean": float(runs[f"val_{column}"].mean()),
            "std": float(values.std(ddof=1)) if len(values) > 1 else float("nan"),
            "diff": float(diff.mean()) if len(diff) else float("nan"),
            "ci_low": float("nan"),
            "ci_high": float("nan"),
            "wins": int((diff > 0).sum()),
            "sd_diff": float(diff.std(ddof=1)) if len(diff) > 1 else float("nan"),
            "p": float("nan"),
            "diff_posthoc_ce": float("nan"),
            "note": "",
        }
        if kind != "CE" and len(diff) >= stats.MIN_PAIRS:
            row["ci_low"], row["ci_high"] = stats.t_interval(diff, confidence)
            row["p"] = stats.paired_t_p(diff)
        elif kind != "CE":
            row["note"] = f"{len(diff)} paired seed(s): no interval or p below {stats.MIN_PAIRS}"
        if rule == POST_HOC and name != BASELINE:
            both = pd.concat([values.rename("v"), ce_posthoc.rename("c")], axis=1).dropna()
            row["diff_posthoc_ce"] = float((both["v"] - both["c"]).mean())
        rows.append(row)

    add(BASELINE, "CE", "")
    add(BASELINE, POST_HOC, "", POST_HOC)
    if columns["cRT"] in frame and ce[columns["cRT"]].notna().any():
        add(BASELINE, "cRT", "", "cRT")
        add(BASELINE, "τ-norm", "", "τ-norm")
    if chosen[BASELINE] != "":
        add(BASELINE, "tuned", chosen[BASELINE])
    for name in [c for c in chosen.index if c != BASELINE]:
        add(name, "default", "")
        if chosen[name] != "":
            add(name, "tuned", chosen[name])
        add(name, f"tuned + {POST_HOC}", chosen[name], POST_HOC)
    table = pd.DataFrame(rows)
    table["primary"] = primary_rows(table)
    tested = table["p"].notna()
    family = tested & table["primary"]
    table["p_holm"] = np.nan
    table.loc[family, "p_holm"] = stats.holm(table.loc[family, "p"].to_numpy())
    alpha = 1 - confidence
    table["mde"] = [
        stats.paired_mde(row.sd_diff, row.n, alpha / max(1, family.sum()) if row.primary else alpha)
        if tested[i]
        else np.nan
        for i, row in zip(table.index, table.itertuples())
    ]
    table.attrs["metric"] = metric
    table.attrs["family_size"] = int(family.sum())
    return table


def primary_rows(table: pd.DataFrame) -> pd.Series:
    """The pre-registered primary family of a :func:`comparison_table`: per condition
    other than CE, the row of the setting validation chose (``tuned``, or ``default``
    when validation kept the default); CE's own :data:`CE_RULES` (post-hoc ``τ``, and the
    decoupled classifiers where the runs have them); and CE with the weight decay validation
    chose, where it tuned one. A boolean Series on ``table``'s index; these are the rows a
    reader compares, one per rule."""
    tuned = set(table.loc[table["row"] == "tuned", "condition"])
    chosen = (table["row"] == "tuned") | (
        (table["row"] == "default") & ~table["condition"].isin(tuned)
    )
    return chosen | table["row"].isin(CE_RULES)


def paired_differences(frame: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """Per primary row of ``table`` (:func:`primary_rows`) and seed, the test score minus
    plain CE's on that seed: columns ``label`` (:func:`rule_label`), ``condition``, ``rule``
    (:func:`rule_of`), ``seed``, ``diff``.

    ``frame`` holds the runs ``table`` was made from (:func:`comparison_table`, whose
    ``diff`` is the mean of these).
    """
    metric = table.attrs["metric"]
    runs = frame.set_index("seed")
    ce = runs[(runs["condition"] == BASELINE) & (runs["params"] == "")][metric]
    out = []
    for _, row in table[primary_rows(table)].iterrows():
        column = RULE_COLUMNS.get(rule_of(row), "").format(metric=metric) or metric
        mine = runs[(runs["condition"] == row["condition"]) & (runs["params"] == row["params"])]
        for seed, diff in (mine[column] - ce).dropna().items():
            out.append(
                {
                    "label": rule_label(row),
                    "condition": row["condition"],
                    "rule": rule_of(row),
                    "seed": seed,
                    "diff": float(diff),
                }
            )
    return pd.DataFrame(out, columns=["label", "condition", "rule", "seed", "diff"])


def rule_of(row) -> str:
    """The decision rule of a :func:`comparison_table` row beyond its trained model:
    ``"post-hoc τ"``, ``"cRT"``, ``"τ-norm"``, or ``""`` for the model's own argmax."""
    kind = row["row"]
    return POST_HOC if kind.endswith(POST_HOC) else kind if kind in CE_RULES else ""


def rule_label(row) -> str:
    """A row of a :func:`comparison_table` as the rule a practitioner would apply
    (:func:`imbloss.runs.label`): ``"ce"``, ``"ce + post-hoc τ"``, ``"ce + cRT"``,
    ``"focal(gamma=5.0)"``, ``"cb_ce(beta=0.99) + post-hoc τ"``."""
    return label(row["condition"], row["params"], rule=rule_of(row))


def pick_on_validation(table: pd.DataFrame, candidates: pd.Series | None = None) -> pd.DataFrame:
    """The rows of ``table`` (where ``candidates`` is True; by default all) ranked by their
    mean *validation* score, best first: the choice a practitioner can make. The sort is
    stable, so a tie keeps the table's order (CE before CE + post-hoc ``τ``, a condition's
    trained row before its post-hoc row): the simpler rule wins a tie."""
    rows = table if candidates is None else table[candidates]
    return rows.sort_values("val_mean", ascending=False, kind="stable")


def _check_one_setting(frame: pd.DataFrame) -> None:
    """Refuse a frame where one condition and grid point holds a seed twice: runs of
    different settings (another ``lr_schedule``, ...) would be pooled as one."""
    keys = ["condition", "params", "seed"]
    twice = frame[frame.duplicated(keys, keep=False)]
    if twice.empty:
        return
    first = twice.iloc[0]
    same = twice[(twice[keys] == first[keys]).all(axis=1)]
    differ = [c for c in SHOWN_SETTINGS if c in same and same[c].astype(str).nunique() > 1]
    said = (
        f"{differ[0]} takes {sorted(same[differ[0]].astype(str).unique())}"
        if differ
        else "their configs differ in a field not shown"
    )
    raise ValueError(
        f"frame holds {first['condition']}({first['params']}) seed {first['seed']} "
        f"{len(same)} times, from runs of different settings ({said}); "
        "select the runs of one setting first"
    )
