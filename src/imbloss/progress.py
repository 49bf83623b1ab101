"""Progress bars that show wherever the work runs: terminal, Jupyter, Colab or a piped log.

:func:`progress` is a :mod:`tqdm.auto` bar: a widget in Jupyter and Colab (a text bar
there without ipywidgets), a live bar on a terminal, and in a log that stderr is piped
or redirected to, one plain line every :data:`PIPED_INTERVAL_S` seconds (no carriage
returns) and one at the end.
"""

from __future__ import annotations

import sys

from tqdm.auto import tqdm

PIPED_INTERVAL_S = 30.0


def progress(iterable=None, *, quiet: bool = False, **kwargs) -> tqdm:
    """``tqdm.auto.tqdm(iterable, **kwargs)`` as a bar or as periodic lines; none if quiet."""
    if not quiet and not sys.stderr.isatty() and "ipykernel" not in sys.modules:
        kwargs = {"file": _Lines(sys.stderr), "mininterval": PIPED_INTERVAL_S, **kwargs}
    return tqdm(iterable, disable=quiet, **kwargs)


class _Lines:
    """A text stream for tqdm that writes each state of the bar as its own line."""

    def __init__(self, stream) -> None:
        self.stream = stream
        self.encoding = getattr(stream, "encoding", None)
        self.last = ""

    def write(self, text: str) -> None:
        text = text.replace("\r", "").strip()
        # tqdm's bare "\r" and "\n" (returns, clearing) carry no state; closing repeats one
        if text and text != self.last:
            self.stream.write(text + "\n")
            self.last = text

    def flush(self) -> None:
        self.stream.flush()
