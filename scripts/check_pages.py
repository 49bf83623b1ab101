"""Look at every page of the built book in headless Chromium, as a phone and as a desktop.

    python scripts/check_pages.py [--html _build/html] [--widths 400,1400] [--shots DIR]

For each page (the chapters, the notebooks, the index and the reference pages) and each
window width, the page is loaded from a local HTTP server and checked for what a reader
would see:

* **no sideways scroll**: the document is no wider than the window
  (``scrollWidth <= innerWidth``); wide tables, equations and code scroll in their own box;
* **readable figures**: every figure of the article is drawn at least 55 % of the width it
  was made for (its displayed width from the notebook), so that its text stays readable;
  on a phone a wide figure keeps that size and scrolls sideways in its own box;
* **real alt text**: every image of the article has an alt text that is not a file name;
* **tables whole on a desktop**: from :data:`DESKTOP` px on, no table of
  ``imbloss.book.table`` scrolls in its box (its last columns, the p-values, hidden);
* **math rendered**: no raw TeX delimiter (``\\(``, ``\\[``, ``$$``) left in the article's
  text outside code, as when MathJax did not load (the book bundles it: an offline build).

Exit status 1 with one line per problem, 0 when every page passes. ``--shots DIR`` also
saves a full-page screenshot per page and width. Needs Playwright (``pip install
playwright``) and a Chromium: ``$CHROMIUM`` or ``/usr/bin/chromium`` (Debian: ``apt-get
install chromium``); no browser is downloaded.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.server
import os
import shutil
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MIN_SCALE = 0.55  # a figure drawn smaller than this share of its size is hard to read
DESKTOP = 1200  # from this window width on, a results table must show all its columns
RAW_MATH = ("\\(", "\\[", "$$")

#: What is measured on a page, in the browser.
PAGE_JS = """() => {
  const article = document.querySelector('article.bd-article') || document.body;
  const images = [...article.querySelectorAll('img')].map(img => ({
    src: img.getAttribute('src') || '',
    alt: img.getAttribute('alt') || '',
    shown: img.getBoundingClientRect().width,
    natural: img.naturalWidth,
    declared: parseFloat(img.getAttribute('width') || img.style.width || '0') || 0,
    column: img.parentElement.getBoundingClientRect().width,
    badge: (img.getAttribute('src') || '').includes('colab-badge'),
  }));
  const tables = [...article.querySelectorAll('div.imbloss-table')].map(box => ({
    scrollWidth: box.scrollWidth,
    clientWidth: box.clientWidth,
    header: [...box.querySelectorAll('th')].map(th => th.textContent.trim()).join(' | '),
  }));
  const prose = article.cloneNode(true);
  prose.querySelectorAll('pre, code, script, style, mjx-container, .MathJax')
    .forEach(node => node.remove());
  return {
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    images,
    tables,
    text: prose.textContent,
  };
}"""


def chromium_path() -> str | None:
    """The Chromium to drive: ``$CHROMIUM``, else /usr/bin/chromium, else one on PATH."""
    for candidate in (os.environ.get("CHROMIUM"), "/usr/bin/chromium"):
        if candidate and Path(candidate).exists():
            return candidate
    return shutil.which("chromium") or shutil.which("chromium-browser")


def pages(html: Path) -> list[Path]:
    """The book's pages: the chapters, the notebooks and the reference pages (``index.html``
    only redirects to the introduction)."""
    found: list[Path] = []
    for folder in ("book", "notebooks"):
        found += sorted((html / folder).glob("*.html"))
    return found


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # no line per request
        pass


@contextlib.contextmanager
def serve(folder: Path):
    """Serve ``folder`` on 127.0.0.1 (a free port) for the duration of the block."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def problems_of(page: str, width: int, measured: dict) -> list[str]:
    """The reader-visible problems of one page at one width (empty when it passes)."""
    found = []
    if measured["scrollWidth"] > measured["innerWidth"]:
        found.append(
            f"{page} at {width} px: the page is {measured['scrollWidth']} px wide "
            f"(scrolls sideways)"
        )
    for img in measured["images"]:
        if img["badge"]:
            continue
        name = img["src"].rsplit("/", 1)[-1]
        alt = img["alt"].strip()
        if not alt or alt == name or alt.endswith((".png", ".svg", ".jpg")) or "/" in alt:
            found.append(f"{page}: image {name} has no alt text (alt={alt!r})")
        made_for = img["declared"] or img["natural"]
        if made_for and img["shown"] < MIN_SCALE * made_for:
            found.append(
                f"{page} at {width} px: image {name} is drawn {img['shown']:.0f} px wide, "
                f"less than {MIN_SCALE:.0%} of the {made_for:.0f} px it was made for"
            )
    for table in measured.get("tables", []) if width >= DESKTOP else []:
        if table["scrollWidth"] > table["clientWidth"] + 1:
            found.append(
                f"{page} at {width} px: a table ({table['header'][:60]}) is "
                f"{table['scrollWidth']} px wide in a {table['clientWidth']} px column "
                "(its last columns scroll out of view)"
            )
    for mark in RAW_MATH:
        at = measured.get("text", "").find(mark)
        if at >= 0:
            context = " ".join(measured["text"][max(0, at - 30) : at + 30].split())
            found.append(f"{page} at {width} px: raw math {mark!r} shows: ...{context}...")
    return found


def check(html: Path, widths=(400, 1400), shots: Path | None = None) -> list[str]:
    """Every problem of every page of ``html`` at every width (see the module)."""
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    if executable is None:
        raise RuntimeError("no Chromium found: set $CHROMIUM or apt-get install chromium")
    found: list[str] = []
    with serve(html) as base, sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=executable,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            for width in widths:
                context = browser.new_context(viewport={"width": width, "height": 900})
                page = context.new_page()
                for path in pages(html):
                    rel = path.relative_to(html).as_posix()
                    page.goto(f"{base}/{rel}", wait_until="load")
                    with contextlib.suppress(Exception):  # MathJax typesets after "load"
                        page.wait_for_function(
                            "() => !window.MathJax || !MathJax.startup || MathJax.startup.promise",
                            timeout=5000,
                        )
                        page.evaluate("() => window.MathJax && MathJax.startup.promise")
                    found += problems_of(rel, width, page.evaluate(PAGE_JS))
                    if shots is not None:
                        shots.mkdir(parents=True, exist_ok=True)
                        name = rel.replace("/", "_").removesuffix(".html")
                        page.screenshot(path=str(shots / f"{name}-{width}.png"), full_page=True)
                context.close()
        finally:
            browser.close()
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--html", type=Path, default=ROOT / "_build" / "html")
    parser.add_argument("--widths", default="400,1400", help="comma-separated window widths")
    parser.add_argument("--shots", type=Path, help="save full-page screenshots here")
    args = parser.parse_args(argv)
    widths = tuple(int(w) for w in args.widths.split(","))
    found = check(args.html, widths, args.shots)
    for line in found:
        print(line)
    print(f"[pages] {len(pages(args.html))} pages x {len(widths)} widths: {len(found)} problems")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
