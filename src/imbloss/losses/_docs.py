"""Docstring parts that every softmax loss shares, written once (as torch writes its
``reduction`` notes once): a loss's docstring names them as ``$name`` placeholders and
:func:`shared_docs` fills them in when the module is imported, so ``help()``, the API page
and the doctests all read the whole text."""

from __future__ import annotations

from string import Template

PARTS = {
    # two Args: lines (8 spaces inside a function docstring's Args: section)
    "logits_target": (
        "logits: unnormalised scores; half and bfloat16 are computed in float32.\n"
        "        target: class indices."
    ),
    # the last three Args: lines of a softmax loss
    "smoothing_ignore_reduction": (
        "label_smoothing: ε in [0, 1], as in ``F.cross_entropy``.\n"
        "        ignore_index: target value whose positions add nothing and get no gradient.\n"
        '        reduction: ``"mean"`` (over the kept positions\' ``w_y``), ``"sum"`` or '
        '``"none"``.'
    ),
    # the Shape: section of a softmax loss (4 spaces, as a section of a function docstring)
    "softmax_shape": (
        "Shape:\n"
        "        - logits: :math:`(N, C)` or :math:`(N, C, d_1, ...)`, floating point.\n"
        "        - target: :math:`(N)` or :math:`(N, d_1, ...)`, integer class indices.\n"
        '        - output: a scalar, or the target\'s shape with ``reduction="none"``.'
    ),
}


def shared_docs(obj):
    """Fill the ``$name`` placeholders of ``obj``'s docstring from :data:`PARTS` (a
    placeholder that is not a part is an error at import)."""
    obj.__doc__ = Template(obj.__doc__).substitute(PARTS)
    return obj
