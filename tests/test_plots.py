"""imbloss.plots: one style for every figure, and a clear error without the plotting extra."""

from __future__ import annotations

import sys

import pytest

from imbloss import plots, stats


def test_figures_without_matplotlib_name_the_extra(monkeypatch):
    # a None entry in sys.modules makes `import matplotlib.pyplot` raise ImportError
    for name in ("matplotlib", "matplotlib.pyplot", "seaborn"):
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(ImportError, match=r'pip install "imbloss\[plots\]"'):
        plots.bin_histograms({"a": [1, 2]}, [0, 0.5, 1])


import matplotlib  # noqa: E402

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402

from imbloss.losses import LOSSES  # noqa: E402

CONDITIONS = (*LOSSES, "gw_seed", "ldam_drw")  # the conditions, and gw_blog's old name


def test_every_condition_has_one_fixed_colour_blind_safe_style():
    styles = {name: plots.loss_style(name) for name in CONDITIONS}
    palette = set(plots.OKABE_ITO.values())
    assert all(s["color"] in palette for s in styles.values())
    # gw_blog is gw_seed renamed: the same condition, the same style; all others differ
    assert styles["gw_blog"] == styles["gw_seed"]
    pairs = [(s["color"], s["marker"]) for n, s in styles.items() if n != "gw_seed"]
    assert len(set(pairs)) == len(pairs), "two conditions would look the same"
    # a family shares its colour: the variant differs by marker and line
    assert styles["focal"]["color"] == styles["cb_focal"]["color"]
    assert styles["ldam"]["color"] == styles["ldam_drw"]["color"]
    assert styles["ce"]["color"] == plots.OKABE_ITO["black"]


def test_a_rule_keeps_its_conditions_colour_and_styles_are_never_read_from_labels():
    post = plots.loss_style("ce", "post-hoc τ")
    assert post["color"] == plots.loss_style("ce")["color"]
    assert (post["marker"], post["linestyle"]) == ("x", ":")
    rules = [plots.loss_style("ce", rule) for rule in plots.RULE_STYLES]
    assert len({(s["marker"], s["linestyle"]) for s in rules}) == len(rules)
    with pytest.raises(ValueError, match=r"known conditions: \["):
        plots.loss_style("hinge")
    with pytest.raises(ValueError, match="known conditions"):
        plots.loss_style("focal(gamma=2.0)")  # a label, not a condition
    with pytest.raises(ValueError, match="rule='threshold' is not valid"):
        plots.loss_style("ce", "threshold")


def test_book_style_draws_at_twice_the_density_in_okabe_ito_colours():
    import matplotlib.pyplot as plt

    plots.use_book_style()
    assert plt.rcParams["savefig.dpi"] == 2 * plt.rcParams["figure.dpi"]
    cycle = [to_hex(c["color"]).upper() for c in plt.rcParams["axes.prop_cycle"]]
    assert cycle == [c.upper() for c in plots.OKABE_ITO.values()]


def test_mean_curves_colour_each_loss_as_everywhere_else():
    import matplotlib.pyplot as plt

    frame = pd.DataFrame(
        {
            "label": ["ce", "ce", "focal(gamma=2.0)", "focal(gamma=2.0)"],
            "condition": ["ce", "ce", "focal", "focal"],
            "epoch": [1, 2, 1, 2],
            "share": [0.1, 0.2, 0.0, 0.01],
        }  # fmt: skip
    )
    fig = plots.mean_curves(frame, "epoch", "share", direct_labels=True)
    colors = [to_hex(line.get_color()) for line in fig.axes[0].get_lines()]
    assert colors == [to_hex(plots.loss_style(k)["color"]) for k in ("ce", "focal")]
    assert [t.get_text() for t in fig.axes[0].texts] == ["focal(gamma=2.0)", "ce"]  # by end y
    plt.close(fig)


def test_paired_delta_shows_every_seed_and_the_mean():
    import matplotlib.pyplot as plt

    rows = [("focal", s, d) for s, d in enumerate([0.01, 0.02, 0.03])]
    rows += [("logit_adjusted(tau=1.0)", s, d) for s, d in enumerate([-0.02, -0.01, 0.0])]
    frame = pd.DataFrame(rows, columns=["label", "seed", "diff"])
    fig = plots.paired_delta(frame)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["focal", "logit_adjusted(tau=1.0)"]
    dots = [c for c in ax.collections if c.get_offsets().shape[0] == 3]
    assert len(dots) == 2  # one dot per seed, per loss
    assert np.allclose(sorted(dots[0].get_offsets()[:, 0]), [0.01, 0.02, 0.03])
    means = [bars.lines[0].get_xdata()[0] for bars in ax.containers]  # the errorbar markers
    assert np.allclose(means, [0.02, -0.01])
    # the bar is the 95 % t-interval of the tables (t_{0.975, n-1} standard errors), not 1 SE
    segment = ax.containers[0].lines[2][0].get_segments()[0]
    expected = stats.t_interval([0.01, 0.02, 0.03], 0.95)
    assert np.allclose(sorted(segment[:, 0]), expected)
    assert len(ax.get_xticks()) <= 6  # few enough that the labels do not run together
    plt.close(fig)
    with pytest.raises(ValueError, match="lacks the columns"):
        plots.paired_delta(frame.drop(columns="seed"))


def test_confusion_difference_is_the_row_normalised_difference():
    import matplotlib.pyplot as plt

    names = ["Russian", "English", "Vietnamese"]
    ce = pd.DataFrame([[90, 10, 0], [5, 45, 0], [2, 0, 2]], index=names, columns=names)
    la = pd.DataFrame([[80, 10, 10], [5, 40, 5], [0, 0, 4]], index=names, columns=names)
    fig = plots.confusion_difference(la, ce, title="logit adjustment − CE")
    shown = fig.axes[0].collections[0].get_array().reshape(3, 3)
    expected = 100 * (la.div(la.sum(axis=1), axis=0) - ce.div(ce.sum(axis=1), axis=0)).to_numpy()
    assert np.allclose(shown, expected)
    assert shown[2, 2] == pytest.approx(50) and shown[0, 2] == pytest.approx(10)
    plt.close(fig)
    big = plots.confusion_heatmap(ce)
    assert big.get_size_inches()[1] >= 0.42 * 3 + 1.6 - 1e-9  # sized by the class count
    plt.close(big)
    with pytest.raises(ValueError, match="same classes"):
        plots.confusion_difference(la, ce.iloc[::-1, ::-1])


def test_confusion_heatmaps_cut_the_zoom_after_normalising_and_share_one_scale():
    import matplotlib.pyplot as plt

    names = ["Russian", "English", "Vietnamese"]
    ce = pd.DataFrame([[90, 10, 0], [5, 45, 0], [2, 0, 2]], index=names, columns=names)
    la = pd.DataFrame([[80, 10, 10], [5, 40, 5], [0, 0, 4]], index=names, columns=names)
    fig = plots.confusion_heatmaps({"CE": ce, "LA": la}, classes=["English", "Russian"])
    panels = fig.axes[:2]
    assert [ax.get_title() for ax in panels] == ["CE", "LA"]
    shown = panels[1].collections[0].get_array().reshape(2, 2)
    # rows divided by their total over all three classes, then the zoom cut out
    assert np.allclose(shown, [[40 / 50, 5 / 50], [10 / 100, 80 / 100]])
    limits = {ax.collections[0].get_clim() for ax in panels}
    assert limits == {(0.0, 0.9)}  # one scale: 0 to the largest cell shown (CE's 90 / 100)
    plt.close(fig)
    with pytest.raises(ValueError, match=r"classes \['Dutch'\] are not in the matrix"):
        plots.confusion_heatmaps({"CE": ce}, classes=["Dutch", "English"])
