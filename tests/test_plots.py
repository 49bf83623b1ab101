"""imbloss.plots: one style for every figure, and a clear error without the plotting extra."""

from __future__ import annotations

import sys

import pytest

from imbloss import plots


def test_figures_without_matplotlib_name_the_extra(monkeypatch):
    # a None entry in sys.modules makes `import matplotlib.pyplot` raise ImportError
    for name in ("matplotlib", "matplotlib.pyplot", "seaborn"):
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(ImportError, match=r'pip install "imbloss\[plots\]"'):
        plots.bin_histograms({"a": [1, 2]}, [0, 0.5, 1])
