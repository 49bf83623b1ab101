"""The book's Sphinx extension: author-year reference labels and figure alt text.

**Author-year labels** for the bibliography (sphinxcontrib-bibtex, via pybtex).
The text cites author-year ({cite:t}`lin2017focal` gives "Lin et al. [2017]"); with
pybtex's default ``alpha`` labels the reference list would say ``[LGG+17]``. This style
labels every entry "Lin et al. 2017" (one author: "Robertson 2017"; two: "A and B 2019")
and sorts the list by author, year and title. ``_config.yml`` selects it with
``bibtex_default_style: imbloss_authoryear``.

**Alt text and size of glued figures.** ``imbloss.book.glue_figure(name, fig, alt)``
stores the alt text in the output's metadata. myst-nb names every image file by the
SHA-256 of its bytes, and gives an image pasted into a chapter from another document
neither alt text nor width. After those images exist, this extension sets, on every image
of a page whose file is such an output, the stored alt text and the output's displayed
width (a 2x PNG is shown at half its pixel width, so it stays sharp).
"""

from __future__ import annotations

import hashlib
import json
from binascii import a2b_base64
from pathlib import Path

from docutils import nodes
from pybtex.plugin import register_plugin
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle
from sphinx.transforms.post_transforms import SphinxPostTransform


def _surname(person) -> str:
    text = " ".join(person.prelast_names + person.last_names) or " ".join(person.first_names)
    return text.replace("{", "").replace("}", "")


class AuthorYearLabels(BaseLabelStyle):
    """Labels "Surname year", "A and B year" or "A et al. year"; a repeated label gets a, b."""

    def format_labels(self, sorted_entries):
        labels = [self.format_label(entry) for entry in sorted_entries]
        seen: dict[str, int] = {}
        repeated = {label for label in labels if labels.count(label) > 1}
        for label in labels:
            if label in repeated:
                seen[label] = seen.get(label, 0) + 1
                yield f"{label}{chr(ord('a') + seen[label] - 1)}"
            else:
                yield label

    @staticmethod
    def format_label(entry) -> str:
        people = entry.persons.get("author") or entry.persons.get("editor") or []
        names = [_surname(p) for p in people]
        if not names:
            who = entry.fields.get("key", entry.key)
        elif len(names) == 1:
            who = names[0]
        elif len(names) == 2:
            who = f"{names[0]} and {names[1]}"
        else:
            who = f"{names[0]} et al."
        return f"{who} {entry.fields.get('year', 'n.d.')}"


class AuthorYearStyle(UnsrtStyle):
    default_label_style = "imbloss_authoryear"
    default_sorting_style = "author_year_title"


register_plugin("pybtex.style.labels", "imbloss_authoryear", AuthorYearLabels)
register_plugin("pybtex.style.formatting", "imbloss_authoryear", AuthorYearStyle)


ALT_KEY = "imbloss"  # imbloss.book.ALT_KEY (the extension does not import the package)
_FIGURES: dict[str, dict] = {}


def figure_outputs(folder: Path) -> dict[str, dict]:
    """``{"<sha256>.png": {"alt": ..., "width": ...}}`` for every PNG output with alt text
    in the notebooks under ``folder``."""
    found = {}
    for path in sorted(folder.rglob("*.ipynb")):
        parts = path.relative_to(folder).parts
        if "_build" in parts or ".ipynb_checkpoints" in parts:
            continue
        for cell in json.loads(path.read_text(encoding="utf-8")).get("cells", []):
            for output in cell.get("outputs", []):
                meta = output.get("metadata", {})
                png = output.get("data", {}).get("image/png")
                if png is None or ALT_KEY not in meta:
                    continue
                png = "".join(png) if isinstance(png, list) else png
                name = hashlib.sha256(a2b_base64(png)).hexdigest() + ".png"
                found[name] = {
                    "alt": meta[ALT_KEY]["alt"],
                    "width": meta.get("image/png", {}).get("width"),
                }
    return found


class FigureAltText(SphinxPostTransform):
    """Alt text and displayed width on the images of glued figures (see the module)."""

    default_priority = 20  # after myst-nb's ReplacePendingGlueReferences (5)

    def run(self, **kwargs) -> None:
        for node in self.document.findall(nodes.image):
            info = _FIGURES.get(Path(node.get("uri", "")).name)
            if info is None:
                continue
            node["alt"] = info["alt"]
            if info["width"] and "width" not in node:
                node["width"] = f"{info['width']}px"


def _collect(app) -> None:
    _FIGURES.clear()
    _FIGURES.update(figure_outputs(Path(app.srcdir)))


def setup(app):
    app.connect("builder-inited", _collect)
    app.add_post_transform(FigureAltText)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
