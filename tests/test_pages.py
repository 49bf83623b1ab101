"""Every page of the built book, looked at in headless Chromium at 400 px and 1400 px.

``scripts/check_pages.py`` does the looking (no sideways page scroll, figures drawn at a
readable size, real alt text); these tests run it on ``_build/html``. They need
Playwright (requirements.txt) and Debian's Chromium (``apt-get install -y chromium``): on
CI (``$CI`` set) a missing browser fails the test, elsewhere it skips it.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("check_pages", ROOT / "scripts" / "check_pages.py")
check_pages = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(check_pages)

pytestmark = pytest.mark.slow


def _browser_or_skip() -> None:
    missing = []
    if importlib.util.find_spec("playwright") is None:
        missing.append("the playwright package (pip install playwright)")
    if check_pages.chromium_path() is None:
        missing.append("a Chromium (apt-get install -y chromium, or set $CHROMIUM)")
    if missing:
        message = "cannot look at the pages without " + " and ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def problems(html) -> list[str]:  # noqa: F811
    _browser_or_skip()
    return check_pages.check(html, widths=(400, 1400))


def test_every_page_fits_a_phone_and_a_desktop(problems):
    assert not problems, "\n".join(problems)


def test_the_check_can_fail(tmp_path):
    """A page wider than a phone, and a figure without alt text, are reported."""
    _browser_or_skip()
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "wide.html").write_text(
        '<html><body><article class="bd-article"><div style="width: 900px">wide</div>'
        '<img src="x.png" alt="x.png" width="300"></article></body></html>'
    )
    found = check_pages.check(tmp_path, widths=(400,))
    assert any("900 px wide" in line or "scrolls sideways" in line for line in found), found
    assert any("no alt text" in line for line in found), found
    # on a desktop: a results table wider than its column, and TeX that MathJax never typeset
    cells = "".join(f"<td>{'x' * 40}</td>" for _ in range(40))
    (tmp_path / "book" / "raw.html").write_text(
        '<html><body><article class="bd-article"><p>the loss \\(\\tau\\) and $$x$$</p>'
        f'<div class="imbloss-table"><table><tr><th>p</th>{cells}</tr></table></div>'
        "<pre>code may say $$ or \\( freely</pre></article></body></html>"
    )
    found = check_pages.check(tmp_path, widths=(1400,))
    raw = [line for line in found if "raw.html" in line]
    assert any("raw math '\\\\('" in line for line in raw), raw
    assert any("raw math '$$'" in line for line in raw), raw
    assert any("last columns scroll out of view" in line for line in raw), raw
    assert not any("freely" in line for line in raw), raw  # code is not prose
