"""One style for every figure of the book.

* :func:`loss_style`: the fixed colour, marker and line style of a condition (a loss name
  or ``ldam_drw``) and of a decision rule applied to it (``"post-hoc τ"``), on the
  colour-blind-safe Okabe–Ito palette (:data:`OKABE_ITO`); a condition keeps its colour in
  every figure. Styles are looked up by name, never read from a label.
* :func:`use_book_style`: the book's matplotlib settings and figures at twice the
  screen density (``"retina"`` PNGs in a notebook, 200 dpi when saved).

The figures themselves are :mod:`imbloss.plots`'.
"""

from __future__ import annotations

from imbloss.runs import RULES

#: What to run when the plotting libraries are missing.
PLOTS_INSTALL = 'pip install "imbloss[plots]"'


def plotting():
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
    "ce_resampled": {"color": _C["black"], "marker": "v", "linestyle": "--"},
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

#: A decision rule applied to a condition's trained model keeps the condition's colour with
#: the marker and line below (imbloss.runs.RULES).
RULE_STYLES: dict[str, dict[str, str]] = {
    "post-hoc τ": {"marker": "x", "linestyle": ":"},
    "cRT": {"marker": "^", "linestyle": "-."},
    "τ-norm": {"marker": "p", "linestyle": "-."},
}


def loss_style(condition: str, rule: str = "") -> dict[str, str]:
    """``{"color", "marker", "linestyle"}`` of a condition, for ``ax.plot(**...)``: every
    setting of a condition shares it; a ``rule`` of :data:`imbloss.runs.RULES` (``"post-hoc
    τ"``) keeps the condition's colour with its own marker and line. Raises ValueError,
    naming the known conditions, for any other name."""
    if not isinstance(condition, str) or condition not in LOSS_STYLES:
        raise ValueError(
            f"no style for the condition {condition!r}; known conditions: {sorted(LOSS_STYLES)}"
        )
    if rule not in RULES:
        raise ValueError(f"rule={rule!r} is not valid; expected one of {RULES}")
    return {**LOSS_STYLES[condition], **RULE_STYLES.get(rule, {})}


def style_or_cycle(key, i: int, rule: str = "") -> dict[str, str]:
    """:func:`loss_style` of ``key`` (and ``rule``) if it is a condition, else the i-th
    palette colour."""
    if key in LOSS_STYLES:
        return loss_style(key, rule)
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
    plt, _ = plotting()
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
