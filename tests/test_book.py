"""The book keeps its promises.

* Every number the prose glues equals its derivation: exactly (to rounding) for the
  analytic ones, within a band for anything fitted or trained.
* The HTML in ``_build/html`` has a page for every ``_toc.yml`` entry and no broken
  internal link or anchor.

The slow tests read the executed notebooks of ``make book`` (``_build/executed/<PROFILE>``)
when they are newer than their sources and the package, and otherwise execute the stale
ones; they build the HTML when it is missing or older than its sources. CI runs
``make book`` first, so ``make test`` only reads.

To check a new glued number: ``glued("08_experiment")["key"]`` gives the value stored by
``imbloss.book.glue("key", value)`` in ``notebooks/08_experiment.ipynb``.
"""

from __future__ import annotations

import ast
import importlib.util
import math
import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import numpy as np
import pytest
import torch

from imbloss.book import PROFILE_NAMES, check_profile, plain, repo_root, results_dir

ROOT = Path(__file__).resolve().parents[1]
PROFILE = os.environ.get("PROFILE", "ci")
HTML = ROOT / "_build" / "html"

_spec = importlib.util.spec_from_file_location("build_book", ROOT / "scripts" / "build_book.py")
build_book = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build_book)


# --- fast: the helpers the notebooks share ---------------------------------------------------


def test_check_profile_names_the_choices():
    assert check_profile("ci") == "ci" and check_profile("full") == "full"
    for bad in ("gpu", "CI", None, 3):
        with pytest.raises(ValueError, match=r"PROFILE=.*expected one of \('ci', 'full'\)"):
            check_profile(bad)
    assert PROFILE_NAMES == ("ci", "full")


def test_results_dir_is_shared_under_build_and_env_overrides(tmp_path, monkeypatch):
    monkeypatch.delenv("IMBLOSS_RESULTS_DIR", raising=False)
    monkeypatch.chdir(ROOT / "notebooks")  # where papermill runs the notebooks
    assert repo_root() == ROOT
    assert results_dir("ci", create=False) == ROOT / "_build" / "results" / "ci"
    monkeypatch.setenv("IMBLOSS_RESULTS_DIR", str(tmp_path))
    assert results_dir("full") == tmp_path / "full" and (tmp_path / "full").is_dir()
    with pytest.raises(ValueError):
        results_dir("fast")


def test_plain_makes_glued_numbers_literals():
    for value, expected in ((np.float64(0.25), 0.25), (np.int64(7), 7), (torch.tensor(1.5), 1.5)):
        out = plain(value)
        assert out == expected and type(out) in (int, float)
        assert ast.literal_eval(repr(out)) == expected  # what {glue:text} needs
    assert plain("Russian") == "Russian"


def test_toc_resolves_and_notebooks_run_in_toc_order():
    files = [f.relative_to(ROOT).as_posix() for f in build_book.toc_files()]
    assert files[0] == "book/intro.md" and "book/api.md" in files
    notebooks = [f for f in files if f.endswith(".ipynb")]
    assert notebooks == sorted(notebooks), "the experiment notebooks reuse earlier results"


# --- slow: executed notebooks ----------------------------------------------------------------


def read_glue(path: Path) -> dict:
    """Every glued value of an executed notebook, as the Python literal it displays."""
    import json

    values = {}
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        for out in cell.get("outputs", []):
            meta = out.get("metadata", {}).get("scrapbook")
            if not meta:
                continue
            text = out["data"].get(meta.get("mime_prefix", "") + "text/plain", "")
            text = "".join(text) if isinstance(text, list) else text
            try:
                values[meta["name"]] = ast.literal_eval(text)
            except (ValueError, SyntaxError):
                values[meta["name"]] = text  # figures: '<Figure size ...>'
    return values


@pytest.fixture(scope="session")
def executed() -> dict[str, Path]:
    notebooks = build_book.toc_notebooks()
    out_dir = build_book.executed_dir(PROFILE)
    if not all(build_book.is_fresh(out_dir / nb.name, nb) for nb in notebooks):
        script = str(ROOT / "scripts" / "build_book.py")
        cmd = [sys.executable, script, "--profile", PROFILE, "--reuse", "--no-html"]
        subprocess.run(cmd, cwd=ROOT, check=True)
    return {nb.stem: out_dir / nb.name for nb in notebooks}


@pytest.fixture(scope="session")
def glued(executed):
    cache: dict[str, dict] = {}

    def get(stem: str) -> dict:
        if stem not in cache:
            cache[stem] = read_glue(executed[stem])
        return cache[stem]

    return get


approx = pytest.approx


@pytest.mark.slow
def test_accuracy_paradox_numbers(glued):
    g = glued("02_accuracy_paradox")
    # A: always the majority class
    assert g["acc_a"] == approx(0.95) and g["bacc_a"] == approx(0.5)
    assert g["macro_f1_a"] == approx((2 * 0.95 / 1.95) / 2)
    assert g["recall_pos_a"] == 1 and g["recall_neg_a"] == 0
    # B: 85 TP / 10 FN on the positives, 4 TP / 1 FN on the negatives
    f1 = lambda p, r: 2 * p * r / (p + r)  # noqa: E731
    assert g["acc_b"] == approx(89 / 100)
    assert g["bacc_b"] == approx((85 / 95 + 4 / 5) / 2)
    assert g["macro_f1_b"] == approx((f1(85 / 86, 85 / 95) + f1(4 / 14, 4 / 5)) / 2)
    assert g["recall_pos_b"] == approx(85 / 95) and g["recall_neg_b"] == approx(0.8)
    assert g["constant_formula_max_err"] < 1e-12


@pytest.mark.slow
def test_gradient_imbalance_numbers(glued):
    g = glued("03_gradient_imbalance")
    assert g["ce_grad_max_err"] < 1e-12 and g["ce_grad_l1_max_err"] < 1e-12  # dCE/dz = p - e_y
    # the post: 95 positives at p_t = 0.99 against 5 negatives with total error 2
    assert g["blog_easy_total"] == approx(0.95) and g["blog_total"] == approx(2.95)
    assert g["blog_easy_share"] == approx(0.95 / 2.95) and round(g["blog_easy_share"], 2) == 0.32
    assert g["blog_p_hard"] == approx(0.6)
    assert g["autograd_ce_grad_share"] == approx(g["blog_easy_share"], rel=1e-12)
    easy, hard = -95 * math.log(0.99), -5 * math.log(0.6)
    assert g["ce_easy_total"] == approx(easy) and g["ce_hard_total"] == approx(hard)
    assert g["ce_easy_share"] == approx(easy / (easy + hard))
    assert g["autograd_ce_loss_share"] == approx(g["ce_easy_share"], rel=1e-12)
    # one third exactly: 5 u(p_hard) = 2 * 95 u(0.99)
    assert g["p_hard_third_err"] == approx(0.62) and g["p_hard_third_ce"] == approx(0.99**38)
    assert g["ratio_half_err"] == approx(40)
    assert g["ratio_half_ce"] == approx(math.log(0.6) / math.log(0.99))
    # focal, gamma = 2, gradient through the factor: |dFL/dz_t| = (1-p)^2 (1 - p - 2 p log p)
    grad = lambda p: (1 - p) ** 2 * (1 - p - 2 * p * math.log(p))  # noqa: E731
    loss = lambda p: (1 - p) ** 2 * -math.log(p)  # noqa: E731
    for key, u in (("focal2_easy_grad_share", grad), ("focal2_easy_loss_share", loss)):
        assert g[key] == approx(95 * u(0.99) / (95 * u(0.99) + 5 * u(0.6)))


@pytest.mark.slow
def test_focal_numbers(glued):
    g = glued("04_focal_loss")
    assert g["focal_weight_g2_p5"] == approx(0.25)
    assert g["focal_weight_g2_p9"] == approx(0.01) and g["focal_weight_g2_p99"] == approx(1e-4)
    assert g["focal_loss_formula_max_err"] < 1e-12
    assert g["focal_grad_full_max_err"] < 1e-10 and g["focal_grad_detached_max_err"] < 1e-10
    for gamma in (1, 2):  # full / detached gradient = 1 + gamma p (-log p) / (1 - p) -> 1 + gamma
        assert g[f"focal_ratio_g{gamma}_p09"] == approx(1 + gamma * 0.9 * -math.log(0.9) / 0.1)
        assert g[f"focal_ratio_g{gamma}_p05"] == approx(1 + gamma * math.log(2))
        assert g[f"focal_ratio_g{gamma}_limit"] == approx(1 + gamma, abs=1e-5)
    phi = lambda p: (1 - p) ** 2 - 2 * p * (1 - p) * math.log(p)  # noqa: E731  (gamma = 2)
    assert g["focal_phi_g2_max"] == approx(phi(g["focal_phi_g2_argmax"]))
    assert g["focal_phi_g2_max"] > 1  # through the factor, hard examples pull harder than in CE
    assert phi(g["focal_phi_g2_above_ce_until"]) == approx(1, abs=2e-3)  # first grid point below 1
    assert g["naive_focal_grad_is_nan"] is True and g["imbloss_focal_grad_is_finite"] is True
    assert g["focal_g0_weighted_vs_ce_err"] < 1e-12


@pytest.mark.slow
def test_ghm_numbers(glued):
    g = glued("05_ghm")
    assert g["ghm_bin_weight_spread"] == approx(1, abs=1e-9)  # every non-empty bin weighs N / n
    assert g["ghm_first_step_inflation"] == approx(1 / (1 - 0.75))
    assert g["ghm_first_step_inflation_corrected"] == approx(1)
    assert g["ghm_mass_outlier"] < g["ce_mass_outlier"] < g["focal_mass_outlier"]
    assert g["focal_mass_easy"] < g["ce_mass_easy"] and g["ghm_mass_easy"] < g["ce_mass_easy"]
    assert g["ghm_outlier_weight_cv_m75"] < g["ghm_outlier_weight_cv_m0"]


@pytest.mark.slow
def test_gaussian_weight_numbers(glued):
    g = glued("06_gaussian_weight")
    mu, s, sigma = 0.5, 0.1, 0.1 * math.e
    assert (g["gw_mean"], g["gw_slope"]) == (mu, s) and g["gw_std"] == approx(sigma)
    sigma_min = (1 - mu) / math.sqrt(2 * math.log(1 / s))
    assert g["gw_min_std"] == approx(sigma_min, rel=1e-12) and round(g["gw_min_std"], 4) == 0.2330
    assert abs(g["gw_min_weight_at_min_std"]) < 1e-12 and g["gw_argmin_p_at_min_std"] == 1.0
    assert g["gw_min_weight_below_min_std"] < 0
    bell = lambda p: math.exp(-((p - mu) ** 2) / (2 * sigma**2))  # noqa: E731
    assert g["gw_weight_at_0"] == approx(bell(0)) and g["gw_weight_at_1"] == approx(bell(1) - s)
    assert g["gw_seed_weight_at_1"] == approx(0.9 * bell(1))  # the post's code: 0.9 g(p)
    assert g["gw_post_vs_seed_bug_weight_err"] < 1e-12 and g["gw_post_vs_09_bell_err"] < 1e-12
    assert g["gw_post_vs_seed_bug_loss_err"] < 1e-12
    assert g["gw_std_margin"] == approx(sigma / sigma_min)


@pytest.mark.slow
def test_class_level_numbers(glued):
    g = glued("07_class_level")
    n_max, n_min, n = 9408, 73, 20074  # Russian ... Vietnamese, the tutorial's files
    assert (g["names_n_total"], g["names_n_classes"]) == (n, 18)
    assert (g["names_largest"], g["names_n_largest"]) == ("Russian", n_max)
    assert (g["names_smallest"], g["names_n_smallest"]) == ("Vietnamese", n_min)
    assert g["names_ratio"] == approx(n_max / n_min)
    assert g["names_majority_acc"] == approx(n_max / n)
    assert g["names_majority_bacc"] == approx(1 / 18)
    assert g["invfreq_ratio"] == approx(n_max / n_min, rel=1e-6)  # float32 weights
    for beta, key in ((0.9, "9"), (0.99, "99"), (0.999, "999"), (0.9999, "9999")):
        effective = lambda k: (1 - beta**k) / (1 - beta)  # noqa: E731, B023
        assert g[f"cb_ratio_{key}"] == approx(effective(n_max) / effective(n_min), rel=1e-5)
    assert g["ldam_margin_ratio"] == approx((n_max / n_min) ** 0.25, rel=1e-6)
    assert g["la_offset_gap"] == approx(math.log(n_max / n_min), rel=1e-6)
    assert g["balanced_softmax_vs_la_err"] < 1e-5 and g["neutral_vs_ce_max_err"] < 1e-12
    # two Gaussians N(-1, 1), N(1, 1) with priors 0.95 / 0.05
    assert g["toy_t_bayes"] == approx(0.5 * math.log(19)) and g["toy_t_balanced"] == 0
    assert abs(g["toy_t_ce"] - g["toy_t_bayes"]) < 0.15  # fitted on 40,000 samples
    assert abs(g["toy_t_la"]) < 0.15
    assert g["toy_bacc_la"] > g["toy_bacc_ce"] + 0.15


# --- slow: the HTML ---------------------------------------------------------------------------


def _html_is_fresh() -> bool:
    index = HTML / "index.html"
    if not index.exists():
        return False
    sources = [ROOT / "_config.yml", ROOT / "_toc.yml", *build_book.toc_files()]
    sources += list(build_book.executed_dir(PROFILE).glob("*.ipynb"))
    return index.stat().st_mtime > max(p.stat().st_mtime for p in sources if p.exists())


@pytest.fixture(scope="session")
def html(executed) -> Path:
    if not _html_is_fresh():
        script = str(ROOT / "scripts" / "build_book.py")
        cmd = [sys.executable, script, "--profile", PROFILE, "--html-only"]
        subprocess.run(cmd, cwd=ROOT, check=True)
    return HTML


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id", "name"):
            if attrs.get(key):
                self.ids.add(attrs[key])
        if tag == "a" and attrs.get("href"):
            self.hrefs.append(attrs["href"])
        if tag in ("img", "script") and attrs.get("src"):
            self.hrefs.append(attrs["src"])
        if tag == "link" and attrs.get("href"):
            self.hrefs.append(attrs["href"])


def _parse(path: Path) -> _Links:
    parser = _Links()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


@pytest.mark.slow
def test_every_toc_entry_has_a_page(html):
    for source in build_book.toc_files():
        page = html / source.relative_to(ROOT).with_suffix(".html")
        assert page.exists(), f"no page for {source.relative_to(ROOT)}"
        assert "<h1" in page.read_text(encoding="utf-8"), f"{page} has no title"


@pytest.mark.slow
def test_no_broken_internal_links(html):
    pages = {p: _parse(p) for p in html.rglob("*.html") if "_static" not in p.parts}
    broken = []
    for page, parsed in pages.items():
        for href in parsed.hrefs:
            parts = urlsplit(href)
            if parts.scheme or parts.netloc or href.startswith(("mailto:", "javascript:", "data:")):
                continue
            target = page if not parts.path else (page.parent / unquote(parts.path)).resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{page.relative_to(html)} -> {href}")
            elif parts.fragment and target.suffix == ".html":
                ids = pages[target].ids if target in pages else _parse(target).ids
                if unquote(parts.fragment) not in ids:
                    broken.append(f"{page.relative_to(html)} -> {href} (no such anchor)")
    assert not broken, "broken links:\n" + "\n".join(broken[:50])


@pytest.mark.slow
def test_glued_values_reach_the_prose(html, glued):
    page = (html / "book" / "03_gradient_imbalance.html").read_text(encoding="utf-8")
    share = glued("03_gradient_imbalance")["blog_easy_share"]
    assert f">{share:.1%}<" in page
    for path in html.joinpath("book").glob("*.html"):
        if path.name == "api.html":  # docstrings may mention the roles
            continue
        text = path.read_text(encoding="utf-8")
        assert "{glue" not in text and ".ipynb::" not in text, f"unresolved glue in {path.name}"
