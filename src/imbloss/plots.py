"""The book's figures (matplotlib and seaborn, the ``plots`` extra): :func:`confusion_heatmap`,
:func:`confusion_difference`, :func:`confusion_heatmaps`, :func:`paired_delta`,
:func:`mean_curves` and :func:`bin_histograms`. Each draws on axes it is given or creates,
and returns the figure; the caller glues and closes it. Without matplotlib and seaborn they
raise an ImportError that names ``pip install "imbloss[plots]"``.

The figures take their colours from :mod:`imbloss.style` and draw the tidy frames of
:mod:`imbloss.frames` (:func:`~imbloss.frames.history_frame`,
:func:`~imbloss.frames.pooled_confusion`); both are importable from here too, as the
notebooks import them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from imbloss import stats
from imbloss.frames import (  # noqa: F401 - the frames, importable from here too
    block_confusion_rate,
    history_frame,
    pooled_confusion,
    row_normalized,
)
from imbloss.style import (  # noqa: F401 - the style, importable from here too
    LOSS_STYLES,
    OKABE_ITO,
    RULE_STYLES,
    loss_style,
    plotting,
    style_or_cycle,
    use_book_style,
)


def _axes(ax, ncols: int = 1, figsize=(5, 3.4)):
    plt, _ = plotting()

    if ax is not None:
        return ax.figure, ax
    fig, ax = plt.subplots(1, ncols, figsize=figsize)
    return fig, ax


def label_line_ends(
    ax,
    lines: Mapping[str, tuple[float, float]],
    *,
    colors: Mapping[str, str] | None = None,
    min_gap: float = 0.05,
):
    """Write each label at the right end of its line, nudged apart vertically.

    ``lines`` maps a label to the ``(x, y)`` of its last point; labels closer than
    ``min_gap`` (a share of the y range) are moved apart so that none overlaps, and each
    takes its colour from ``colors`` (by label; by default its condition's where the label
    is a condition's name, :func:`style_or_cycle`).
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
            color=(colors or {}).get(label) or style_or_cycle(label, i)["color"],
            annotation_clip=False,
        )


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
    (:func:`imbloss.frames.pooled_confusion`). Each row is divided by its total over *all*
    classes before ``classes`` (a subset, in the order given) is cut out, so a cell is the
    share of that true class predicted as that class, and a row of the zoom can sum to less
    than 1. One colour scale (0 to the largest cell shown) is shared by all panels.
    """
    plt, _ = plotting()
    if not matrices:
        raise ValueError("matrices is empty; expected {title: confusion DataFrame}")
    shown = {title: _normalized_block(matrix, classes) for title, matrix in matrices.items()}
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
        last = i == n - 1
        _draw_matrix(
            matrix,
            ax,
            panel_size,
            title,
            vmin=0,
            vmax=vmax,
            cmap=cmap,
            annot=annotate,
            fmt=".2f",
            cbar=last,
            cbar_ax=axes[n] if last else None,
        )
        if i > 0:
            ax.set_ylabel("")
            ax.set_yticklabels([])
    axes[n].set_ylabel("share of the true class")
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
    others thin and light; ``order`` picks and orders the lines (default: all). A line takes
    :func:`loss_style` of its rows' ``condition`` column where the frame has one (labels are
    not parsed), else of its key where the key is a condition's name. With
    ``direct_labels`` the strong lines are labelled at their right end
    (:func:`label_line_ends`) instead of in a legend."""
    fig, ax = _axes(ax)
    order = list(order) if order is not None else list(dict.fromkeys(frame[hue]))
    ends, colors = {}, {}
    for i, key in enumerate(order):
        rows = frame[frame[hue] == key]
        if rows.empty:
            raise ValueError(f"no rows with {hue}={key!r}")
        stats = rows.groupby(x)[y].agg(["mean", "std"]).sort_index()
        strong = not highlight or key in highlight
        style = style_or_cycle(rows["condition"].iloc[0] if "condition" in rows else key, i)
        colors[key] = style["color"]
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
        label_line_ends(ax, ends, colors=colors)
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
    normalized = row_normalized(confusion)
    keep = list(classes) if classes is not None else list(normalized.index)
    missing = [c for c in keep if c not in normalized.index]
    if missing:
        raise ValueError(f"classes {missing} are not in the matrix; it has {list(confusion.index)}")
    return normalized.loc[keep, keep]


def _draw_matrix(matrix: pd.DataFrame, ax, cell_inches: float, title: str | None, **heatmap):
    """A square seaborn heatmap of ``matrix`` with the book's labels; returns the figure.

    Without ``ax`` the figure is sized by the class count, ``cell_inches`` per cell.
    """
    plt, sns = plotting()
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

    ``confusion`` is a labelled matrix (:func:`imbloss.frames.pooled_confusion`); each row
    is divided by its total over all classes before ``classes`` (a subset, in that order) is
    cut out, so a cell is the share of its true class predicted as its column. Cells are
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

    ``frame`` is tidy, with columns ``label``, ``seed`` and ``diff`` (the rule's score minus
    the reference's on the same seed, e.g. :func:`imbloss.comparison.paired_differences`), and
    optionally ``condition`` and ``rule``, which pick the row's :func:`loss_style` (without
    them a label that is a condition's name takes its style). ``order`` picks
    and orders the rows, top to bottom (default: by mean difference, largest on top). A
    vertical line marks 0, no difference.
    """
    plt, _ = plotting()
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
        rows = frame[frame["label"] == label]
        values = rows["diff"].to_numpy(dtype=float)
        first = rows.iloc[0]
        style = style_or_cycle(first.get("condition", label), row, first.get("rule", ""))
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
