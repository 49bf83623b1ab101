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

One style for every figure of the book:

* :func:`loss_style`: the fixed colour, marker and line style of a loss, from its
  name or its label (``"focal(gamma=2.0)"``, ``"ce + post-hoc τ"``), on the
  colour-blind-safe Okabe–Ito palette (:data:`OKABE_ITO`); a loss keeps its colour in
  every figure.
* :func:`use_book_style`: the book's matplotlib settings and figures at twice the
  screen density (``"retina"`` PNGs in a notebook, 200 dpi when saved).

Figures (matplotlib and seaborn, the ``plots`` extra): :func:`confusion_heatmap`,
:func:`confusion_difference`, :func:`confusion_heatmaps`, :func:`paired_delta`,
:func:`recall_vs_frequency`, :func:`mean_curves` and :func:`bin_histograms`. Each
draws on axes it is given or creates, and returns the figure; the caller glues and
closes it. Without matplotlib and seaborn they raise an ImportError that names
``pip install "imbloss[plots]"``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from imbloss import stats
from imbloss.runs import RunResult, loss_label

# --- one style: a fixed colour and marker per loss -------------------------------------------

#: The Okabe–Ito palette (Okabe & Ito 2008), distinguishable with every common form of
#: colour blindness. Yellow is left out: it is unreadable as a thin line on white.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky blue": "#56B4E9",
    "bluish green": "#009E73",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish purple": "#CC79A7",
    "grey": "#999999",
}

_C = OKABE_ITO
#: Colour, marker and line style of every loss of the experiment, by name: one colour
#: per family (cross-entropy, class weights, focal, GW, GHM-C, logit adjustment,
#: LDAM), a second marker and a dashed line for the family's variant.
LOSS_STYLES: dict[str, dict[str, str]] = {
    "ce": {"color": _C["black"], "marker": "o", "linestyle": "-"},
    "weighted_ce": {"color": _C["sky blue"], "marker": "s", "linestyle": "-"},
    "cb_ce": {"color": _C["sky blue"], "marker": "D", "linestyle": "--"},
    "focal": {"color": _C["vermillion"], "marker": "^", "linestyle": "-"},
    "cb_focal": {"color": _C["vermillion"], "marker": "v", "linestyle": "--"},
    "gw": {"color": _C["reddish purple"], "marker": "P", "linestyle": "-"},
    "gw_seed": {"color": _C["reddish purple"], "marker": "X", "linestyle": "--"},
    "gw_blog": {"color": _C["reddish purple"], "marker": "X", "linestyle": "--"},
    "ghm": {"color": _C["orange"], "marker": "h", "linestyle": "-"},
    "logit_adjusted": {"color": _C["blue"], "marker": "<", "linestyle": "-"},
    "balanced_softmax": {"color": _C["blue"], "marker": ">", "linestyle": "--"},
    "ldam": {"color": _C["bluish green"], "marker": "d", "linestyle": "-"},
    "ldam_drw": {"color": _C["bluish green"], "marker": "*", "linestyle": "--"},
}

#: How a post-hoc adjusted row is labelled: ``"<loss label> + post-hoc τ"``. It takes its
#: loss's colour with the marker and line below.
POST_HOC_SUFFIX = " + post-hoc τ"
POST_HOC_STYLE = {"marker": "x", "linestyle": ":"}

_PARAMS_RE = re.compile(r"\(.*\)$")


def loss_name(label: str) -> str:
    """The loss of a label: ``"focal(gamma=2.0)"`` and ``"focal + post-hoc τ"`` give
    ``"focal"``. Raises ValueError, naming the known losses, for any other name."""
    if not isinstance(label, str):
        raise ValueError(f"a loss label must be a string; got {label!r}")
    name = label.strip()
    if name.endswith(POST_HOC_SUFFIX.strip()):
        name = name[: -len(POST_HOC_SUFFIX.strip())].rstrip(" +")
    name = _PARAMS_RE.sub("", name).strip()
    if name not in LOSS_STYLES:
        raise ValueError(
            f"no style for the loss of label {label!r} (read as {name!r}); "
            f"known losses: {sorted(LOSS_STYLES)}"
        )
    return name


def is_post_hoc(label: str) -> bool:
    """True for a label ``"<loss> + post-hoc τ"``."""
    return isinstance(label, str) and label.strip().endswith(POST_HOC_SUFFIX.strip())


def loss_style(label: str) -> dict[str, str]:
    """``{"color", "marker", "linestyle"}`` of a loss name or label, for ``ax.plot(**...)``.

    Parameter suffixes (``"focal(gamma=2.0)"``) are ignored, so every setting of a loss
    shares its colour; a post-hoc row (``"ce + post-hoc τ"``) keeps its loss's colour
    with the marker ``"x"`` and a dotted line.
    """
    style = dict(LOSS_STYLES[loss_name(label)])
    if is_post_hoc(label):
        style.update(POST_HOC_STYLE)
    return style


def _style_or_cycle(key, i: int) -> dict[str, str]:
    """:func:`loss_style` of ``key`` if it names a loss, else the i-th palette colour."""
    try:
        return loss_style(key)
    except ValueError:
        colors = list(OKABE_ITO.values())
        return {"color": colors[i % len(colors)], "marker": "o", "linestyle": "-"}


#: The book's matplotlib settings (see :func:`use_book_style`).
BOOK_RC = {
    "figure.dpi": 100,
    "savefig.dpi": 200,
    "savefig.bbox": "tight",
    "font.size": 11,
    "axes.titlesize": 11,
    "axes.labelsize": 11,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "legend.fontsize": 9,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": None,  # filled in by use_book_style: the Okabe-Ito colours
}


def use_book_style() -> None:
    """Apply :data:`BOOK_RC` and, inside IPython, show figures as 2x ("retina") PNGs.

    A retina PNG has twice the pixels of its displayed size, and its displayed width is
    stored with it, so the figure stays sharp on high-density screens and phones at the
    size it was drawn.
    """
    plt, _ = _plotting()
    from cycler import cycler

    rc = dict(BOOK_RC, **{"axes.prop_cycle": cycler(color=list(OKABE_ITO.values()))})
    plt.rcParams.update(rc)
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with matplotlib-inline
        return
    if get_ipython() is not None:
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("retina")


def label_line_ends(ax, lines: Mapping[str, tuple[float, float]], *, min_gap: float = 0.05):
    """Write each label at the right end of its line, nudged apart vertically.

    ``lines`` maps a label to the ``(x, y)`` of its last point; labels closer than
    ``min_gap`` (a share of the y range) are moved apart so that none overlaps, and each
    takes its loss's colour where the label names a loss.
    """
    if not lines:
        return
    low, high = ax.get_ylim()
    gap = min_gap * (high - low)
    items = sorted(lines.items(), key=lambda kv: kv[1][1])
    placed: list[float] = []
    for _, (_, y) in items:
        placed.append(y if not placed else max(y, placed[-1] + gap))
    for i, ((label, (x, _)), y_text) in enumerate(zip(items, placed)):
        ax.annotate(
            label,
            (x, y_text),
            xytext=(6, 0),
            textcoords="offset points",
            va="center",
            fontsize=9,
            color=_style_or_cycle(label, i)["color"],
            annotation_clip=False,
        )


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

    ``runs`` is a :func:`imbloss.results.results_frame`. With one setting per loss (the
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
        style = _style_or_cycle(label, i)
        ax.errorbar(
            stats["count"] * spread,
            stats["recall"],
            yerr=stats["std"].fillna(0),
            fmt=style["marker"],
            ms=4.5,
            lw=0.8,
            capsize=1.5,
            color=style["color"],
            label=label,
        )
        slope, intercept = np.polyfit(np.log10(stats["count"]), stats["recall"], 1)
        x = np.array([stats["count"].min(), stats["count"].max()])
        ax.plot(
            x,
            intercept + slope * np.log10(x),
            color=style["color"],
            ls=style["linestyle"],
            lw=1.2,
            alpha=0.8,
        )
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
    direct_labels: bool = False,
    ax=None,
):
    """``y`` against ``x``, one line per ``hue`` value: the mean over rows (seeds), with a
    band of ± one standard deviation. Lines named in ``highlight`` are drawn thicker, the
    others thin and light; ``order`` picks and orders the lines (default: all). A line
    whose key names a loss takes :func:`loss_style`. With ``direct_labels`` the strong
    lines are labelled at their right end (:func:`label_line_ends`) instead of in a
    legend."""
    fig, ax = _axes(ax)
    order = list(order) if order is not None else list(dict.fromkeys(frame[hue]))
    ends = {}
    for i, key in enumerate(order):
        rows = frame[frame[hue] == key]
        if rows.empty:
            raise ValueError(f"no rows with {hue}={key!r}")
        stats = rows.groupby(x)[y].agg(["mean", "std"]).sort_index()
        strong = not highlight or key in highlight
        style = _style_or_cycle(key, i)
        ax.plot(
            stats.index,
            stats["mean"],
            marker=style["marker"] if len(stats) < 12 else None,
            ms=4,
            lw=2 if strong else 1,
            alpha=1 if strong else 0.45,
            color=style["color"],
            ls=style["linestyle"],
            label=key,
        )
        if strong:
            ends[key] = (stats.index[-1], stats["mean"].iloc[-1])
        if band and strong:
            ax.fill_between(
                stats.index,
                stats["mean"] - stats["std"].fillna(0),
                stats["mean"] + stats["std"].fillna(0),
                color=style["color"],
                alpha=0.15,
                lw=0,
            )
    ax.set(xlabel=x, ylabel=y)
    if direct_labels:
        label_line_ends(ax, ends)
    else:
        ax.legend(fontsize=8, ncol=2)
    return fig


def bin_histograms(counts: Mapping[str, Sequence[float]], edges: Sequence[float], ax=None):
    """Histograms over the same bins, one outlined step line per key (e.g. per epoch), as
    shares of their total, on a log scale."""
    fig, ax = _axes(ax)
    edges = np.asarray(edges, dtype=float)
    colors = list(OKABE_ITO.values())[1:]  # no black: these are not losses
    for i, (key, values) in enumerate(counts.items()):
        values = np.asarray(values, dtype=float)
        if len(values) != len(edges) - 1:
            raise ValueError(f"{key!r}: {len(values)} counts for {len(edges) - 1} bins")
        share = values / values.sum()
        color = colors[i % len(colors)]
        ax.stairs(np.where(share > 0, share, np.nan), edges, lw=1.8, color=color, label=key)
    ax.set(yscale="log", xlabel="$g = 1 - p_t$", ylabel="share of the examples")
    ax.legend(fontsize=8)
    return fig


def _normalized_block(confusion: pd.DataFrame, classes: Sequence[str] | None) -> pd.DataFrame:
    normalized = _row_normalized(confusion)
    keep = list(classes) if classes is not None else list(normalized.index)
    missing = [c for c in keep if c not in normalized.index]
    if missing:
        raise ValueError(f"classes {missing} are not in the matrix; it has {list(confusion.index)}")
    return normalized.loc[keep, keep]


def _draw_matrix(matrix: pd.DataFrame, ax, cell_inches: float, title: str | None, **heatmap):
    """A square seaborn heatmap of ``matrix`` with the book's labels; returns the figure.

    Without ``ax`` the figure is sized by the class count, ``cell_inches`` per cell.
    """
    plt, sns = _plotting()
    if ax is None:
        side = max(3.0, cell_inches * len(matrix) + 1.6)
        fig, ax = plt.subplots(figsize=(side + 1.0, side))
    else:
        fig = ax.figure
    sns.heatmap(
        matrix,
        ax=ax,
        annot_kws={"size": 8},
        square=True,
        linewidths=0.5,
        linecolor="white",
        **heatmap,
    )
    ax.grid(False)
    if title:
        ax.set_title(title)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.tick_params(axis="y", labelrotation=0)
    ax.tick_params(axis="x", labelrotation=45)
    for label in ax.get_xticklabels():
        label.set_horizontalalignment("right")
    fig.tight_layout()
    return fig


def confusion_heatmap(
    confusion: pd.DataFrame,
    *,
    title: str | None = None,
    classes: Sequence[str] | None = None,
    annotate: bool = True,
    cell_inches: float = 0.42,
    ax=None,
):
    """One row-normalised confusion matrix, drawn large enough to read every label.

    ``confusion`` is a labelled matrix (:func:`pooled_confusion`); each row is divided by
    its total over all classes before ``classes`` (a subset, in that order) is cut out,
    so a cell is the share of its true class predicted as its column. Cells are
    annotated as percentages (``annotate``); each cell is ``cell_inches`` wide, so an
    18-class matrix is about 9 inches on a side.
    """
    return _draw_matrix(
        _normalized_block(confusion, classes) * 100,
        ax,
        cell_inches,
        title,
        vmin=0,
        vmax=100,
        cmap="Blues",
        annot=annotate,
        fmt=".0f",
        cbar_kws={"label": "% of the true class", "shrink": 0.7},
    )


def confusion_difference(
    confusion: pd.DataFrame,
    reference: pd.DataFrame,
    *,
    title: str | None = None,
    classes: Sequence[str] | None = None,
    annotate: bool = True,
    cell_inches: float = 0.42,
    ax=None,
):
    """The row-normalised ``confusion`` minus the row-normalised ``reference`` (e.g. a
    loss minus cross-entropy), in percentage points, on a diverging scale centred at 0.

    A positive diagonal cell is recall gained; a positive off-diagonal cell is a
    confusion the loss makes more often than the reference. Both matrices must have the
    same classes in the same order. Annotations show cells of at least 1 point.
    """
    if list(confusion.index) != list(reference.index):
        raise ValueError("confusion and reference must have the same classes in the same order")
    diff = (_normalized_block(confusion, classes) - _normalized_block(reference, classes)) * 100
    limit = max(1.0, float(np.abs(diff.to_numpy()).max()))
    labels = diff.map(lambda v: f"{v:+.0f}" if abs(v) >= 1 else "") if annotate else False
    return _draw_matrix(
        diff,
        ax,
        cell_inches,
        title,
        vmin=-limit,
        vmax=limit,
        center=0,
        cmap="RdBu_r",
        annot=labels,
        fmt="",
        cbar_kws={"label": "difference, percentage points", "shrink": 0.7},
    )


def paired_delta(
    frame: pd.DataFrame,
    *,
    order: Sequence[str] | None = None,
    xlabel: str = "macro-F1 minus cross-entropy (same seed)",
    confidence: float = 0.95,
    ax=None,
):
    """The paired difference of every loss to a reference, one row per loss: a dot per
    seed and the mean with its Student-t interval at ``confidence`` (95 %: the interval of
    the results tables, :func:`imbloss.stats.t_interval`), both in the loss's colour.

    ``frame`` is tidy, with columns ``label`` (a loss label, styled by
    :func:`loss_style`), ``seed`` and ``diff`` (the loss's score minus the reference's on
    the same seed, e.g. from the runs of :func:`imbloss.results.comparison_table`). ``order`` picks
    and orders the rows, top to bottom (default: by mean difference, largest on top). A
    vertical line marks 0, no difference.
    """
    plt, _ = _plotting()
    missing = {"label", "seed", "diff"} - set(frame.columns)
    if missing:
        raise ValueError(f"frame lacks the columns {sorted(missing)}; it has {list(frame.columns)}")
    if frame.empty:
        raise ValueError("frame has no rows")
    means = frame.groupby("label", sort=False)["diff"].mean()
    order = list(order) if order is not None else list(means.sort_values(ascending=False).index)
    unknown = [label for label in order if label not in means.index]
    if unknown:
        raise ValueError(f"labels {unknown} have no rows; labels are {list(means.index)}")
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.4, 0.45 * len(order) + 1.2))
    else:
        fig = ax.figure
    rng = np.random.default_rng(0)  # a fixed jitter: the same figure on every run
    for row, label in enumerate(order):
        values = frame.loc[frame["label"] == label, "diff"].to_numpy(dtype=float)
        style = _style_or_cycle(label, row)
        jitter = rng.uniform(-0.12, 0.12, len(values))
        ax.scatter(values, row + jitter, s=14, color=style["color"], alpha=0.55, lw=0)
        low, high = (
            stats.t_interval(values, confidence)
            if len(values) >= stats.MIN_PAIRS
            else (values.mean(), values.mean())
        )
        ax.errorbar(
            values.mean(),
            row,
            xerr=[[values.mean() - low], [high - values.mean()]],
            fmt=style["marker"],
            ms=7,
            color=style["color"],
            mec="white" if style["color"] != OKABE_ITO["black"] else "black",
            capsize=3,
            lw=1.5,
        )
    ax.axvline(0, color=OKABE_ITO["black"], lw=0.8)
    ax.xaxis.set_major_locator(plt.MaxNLocator(nbins=5))  # tick labels that never touch
    ax.set_yticks(range(len(order)), order)
    ax.set_ylim(len(order) - 0.5, -0.5)
    ax.set_xlabel(xlabel)
    ax.grid(axis="y", visible=False)
    fig.tight_layout()
    return fig
