"""What the book's notebooks share: the run profile, the device, the results cache, glue.

Every notebook starts with the same three lines after its ``parameters`` cell::

    PROFILE = check_profile(PROFILE)   # "ci" (CPU, minutes) or "full" (GPU, Colab)
    DEVICE = pick_device()
    RESULTS = results_dir(PROFILE)     # trained runs, shared by all notebooks

and stores every number the prose quotes with :func:`glue` and every figure with
:func:`glue_figure` (with its alt text); a table it shows goes through
:func:`table` first (rounded, no ``NaN``, no pandas index header, scrolling in its own box
on a narrow screen).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

# The run profiles a notebook accepts are the package's profiles (imbloss.profiles): ``ci``
# runs on the CPU of a CI machine in minutes (full data, at least 3 seeds where a notebook
# trains); ``full`` is the Colab-GPU profile (at least 10 seeds).
from imbloss.profiles import PROFILE_NAMES

#: Environment variable that overrides :func:`results_dir`'s folder.
RESULTS_ENV = "IMBLOSS_RESULTS_DIR"


def check_profile(profile: Any) -> str:
    """Return ``profile`` if it names a profile in :data:`PROFILE_NAMES`, else raise ValueError."""
    if not isinstance(profile, str) or profile not in PROFILE_NAMES:
        raise ValueError(
            f"PROFILE={profile!r} is not a known profile; expected one of {PROFILE_NAMES} "
            "(set it in the notebook's parameters cell or with papermill -p PROFILE ...)"
        )
    return profile


def pick_device():
    """The device ``fit(TrainConfig(device="auto"))`` trains on: CUDA, then MPS, then CPU."""
    from imbloss.runtime import resolve_device

    return resolve_device("auto")


def repo_root(start: str | os.PathLike | None = None) -> Path | None:
    """The nearest folder at or above ``start`` (default: the working directory) that holds
    both ``_config.yml`` and ``pyproject.toml``, or None (e.g. in Colab)."""
    here = Path(start if start is not None else Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "_config.yml").is_file() and (folder / "pyproject.toml").is_file():
            return folder
    return None


def results_dir(profile: str, *, create: bool = True) -> Path:
    """The folder where trained results of ``profile`` are cached and shared by notebooks.

    ``$IMBLOSS_RESULTS_DIR/<profile>`` when that variable is set, else
    ``<repo root>/_build/results/<profile>`` (``./_build/results/<profile>`` outside the
    repository, e.g. in Colab).
    """
    check_profile(profile)
    base = os.environ.get(RESULTS_ENV)
    if base:
        folder = Path(base).expanduser() / profile
    else:
        root = repo_root() or Path.cwd()
        folder = root / "_build" / "results" / profile
    if create:
        folder.mkdir(parents=True, exist_ok=True)
    return folder


def plain(value: Any) -> Any:
    """Turn numpy / torch scalars into Python ``int`` / ``float`` (other values unchanged).

    Glued numbers must be plain Python numbers: their ``text/plain`` form is then a
    literal (``0.322``, not ``np.float64(0.322)``) that ``{glue:text}`` can format.
    """
    item = getattr(value, "item", None)
    if callable(item) and tuple(getattr(value, "shape", (None,))) == ():
        return item()
    return value


def glue(name: str, value: Any, display: bool = False) -> None:
    """Store ``value`` under ``name`` in the notebook's outputs for the book.

    Calls :func:`myst_nb.glue` (numbers are first made plain with :func:`plain`). Where
    myst-nb is not installed (Colab) the value is stored in the same format: an output
    whose metadata ``scrapbook`` holds the name, which is what myst-nb reads. It returns
    nothing, so a cell that ends with ``glue(...)`` shows no stray value on its page.
    """
    value = plain(value)
    try:
        from myst_nb import glue as _glue
    except ImportError:  # pragma: no cover - exercised in Colab only
        from IPython.core.formatters import format_display_data
        from IPython.display import display as _display

        prefix = "" if display else "application/papermill.record/"
        bundle, metadata = format_display_data(value)
        metadata["scrapbook"] = {"name": name, "mime_prefix": prefix}
        _display({prefix + k: v for k, v in bundle.items()}, raw=True, metadata=metadata)
    else:
        _glue(name, value, display=display)


#: Output-metadata key under which :func:`glue_figure` stores a figure's alt text; the
#: book's Sphinx extension (``_ext/imbloss_book.py``) puts it on the ``<img>``.
ALT_KEY = "imbloss"


def glue_figure(name: str, fig, alt: str) -> None:
    """Show ``fig`` in the notebook, glue it as ``name`` for the book, and close it.

    ``alt`` is the figure's alt text: what it shows, in a sentence or two, for a reader
    who cannot see it. It is stored in the output's metadata (``{"imbloss": {"alt":
    ...}}``), from where the book's build writes it into the ``<img>`` tags of the
    notebook page and of every chapter that pastes the figure. The figure is drawn with
    the notebook's inline formats (``"retina"`` after :func:`imbloss.plots.use_book_style`),
    whose displayed width is kept with it.
    """
    if not isinstance(alt, str) or len(alt.split()) < 4:
        raise ValueError(f"alt must describe the figure in words; got {alt!r}")
    from IPython.core.formatters import format_display_data
    from IPython.display import display

    bundle, metadata = format_display_data(fig)
    metadata = dict(metadata)
    metadata["scrapbook"] = {"name": name, "mime_prefix": ""}
    metadata[ALT_KEY] = {"alt": alt}
    display(bundle, raw=True, metadata=metadata)
    try:
        import matplotlib.pyplot as plt

        plt.close(fig)
    except ImportError:  # pragma: no cover - a figure implies matplotlib
        pass


# --- tables a reader can read -----------------------------------------------------------------

#: What a missing value shows in a :func:`table`.
MISSING = "–"


class Table:
    """A formatted table for the book: HTML in a box that scrolls on its own on a narrow
    screen (CSS class ``imbloss-table``), and the same cells as plain text.

    Made by :func:`table`; glue it with :func:`glue` and paste it with ``{glue}`` in a
    chapter. ``header`` is the list of column titles, ``rows`` the formatted cells
    (strings) and ``numeric`` says which columns are right-aligned numbers.
    """

    def __init__(self, header: list[str], rows: list[list[str]], numeric: list[bool]):
        if any(len(row) != len(header) for row in rows):
            raise ValueError("every row must have one cell per column of the header")
        self.header, self.rows, self.numeric = header, rows, numeric

    def _repr_html_(self) -> str:
        from html import escape

        def cells(values, tag):
            return "".join(
                f'<{tag} class="{"num" if num else "text"}">{escape(v)}</{tag}>'
                for v, num in zip(values, self.numeric)
            )

        head = f"<thead><tr>{cells(self.header, 'th')}</tr></thead>"
        body = "".join(f"<tr>{cells(row, 'td')}</tr>" for row in self.rows)
        return f'<div class="imbloss-table"><table>{head}<tbody>{body}</tbody></table></div>'

    def __repr__(self) -> str:
        widths = [
            max(len(r[i]) for r in [self.header, *self.rows]) for i in range(len(self.header))
        ]

        def line(values):
            return "  ".join(
                v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, self.numeric)
            ).rstrip()

        return "\n".join(line(r) for r in [self.header, *self.rows])


def table(
    frame,
    *,
    digits: int | Mapping[str, int] = 3,
    percent: Sequence[str] = (),
    index: bool | str = True,
    rename: Mapping[str, str] | None = None,
) -> Table:
    """``frame`` (a pandas DataFrame) as a :class:`Table` with every cell formatted.

    * numbers whose values are all whole (counts, wins; also stored as floats) print as
      integers with thousands separators (``1,399``, ``3`` rather than ``3.0``);
    * other numbers print with ``digits`` decimals (one number, or one per column);
    * columns named in ``percent`` print as percentages with one decimal (``51.9 %``);
    * missing values print as :data:`MISSING`, never ``NaN``;
    * ``index=True`` keeps the row labels as the first column, titled by the index's
      name (``index="loss"`` gives the title); ``index=False`` drops them. Column
      titles are the column labels (tuples of a MultiIndex joined by spaces), renamed
      by ``rename``: one header row, no pandas index header.
    """
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"table() takes a pandas DataFrame; got {type(frame).__name__}")
    unknown = [c for c in percent if c not in frame.columns]
    if unknown:
        raise ValueError(f"percent columns {unknown} are not in the frame: {list(frame.columns)}")
    rename = dict(rename or {})

    def title(column) -> str:
        text = " ".join(str(p) for p in column) if isinstance(column, tuple) else str(column)
        return rename.get(text, text)

    header, columns, numeric = [], [], []
    if index is not False:
        name = index if isinstance(index, str) else (frame.index.name or "")
        header.append(rename.get(name, name))
        columns.append([_cell(v, None, False) for v in frame.index])
        numeric.append(pd.api.types.is_numeric_dtype(frame.index.dtype))
    for column in frame.columns:
        values = frame[column]
        is_number = pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(
            values.dtype
        )
        places = digits.get(title(column), 3) if isinstance(digits, Mapping) else digits
        whole = is_number and bool(
            values.dropna().map(lambda v: float(v).is_integer()).all() and values.notna().any()
        )
        header.append(title(column))
        kind = "percent" if column in percent else ("int" if whole else places)
        columns.append([_cell(v, kind if is_number else None, is_number) for v in values])
        numeric.append(is_number)
    rows = [list(r) for r in zip(*columns)] if columns else []
    return Table(header, rows, numeric)


def _cell(value: Any, kind, is_number: bool) -> str:
    import math

    value = plain(value)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    if not is_number or kind is None:
        if isinstance(value, float):
            return f"{value:.3g}"
        return str(value)
    if kind == "percent":
        return f"{100 * float(value):.1f} %"
    if kind == "int":
        return f"{int(round(float(value))):,}"
    return f"{float(value):.{kind}f}"
