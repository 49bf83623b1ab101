"""The book's figures, and the tidy frames they are drawn from.

Frames (pandas only, no plotting library needed):

* :func:`history_frame`: one row per run and epoch, from :attr:`RunResult.history
  <imbloss.train.RunResult>` (loss, validation scores, gradient shares).
* :func:`per_class_frame`: one row per run and class: training count, test
  support, precision, recall, F1.
* :func:`pooled_confusion`: the test confusion matrices of several runs summed, as a
  labelled DataFrame (true class in rows, predicted class in columns).
* :func:`block_confusion_rate`: how often the classes of a set are mistaken for one
  another.
* :func:`selected_labels`: per loss, the setting with the best validation score.

Figures (matplotlib and seaborn, the ``plots`` extra): :func:`confusion_heatmaps`,
:func:`recall_vs_frequency`, :func:`mean_curves` and :func:`bin_histograms`. Each
draws on axes it is given or creates, and returns the figure; the caller glues and
closes it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from imbloss.runs import RunResult, loss_label


def _results(results: Sequence[RunResult] | RunResult) -> list[RunResult]:
    if isinstance(results, RunResult):
        return [results]
    results = list(results)
    if not results or not all(isinstance(r, RunResult) for r in results):
        raise ValueError("results must be one RunResult or a non-empty sequence of them")
    return results


# --- frames ----------------------------------------------------------------------------------


def history_frame(results: Sequence[RunResult] | RunResult) -> pd.DataFrame:
    """One row per run and epoch: ``run_id``, ``loss``, ``label``, ``seed`` and the history.

    The history columns are those of :class:`~imbloss.train.RunResult` (``epoch``,
    ``train_loss``, ``val_accuracy``, ``val_macro_f1``, ``easy_grad_share``,
    ``head_grad_share``, ``mean_p_t``, ``train_s``).
    """
    rows = []
    for result in _results(results):
        ident = {
            "run_id": result.run_id,
            "loss": result.config["loss"],
            "label": loss_label(result.config),
            "seed": result.config["seed"],
        }
        rows.extend({**ident, **epoch} for epoch in result.history)
    return pd.DataFrame(rows)


def per_class_frame(results: Sequence[RunResult] | RunResult) -> pd.DataFrame:
    """One row per run and class: ``train_count`` (training examples), ``train_share``,
    test ``support``, ``precision``, ``recall`` and ``f1``, with the run's ``loss``,
    ``label`` and ``seed``."""
    rows = []
    for result in _results(results):
        names = result.test_metrics["class_names"]
        counts = np.asarray(result.class_counts, dtype=float)
        for i, name in enumerate(names):
            scores = result.test_metrics["per_class"][name]
            rows.append(
                {
                    "run_id": result.run_id,
                    "loss": result.config["loss"],
                    "label": loss_label(result.config),
                    "seed": result.config["seed"],
                    "class": name,
                    "train_count": int(counts[i]),
                    "train_share": counts[i] / counts.sum(),
                    **scores,
                }
            )
    return pd.DataFrame(rows)


def pooled_confusion(results: Sequence[RunResult] | RunResult) -> pd.DataFrame:
    """The test confusion matrices of ``results`` summed (rows: true class, columns: predicted).

    Runs with different seeds are scored on different test splits; the sum pools their
    test examples. All runs must share the class names.
    """
    results = _results(results)
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
    sub = _row_normalized(confusion).loc[block, block].to_numpy(dtype=float)
    return float((sub.sum(axis=1) - np.diag(sub)).mean())


def selected_labels(runs: pd.DataFrame, metric: str = "val_macro_f1") -> dict[str, str]:
    """For each loss, the label (loss and hyperparameters) with the best mean ``metric``.

    ``runs`` is a :func:`imbloss.sweep.results_frame`. With one setting per loss (the
    ``ci`` profile) this is the identity; with a grid (``full``) it is model selection
    on the validation score, never on test. Keys follow the order of first appearance.
    """
    if metric not in runs.columns:
        raise ValueError(f"metric={metric!r} is not a column; columns are {list(runs.columns)}")
    means = runs.groupby(["loss", "label"], sort=False)[metric].mean().reset_index()
    best = means.loc[means.groupby("loss", sort=False)[metric].idxmax()]
    order = list(dict.fromkeys(runs["loss"]))
    return dict(sorted(zip(best["loss"], best["label"]), key=lambda kv: order.index(kv[0])))


def _row_normalized(confusion: pd.DataFrame) -> pd.DataFrame:
    totals = confusion.sum(axis=1).replace(0, np.nan)
    return confusion.div(totals, axis=0).fillna(0.0)


# --- figures ---------------------------------------------------------------------------------


#: What to run when the plotting libraries are missing.
PLOTS_INSTALL = 'pip install "imbloss[plots]"'


def _plotting():
    """``(matplotlib.pyplot, seaborn)``, or an ImportError that names the install command."""
    try:
        import matplotlib.pyplot as plt
        import seaborn as sns
    except ImportError as error:
        raise ImportError(
            f"imbloss.plots draws with matplotlib and seaborn ({error.name} is not installed); "
            f"install them with: {PLOTS_INSTALL}"
        ) from error
    return plt, sns


def _axes(ax, ncols: int = 1, figsize=(5, 3.4)):
    plt, _ = _plotting()

    if ax is not None:
        return ax.figure, ax
    fig, ax = plt.subplots(1, ncols, figsize=figsize)
    return fig, ax


def confusion_heatmaps(
    matrices: Mapping[str, pd.DataFrame],
    classes: Sequence[str] | None = None,
    *,
    annotate: bool = True,
    cmap: str = "Blues",
    panel_size: float = 3.3,
):
    """Row-normalised confusion matrices side by side (seaborn heatmaps), one per title.

    ``matrices`` maps a panel title to a labelled confusion matrix
    (:func:`pooled_confusion`). Each row is divided by its total over *all* classes
    before ``classes`` (a subset, in the order given) is cut out, so a cell is the share
    of that true class predicted as that class, and a row of the zoom can sum to less
    than 1. One colour scale (0 to the largest cell shown) is shared by all panels.
    """
    plt, sns = _plotting()

    if not matrices:
        raise ValueError("matrices is empty; expected {title: confusion DataFrame}")
    shown = {}
    for title, confusion in matrices.items():
        normalized = _row_normalized(confusion)
        keep = list(classes) if classes is not None else list(normalized.index)
        missing = [c for c in keep if c not in normalized.index]
        if missing:
            raise ValueError(f"classes {missing} are not in the matrix {title!r}")
        shown[title] = normalized.loc[keep, keep]
    vmax = max(float(m.to_numpy().max()) for m in shown.values())
    n = len(shown)
    size = panel_size if classes is not None else panel_size * 1.6
    fig, axes = plt.subplots(
        1,
        n + 1,
        figsize=(size * n + 0.9, size),
        gridspec_kw={"width_ratios": [1] * n + [0.05]},
    )
    for i, (ax, (title, matrix)) in enumerate(zip(axes[:n], shown.items())):
        sns.heatmap(
            matrix,
            ax=ax,
            vmin=0,
            vmax=vmax,
            cmap=cmap,
            annot=annotate,
            fmt=".2f",
            annot_kws={"size": 8},
            square=True,
            cbar=i == n - 1,
            cbar_ax=axes[n] if i == n - 1 else None,
            linewidths=0.5,
            linecolor="white",
        )
        ax.grid(False)
        ax.set_title(title)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true" if i == 0 else "")
        ax.tick_params(axis="y", labelrotation=0)
        if i > 0:
            ax.set_yticklabels([])
        ax.tick_params(axis="x", labelrotation=45)
        for label in ax.get_xticklabels():
            label.set_horizontalalignment("right")
    axes[n].set_ylabel("share of the true class")
    fig.tight_layout()
    return fig


def recall_vs_frequency(per_class: pd.DataFrame, labels: Sequence[str] | None = None, ax=None):
    """Test recall of every class against its training count (log scale), mean over seeds.

    ``per_class`` is a :func:`per_class_frame`; ``labels`` picks and orders the losses
    (default: all). One marker per class and loss (error bar: standard deviation over
    seeds; the losses are spread slightly along x so that they do not hide each other)
    and, per loss, the least-squares line of recall on ``log10(count)``.
    """
    fig, ax = _axes(ax, figsize=(6.5, 3.8))
    labels = list(labels) if labels is not None else list(dict.fromkeys(per_class["label"]))
    for i, label in enumerate(labels):
        rows = per_class[per_class["label"] == label]
        if rows.empty:
            known = sorted(set(per_class["label"]))
            raise ValueError(f"no rows with label {label!r}; labels are {known}")
        stats = rows.groupby("class").agg(
            count=("train_count", "mean"), recall=("recall", "mean"), std=("recall", "std")
        )
        spread = 1 + 0.035 * (i - (len(labels) - 1) / 2)
        ax.errorbar(
            stats["count"] * spread,
            stats["recall"],
            yerr=stats["std"].fillna(0),
            fmt="o",
            ms=3.5,
            lw=0.8,
            capsize=1.5,
            color=f"C{i}",
            label=label,
        )
        slope, intercept = np.polyfit(np.log10(stats["count"]), stats["recall"], 1)
        x = np.array([stats["count"].min(), stats["count"].max()])
        ax.plot(x, intercept + slope * np.log10(x), color=f"C{i}", lw=1.2, alpha=0.8)
    ax.set(xscale="log", xlabel="training examples of the class", ylabel="test recall")
    ax.set_ylim(-0.03, 1.03)
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    return fig


def mean_curves(
    frame: pd.DataFrame,
    x: str,
    y: str,
    hue: str = "label",
    *,
    order: Sequence[str] | None = None,
    highlight: Sequence[str] = (),
    band: bool = True,
    ax=None,
):
    """``y`` against ``x``, one line per ``hue`` value: the mean over rows (seeds), with a
    band of ± one standard deviation. Lines named in ``highlight`` are drawn thicker, the
    others thin and light; ``order`` picks and orders the lines (default: all)."""
    fig, ax = _axes(ax)
    order = list(order) if order is not None else list(dict.fromkeys(frame[hue]))
    for i, key in enumerate(order):
        rows = frame[frame[hue] == key]
        if rows.empty:
            raise ValueError(f"no rows with {hue}={key!r}")
        stats = rows.groupby(x)[y].agg(["mean", "std"]).sort_index()
        strong = not highlight or key in highlight
        ax.plot(
            stats.index,
            stats["mean"],
            marker="o" if len(stats) < 12 else None,
            ms=3,
            lw=2 if strong else 1,
            alpha=1 if strong else 0.45,
            color=f"C{i % 10}",
            ls="-" if i < 10 else "--",
            label=key,
        )
        if band and strong:
            ax.fill_between(
                stats.index,
                stats["mean"] - stats["std"].fillna(0),
                stats["mean"] + stats["std"].fillna(0),
                color=f"C{i % 10}",
                alpha=0.15,
                lw=0,
            )
    ax.set(xlabel=x, ylabel=y)
    ax.legend(fontsize=7, ncol=2)
    return fig


def bin_histograms(counts: Mapping[str, Sequence[float]], edges: Sequence[float], ax=None):
    """Histograms over the same bins, one outlined step line per key (e.g. per epoch), as
    shares of their total, on a log scale."""
    fig, ax = _axes(ax)
    edges = np.asarray(edges, dtype=float)
    for i, (key, values) in enumerate(counts.items()):
        values = np.asarray(values, dtype=float)
        if len(values) != len(edges) - 1:
            raise ValueError(f"{key!r}: {len(values)} counts for {len(edges) - 1} bins")
        share = values / values.sum()
        ax.stairs(np.where(share > 0, share, np.nan), edges, lw=1.8, color=f"C{i}", label=key)
    ax.set(yscale="log", xlabel="$g = 1 - p_t$", ylabel="share of the examples")
    ax.legend(fontsize=8)
    return fig
