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
import math
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import numpy as np
import pytest
import torch

# the executed notebooks and the HTML: the session fixtures ``executed`` and ``html`` of
# tests/conftest.py, built by the helper module tests/_book_build.py
from _book_build import PROFILE, ROOT, build_book

from imbloss.book import PROFILE_NAMES, check_profile, plain, repo_root, results_dir

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


def test_only_selects_notebooks_by_prefix():
    notebooks = build_book.toc_notebooks()
    picked = build_book.selected(notebooks, ["02", "07"])
    assert [nb.name for nb in picked] == ["02_accuracy_paradox.ipynb", "07_class_level.ipynb"]
    assert build_book.selected(notebooks, None) == notebooks
    with pytest.raises(SystemExit, match="no notebook starts with that"):
        build_book.selected(notebooks, ["99"])


def test_papermill_parameters_fold_into_the_tagged_cell(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook()
    tagged = nbformat.v4.new_code_cell('# the profile\nPROFILE = "ci"\nEPOCHS = None')
    tagged.metadata["tags"] = ["parameters"]
    injected = nbformat.v4.new_code_cell('# Parameters\nPROFILE = "full"\n')
    injected.metadata["tags"] = ["injected-parameters"]
    nb.cells = [tagged, injected, nbformat.v4.new_code_cell("x = 1")]
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    build_book.fold_injected_parameters(path)
    cells = nbformat.read(path, as_version=4).cells
    assert [c.source for c in cells] == ['# the profile\nPROFILE = "full"\nEPOCHS = None', "x = 1"]


def test_table_prints_what_a_reader_should_see():
    import pandas as pd

    from imbloss.book import MISSING, table

    frame = pd.DataFrame(
        {"macro-F1": [0.4791, np.nan], "wins": [3.0, 0.0], "n": [1399, 11], "share": [0.519, 0.1]},
        index=pd.Index(["ce", "focal"], name="loss"),
    )
    frame.columns.name = "metric"  # would be a second header row in pandas' HTML
    t = table(frame, percent=["share"])
    assert t.header == ["loss", "macro-F1", "wins", "n", "share"]
    assert t.rows == [
        ["ce", "0.479", "3", "1,399", "51.9 %"],
        ["focal", MISSING, "0", "11", "10.0 %"],
    ]
    html = t._repr_html_()
    assert html.count("<tr>") == 3 and "NaN" not in html and "3.0" not in html
    assert html.startswith('<div class="imbloss-table">')  # scrolls in its own box (CSS)
    assert "NaN" not in repr(t) and repr(t).splitlines()[0].split() == t.header
    assert table(frame, index=False).header == ["macro-F1", "wins", "n", "share"]
    with pytest.raises(ValueError, match="percent columns"):
        table(frame, percent=["recall"])


LITERALINCLUDE_RE = re.compile(r"```\{literalinclude\} (\S+)\n((?::[\w-]+:.*\n)*)```")


def test_chapters_show_the_package_code_by_name():
    """Chapters 4-8 show the package's own computing lines (literalinclude + :pyobject:); each
    names a file of src/imbloss and an object in it, found as Sphinx's literalinclude finds it
    (the build's -W fails the same way when a name moves)."""
    from sphinx.pycode import ModuleAnalyzer

    shown = {}
    for md in sorted((ROOT / "book").glob("*.md")):
        for path, options in LITERALINCLUDE_RE.findall(md.read_text(encoding="utf-8")):
            source = (md.parent / path).resolve()
            assert source.is_file() and source.is_relative_to(ROOT / "src" / "imbloss"), path
            name = re.search(r"^:pyobject: (\S+)$", options, re.M)
            assert name, f"{md.name}: {path} without :pyobject:"
            tags = ModuleAnalyzer.for_file(str(source), "").find_tags()
            assert name.group(1) in tags, f"{md.name}: {name.group(1)} is not in {path}"
            shown.setdefault(md.name[:2], []).append(name.group(1))
    assert sorted(shown) == ["04", "05", "06", "07", "08"], shown


def test_readers_install_line_is_the_configured_repository():
    import yaml

    url = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"].rstrip("/")
    line = f'pip install "imbloss[plots] @ git+{url}"'
    for name in ("book/intro.md", "README.md"):
        assert line in (ROOT / name).read_text(encoding="utf-8"), f"{name} lacks {line!r}"


def test_try_this_exercises_say_what_the_reader_will_see():
    """The expected outcomes that the chapters' "Try this" sections promise."""
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score

    # chapter 2: B with 30, then 40 false alarms, against A (always positive)
    y = np.array([0] * 95 + [1] * 5)
    a = np.zeros_like(y)
    f1_a = f1_score(y, a, average="macro", zero_division=0)
    for alarms, acc, bacc, f1 in ((30, 0.69, 0.74, 0.51), (40, 0.59, 0.69, 0.45)):
        b = y.copy()
        b[:alarms], b[95] = 1, 0
        assert accuracy_score(y, b) == approx(acc, abs=0.005)
        assert balanced_accuracy_score(y, b) == approx(bacc, abs=0.005) and bacc > 0.5
        assert f1_score(y, b, average="macro") == approx(f1, abs=0.005)
    assert f1_a == approx(0.487, abs=0.001) and 0.45 < f1_a < 0.51  # ranks flip at 40
    # chapter 3: hard examples with a total error of 1 instead of 2
    assert 0.95 / (0.95 + 1.0) == approx(0.487, abs=0.001) and (1 - 0.8) / 0.01 == approx(20)

    def focal_share(gamma, p_easy=0.99, p_hard=0.6):  # |dFL/dz_t| = (1-p) phi(p)
        size = lambda p: (1 - p) ** gamma * (1 - p - gamma * p * math.log(p))  # noqa: E731
        return 95 * size(p_easy) / (95 * size(p_easy) + 5 * size(p_hard))

    assert focal_share(0.5) == approx(0.08, abs=0.005)
    assert focal_share(5.0) == approx(6e-9, rel=0.1)
    # chapter 4: the range of p_t where focal (through the factor) pulls harder than CE
    p = np.linspace(0.001, 0.999, 999)

    def phi(p, gamma):
        return (1 - p) ** gamma - gamma * p * (1 - p) ** (gamma - 1) * np.log(p)

    assert p[phi(p, 1.0) > 1].max() == approx(0.37, abs=0.005)
    assert p[phi(p, 5.0) > 1].max() == approx(0.20, abs=0.005)
    # chapter 6: with slope 0.2 the smallest width exceeds the post's 0.1 e
    sigma_min = 0.5 / math.sqrt(2 * math.log(5))
    assert sigma_min == approx(0.28, abs=0.005) and sigma_min > 0.1 * math.e
    # chapter 7: the learned threshold (1 - tau) log(19) / 2, and 5 % of the Russian names
    for tau, threshold in ((0.5, 0.74), (2.0, -1.47)):
        assert (1 - tau) * 0.5 * math.log(19) == approx(threshold, abs=0.005)
    assert 11 / (11 + 0.05 * 1399) == approx(0.14, abs=0.005)
    # chapter 7, the limit in view at mu = 2: Phi(-2), CE's threshold log(100) / 4, its gap
    from scipy.stats import norm

    t_ce = math.log(100) / 4
    gap = 0.5 * (norm.sf(t_ce + 2) + norm.cdf(t_ce - 2)) - norm.cdf(-2)
    assert (norm.cdf(-2), t_ce, gap) == (
        approx(0.023, abs=5e-4),
        approx(1.15, abs=5e-3),
        approx(0.077, abs=5e-4),
    )
    # ... and plain LDAM's population threshold there (s = 30, margins 15 * (1, 100^(-1/4)))
    from scipy.optimize import minimize

    nodes, w = np.polynomial.hermite_e.hermegauss(120)
    w, margin = w / w.sum(), 15.0 * np.array([100**-0.25, 1.0])

    def ldam_risk(p):  # g = 30 (a x + b) = z_1 - z_0 in LDAM's scaled units
        g0, g1 = 30 * (p[0] * (nodes - 2) + p[1]), 30 * (p[0] * (nodes + 2) + p[1])
        common = np.sum(w * np.logaddexp(0, g0 + margin[0]))
        rare = np.sum(w * np.logaddexp(0, margin[1] - g1))
        return (100 * common + rare) / 101

    a, b = minimize(ldam_risk, [0.1, 0.0], method="Nelder-Mead", options={"xatol": 1e-9}).x
    ldam_gap = 0.5 * (norm.sf(-b / a + 2) + norm.cdf(-b / a - 2)) - norm.cdf(-2)
    assert 0 < -b / a < t_ce and ldam_gap == approx(0.05, abs=0.005) and ldam_gap < gap


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
    assert g["gw_blog_weight_at_1"] == approx(0.9 * bell(1))  # the post's code: 0.9 g(p)
    assert g["gw_post_vs_blog_code_weight_err"] < 1e-12 and g["gw_post_vs_09_bell_err"] < 1e-12
    assert g["gw_post_vs_blog_code_loss_err"] < 1e-12
    assert g["gw_std_margin"] == approx(sigma / sigma_min)


@pytest.mark.slow
def test_class_level_numbers(glued):
    g = glued("07_class_level")
    # the files (the tutorial's 18 text files) ...
    assert (g["files_n_lines"], g["files_n_distinct"]) == (20074, 20074 - 2059)
    assert (g["files_n_arabic"], g["files_n_arabic_distinct"]) == (2000, 108)
    # ... and what the model learns from: the training part of the de-duplicated split
    n_max, n_min, n = g["names_n_largest"], g["names_n_smallest"], g["names_n_total"]
    assert g["names_n_classes"] == 18 and n < g["files_n_distinct"] * 0.75
    assert (g["names_largest"], g["names_smallest"]) == ("Russian", "Vietnamese")
    assert g["names_ratio"] == approx(n_max / n_min) and g["names_ratio"] > g["files_ratio"]
    assert g["names_majority_acc"] == approx(n_max / n)
    assert g["names_majority_bacc"] == approx(1 / 18)
    # the head class of chapter 3 is this Russian share of the training names
    assert glued("03_gradient_imbalance")["run_head_data_share"] == approx(n_max / n)
    # the bridge: moving a share q of the largest test class to the smallest
    big, small, q = g["names_test_largest"], g["names_test_smallest"], g["bridge_q"]
    assert (big, small, q) == (1399, 11, 0.01)
    assert g["bridge_false_alarms"] == approx(q * big) and g["bridge_false_alarms"] > small
    assert g["bridge_best_precision"] == approx(small / (small + q * big))
    assert g["bridge_best_precision"] < 0.5 and g["bridge_q_half"] == approx(small / big)
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


def test_class_level_limit(glued):
    """The limit in view: two Gaussians N(-mu, 1), N(mu, 1), prior 100:1, a linear model."""
    from scipy.stats import norm

    g = glued("07_class_level")
    mu, ratio = g["lim_mu"], g["lim_ratio"]
    assert (mu, ratio) == (1.0, 100)

    def ber(t):  # balanced error of "the rare class when x > t"
        return 0.5 * (norm.sf(t + mu) + norm.cdf(t - mu))

    def macro_f1(t):
        pi1, pi0 = 1 / (ratio + 1), ratio / (ratio + 1)
        tp1, fn1, tp0, fn0 = (
            pi1 * norm.sf(t - mu),
            pi1 * norm.cdf(t - mu),
            pi0 * norm.cdf(t + mu),
            pi0 * norm.sf(t + mu),
        )
        return 0.5 * (2 * tp1 / (2 * tp1 + fn0 + fn1) + 2 * tp0 / (2 * tp0 + fn1 + fn0))

    assert g["lim_be_bayes"] == approx(norm.cdf(-mu)) and ber(0.0) == approx(norm.cdf(-mu))
    assert g["lim_t_accuracy"] == approx(math.log(ratio) / (2 * mu))
    assert g["lim_excess_accuracy_rule"] == approx(ber(g["lim_t_accuracy"]) - norm.cdf(-mu))
    assert g["lim_recall_accuracy_rule"] == approx(norm.sf(g["lim_t_accuracy"] - mu))
    assert g["lim_recall_accuracy_rule"] < 0.1  # "finds only ... of the rare examples"
    consistent, calibrated = ("weighted_ce", "la", "bs", "posthoc"), ("ce", "focal", "gw")
    assert g["lim_max_grad"] < 1e-5  # every fit reached a stationary point
    # the population limits: the consistent losses at the balanced threshold 0 ...
    assert g["lim_t_consistent_max"] == max(abs(g[f"lim_t_{k}"]) for k in consistent)
    for key in consistent:
        assert abs(g[f"lim_t_{key}"]) < 1e-4, key
        assert g[f"lim_excess_{key}"] < 1e-8, key
    # ... CE exactly at the accuracy threshold (its linear model is well specified), focal and
    # GW within 0.05 of it (their pointwise boundary is the same; the linear fit moves it a bit)
    assert g["lim_t_ce"] == approx(g["lim_t_accuracy"], abs=1e-4)
    for key in calibrated:
        assert abs(g[f"lim_t_{key}"] - g["lim_t_accuracy"]) < 0.05, key
        assert g[f"lim_excess_{key}"] == approx(ber(g[f"lim_t_{key}"]) - norm.cdf(-mu))
        assert g[f"lim_excess_{key}"] > 0.25, key
    # LDAM with s = 30, margins 0.5 (100)^(-1/4) and 0.5 in logit units of z
    s0, s1 = g["lim_ldam_s_margin_common"], g["lim_ldam_s_margin_rare"]
    assert (s0, s1) == (approx(15 * ratio**-0.25, rel=1e-6), approx(15.0))
    odds = (1 / (1 + math.exp(-s0))) / (1 / (1 + math.exp(-s1)))
    assert g["lim_ldam_odds"] == approx(odds, rel=1e-6) and 0.5 < odds < 1  # never reaches 1/100
    assert g["lim_ldam_t_pointwise"] == approx((math.log(ratio) + math.log(odds)) / (2 * mu))
    assert g["lim_t_ldam"] > g["lim_t_ce"] + 1 and g["lim_excess_ldam"] > g["lim_excess_ce"]
    # the samples: consistent losses shrink toward 0 roughly as 1/n, the others level off
    assert (g["lim_n_min"], g["lim_n_max"]) == (1_000, 100_000) and g["lim_repeats"] >= 3
    for key in consistent:
        small, large = g[f"lim_excess_{key}_nmin"], g[f"lim_excess_{key}_nmax"]
        assert large < 1e-3 and large < small / 10, key
    assert -1.6 < g["lim_slope_la"] < -0.6
    for key in (*calibrated, "ldam"):
        assert g[f"lim_excess_{key}_nmax"] == approx(g[f"lim_excess_{key}"], abs=0.02), key
    # macro-F1: its best threshold lies between the balanced and the accuracy thresholds
    t_f1 = g["lim_t_f1"]
    assert 0.5 < t_f1 < g["lim_t_accuracy"] - 0.5
    assert g["lim_f1_opt"] == approx(macro_f1(t_f1))
    assert macro_f1(t_f1 - 0.01) < g["lim_f1_opt"] > macro_f1(t_f1 + 0.01)
    assert g["lim_f1_balanced"] == approx(macro_f1(0.0))
    assert g["lim_f1_accuracy_rule"] == approx(macro_f1(g["lim_t_accuracy"]))
    assert g["lim_f1_opt"] > max(g["lim_f1_balanced"], g["lim_f1_accuracy_rule"]) + 0.05


# --- slow: the HTML ---------------------------------------------------------------------------


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


# --- slow: trained results of the experiment chapters ----------------------------------------
#
# Bands around what PROFILE=ci measured (3 seeds on a CPU; the runs are deterministic there,
# so the bands leave room for other CPUs and library versions, not for luck). Facts that
# follow from the data or the mathematics are checked exactly for every profile; bands of
# trained metrics exist for "ci" only and are skipped for other profiles.

BANDS = {
    "ci": {
        # measured: 0.130 at seed 0 (0.114 - 0.135 over seeds 0-2)
        "ce_easy_share_last": (0.06, 0.25),
        # measured: 0.477 (mean of 10 seeds, cosine schedule, 20 epochs)
        "names_ce_macro_f1": (0.44, 0.52),
        "names_ce_balanced_accuracy": (0.42, 0.50),  # measured 0.455
        "digits_ce_r1": (0.93, 0.99),  # measured 0.971
        "digits_ce_r100": (0.70, 0.85),  # measured 0.771
        "ghm_easy_bin_last": (0.40, 0.75),  # measured 0.580
    }
}


def band(name: str):
    if PROFILE not in BANDS:
        pytest.skip(f"no measured bands for PROFILE={PROFILE!r} (only {sorted(BANDS)})")
    return BANDS[PROFILE][name]


def within(value: float, name: str) -> bool:
    low, high = band(name)
    return low <= value <= high


@pytest.mark.slow
def test_measured_gradient_shares(glued):
    g = glued("03_gradient_imbalance")
    # data: the head (largest classes holding half the training names) is Russian alone
    assert g["run_head_classes"] == "Russian" and 0.5 <= g["run_head_data_share"] < 0.55
    assert within(g["run_ce_easy_share_last"], "ce_easy_share_last")
    assert g["run_ce_easy_share_first"] < g["run_ce_easy_share_last"]  # grows as p_t -> 1
    lo, hi = g["run_ce_easy_share_last_min"], g["run_ce_easy_share_last_max"]
    assert lo <= g["run_ce_easy_share_last"] <= hi and hi - lo < 0.1
    # the modulators cut the easy share, as their formulas say; class weights raise it
    assert g["run_focal_easy_share_last"] < g["run_ce_easy_share_last"] / 10
    assert g["run_ghm_easy_share_last"] < g["run_ce_easy_share_last"] / 5
    assert g["run_gw_easy_share_last"] < g["run_ce_easy_share_last"]
    assert g["run_weighted_ce_easy_share_last"] > g["run_ce_easy_share_last"]
    # the head pulls less than its share of the examples, and less as training goes on
    assert g["run_ce_head_share_first"] < g["run_head_data_share"]
    assert g["run_ce_head_share_last"] < g["run_ce_head_share_first"]
    assert g["run_weighted_ce_head_share_last"] < g["run_ce_head_share_last"]
    assert g["run_ldam_mean_pt_last"] < 0.5  # p_t on raw logits, before LDAM's scale of 30


@pytest.mark.slow
def test_ghm_real_run_and_cost(glued):
    g = glued("05_ghm")
    from imbloss import LOSSES

    # a real run: U-shaped at the start, decreasing with no pile of outliers at the end
    assert g["ghm_run_outlier_bin_first"] > 0.2
    assert g["ghm_run_easy_bin_last"] > g["ghm_run_easy_bin_first"]
    assert g["ghm_run_outlier_bin_last"] < g["ghm_run_middle_min_last"]
    assert g["ghm_run_weight_outlier_vs_easy"] > 1  # the crowded easy bin weighs less
    assert within(g["ghm_run_easy_bin_last"], "ghm_easy_bin_last")
    # the benchmark table covers every loss; GHM-C does strictly more work than CE
    assert all(name in g["bench_table"] for name in LOSSES)
    assert 1.0 < g["bench_ghm_ratio"] < 3.0
    assert g["bench_max_ratio"] >= g["bench_ghm_ratio"]


@pytest.mark.slow
def test_experiment_data_facts(glued):
    g = glued("08_experiment")
    assert g["data_lines"] == 20074 and g["data_duplicates"] == 2059
    assert g["data_duplicates_arabic"] == 2000 - 108 and g["data_arabic_rows"] == 108
    assert g["data_rows"] == 20074 - 2059 and g["data_cross_names"] == 469
    assert g["data_n_train"] + g["data_n_val"] + g["data_n_test"] == g["data_rows"]
    assert (g["data_train_largest"], g["data_train_smallest"]) == ("Russian", "Vietnamese")
    assert g["data_train_ratio"] == approx(g["data_train_n_largest"] / g["data_train_n_smallest"])
    # seven seeds per chosen setting, ten conditions, grids on two seeds (the ci profile)
    if PROFILE == "ci":
        assert g["sweep_n_seeds"] == 7 and g["sweep_n_tune_seeds"] == 2
        assert g["sweep_n_conditions"] == 10


@pytest.mark.slow
def test_experiment_budget_converged(glued):
    g = glued("08_experiment")
    # the criterion: the last quarter adds at most 0.01 validation macro-F1 (median)
    assert g["converge_max_median_gain"] <= 0.01
    assert abs(g["budget_2x_diff"]) < 0.02  # twice the epochs changes CE's test macro-F1 little
    assert g["budget_2x_tuning_seeds_only"]  # the prose says the 2x check ran on those only
    # runs that still gain > 0.01 late: a far larger share of LDAM-DRW's (second stage at 80 %)
    drw_share = g["converge_drw_late"] / g["converge_drw_runs"]
    assert drw_share > 2 * g["converge_other_late"] / g["converge_other_runs"]
    digits = glued("09_imbalance_ratio")
    assert digits["digits_budget_max_diff"] < 0.01
    # the 2x check is vacuous for CE, whose budget never binds (its latest selected epoch is
    # well before the end), and other conditions select later
    assert digits["digits_latest_selected_epoch_ce"] < 0.75 * digits["digits_epochs"]
    assert digits["digits_latest_selected_epoch_other"] > digits["digits_latest_selected_epoch_ce"]


@pytest.mark.slow
def test_experiment_results(glued):
    g = glued("08_experiment")
    assert within(g["macro_f1_ce"], "names_ce_macro_f1")
    assert within(g["balanced_accuracy_ce"], "names_ce_balanced_accuracy")
    # natural macro-F1: no primary contrast is reliably better than CE after Holm
    assert g["macro_f1_n_better"] == 0
    if PROFILE == "ci":  # one primary contrast per condition besides CE; CE's own rules
        # (post-hoc tau, cRT, tau-norm) and its tuned weight decay where validation kept one
        ce_rows = 3 + (g["macro_f1_ce_wd"] != "none")
        assert g["macro_f1_n_rows"] == g["sweep_n_conditions"] - 1 + ce_rows
    # ... which is no evidence of equality: the best observed gain is below what the design
    # detects with 80 % power, and its interval reaches zero
    assert 0.005 < g["macro_f1_median_mde"] < 0.05
    assert g["macro_f1_best_trained_diff"] < g["macro_f1_best_trained_mde"]
    assert g["macro_f1_best_trained_diff"] < g["macro_f1_median_mde"]
    # the tuning seeds do not carry the comparison: without them no contrast moves by much
    assert g["macro_f1_max_tuning_shift"] < 0.5 * g["macro_f1_median_mde"]
    # the seeds for a median MDE of 0.02: more than ran exactly when the MDE is above 0.02
    more = g["macro_f1_seeds_for_mde_002"] > g["sweep_n_seeds"]
    assert more == (g["macro_f1_median_mde"] > 0.02)
    assert g["macro_f1_best_trained_p_holm"] > 0.05
    # "the best trained condition" is the one validation ranks first, not test
    for metric in ("macro_f1", "balanced_accuracy"):
        vals = {
            k.removeprefix(f"{metric}_val_"): v
            for k, v in g.items()
            if k.startswith(f"{metric}_val_")
        }
        assert g[f"{metric}_best_trained_condition"] == max(vals, key=vals.get), metric
    # calibration on the natural mix: the logit-changing losses and a balanced-prior
    # threshold cost NLL against CE; plain LDAM's scale makes it over-confident
    for name in ("logit_adjusted", "ldam_drw", "ldam"):
        assert g[f"calib_nll_{name}"] > g["calib_nll_ce"], name
    assert g["calib_nll_ce_balanced_posthoc"] > g["calib_nll_ce"]
    assert g["calib_ece_ldam"] > g["calib_ece_ce"]
    # CE a little over-confident, plain LDAM far more, focal less than CE
    over = {k: g[f"calib_overconfidence_{k}"] for k in ("ce", "ldam", "focal")}
    assert 0 < over["ce"] < over["ldam"] and over["focal"] < over["ce"]
    # focal loss is better calibrated than CE (both measures)
    assert g["calib_nll_focal"] < g["calib_nll_ce"] and g["calib_ece_focal"] < g["calib_ece_ce"]
    assert abs(g["macro_f1_ce_posthoc_diff"]) < 0.02 and g["macro_f1_ce_posthoc_p"] > 0.05
    # balanced accuracy: post-hoc tau on CE alone gains as much as training with the
    # class-level losses, and the gain is significant after Holm
    assert g["balanced_accuracy_ce_posthoc_diff"] > 0.05
    assert g["balanced_accuracy_ce_posthoc_p"] < 0.05
    assert g["balanced_accuracy_logit_adjusted_p"] < 0.05
    assert g["balanced_accuracy_ldam_drw_p"] < 0.05
    for name in ("logit_adjusted", "cb_ce", "ldam_drw"):
        gain = g[f"balanced_accuracy_{name}_diff"]
        assert abs(gain - g["balanced_accuracy_ce_posthoc_diff"]) < 0.03, name
        # beyond CE + post-hoc tau, training with the loss adds little
        assert abs(g[f"balanced_accuracy_{name}_posthoc_over_ce_posthoc"]) < 0.03, name
    # an example modulator does not move balanced accuracy detectably: its interval holds 0
    assert abs(g["balanced_accuracy_focal_diff"]) < 0.02
    assert g["balanced_accuracy_focal_ci_low"] < 0 < g["balanced_accuracy_focal_ci_high"]
    # plain LDAM (scale 30 on raw logits) gains less than LDAM-DRW as published
    assert g["balanced_accuracy_ldam_diff"] < g["balanced_accuracy_ldam_drw_diff"]
    # the baselines (re-sampling, cRT, tau-norm, tuned weight decay): on natural macro-F1 no
    # difference detected, each interval holding 0
    for key in ("ce_resampled", "crt", "taunorm", "ce_wd"):
        low, high = g[f"macro_f1_{key}_ci_low"], g[f"macro_f1_{key}_ci_high"]
        assert low < 0 < high, key
        assert g[f"macro_f1_{key}_" + ("p" if key == "ce_resampled" else "p_holm")] > 0.05, key
    # on balanced accuracy re-sampling and cRT gain like the class-level losses, significantly,
    # and less than post-hoc tau on the plain models
    for key in ("ce_resampled", "crt"):
        gain = g[f"balanced_accuracy_{key}_diff"]
        assert g[f"balanced_accuracy_{key}_ci_low"] > 0.03, key
        assert gain < g["balanced_accuracy_ce_posthoc_diff"], key
    assert g["balanced_accuracy_ce_resampled_p"] < 0.05 and g["balanced_accuracy_crt_p_holm"] < 0.05
    # tau-norm gains little: the weight norms do not follow the class counts, the bias does
    assert 0 < g["balanced_accuracy_taunorm_diff"] < 0.25 * g["balanced_accuracy_crt_diff"]
    assert abs(g["taunorm_norm_count_corr"]) < 0.2 < g["taunorm_bias_count_corr"]
    # validation's tau: small for macro-F1, about 1 for balanced accuracy
    assert g["tau_macro_f1_median"] <= 0.5 <= 0.75 <= g["tau_balanced_accuracy_median"]


@pytest.mark.slow
def test_the_blog_claim_without_a_threshold(glued):
    g = glued("08_experiment")
    # GW does not separate English / French / Dutch better than CE: a lower mean pairwise
    # AUC, its interval below zero, and a confusion rate whose interval holds zero
    assert g["claim_auc_gw"] < g["claim_auc_ce"]
    assert g["claim_auc_gw_minus_ce"] == approx(g["claim_auc_gw"] - g["claim_auc_ce"], abs=1e-9)
    assert g["claim_auc_gw_high"] < 0 and g["claim_auc_gw_p"] < 0.05
    assert g["claim_efd_gw_minus_ce"] == approx(g["claim_efd_gw"] - g["claim_efd_ce"], abs=1e-9)
    assert g["claim_efd_gw_low"] < 0 < g["claim_efd_gw_high"]  # "no difference detected"
    assert g["claim_auc_higher_gw"] <= 0.3 * g["sweep_n_seeds"]
    # logit adjustment lowers the confusion rate by sending names out of the block, while
    # its pairwise AUC does not beat CE's
    assert g["claim_efd_logit_adjusted"] < g["claim_efd_ce"]
    assert g["claim_outside_logit_adjusted"] > g["claim_outside_ce"]
    assert g["claim_auc_logit_adjusted"] <= g["claim_auc_ce"] + 0.005


@pytest.mark.slow
def test_imbalance_ratio(glued):
    from imbloss.data import longtail_class_sizes

    g = glued("09_imbalance_ratio")
    assert g["digits_n_max"] == 134 and g["digits_n_test"] == 200
    for ratio in (1, 10, 100):
        sizes = longtail_class_sizes(134, 10, ratio)
        assert g[f"digits_n_train_r{ratio}"] == sum(sizes)
        assert g[f"digits_n_min_r{ratio}"] == sizes[-1]
    assert (g["digits_n_min_r10"], g["digits_n_min_r100"]) == (13, 1)  # the tails differ
    assert within(g["digits_macro_f1_ce_r1"], "digits_ce_r1")
    assert within(g["digits_macro_f1_ce_r100"], "digits_ce_r100")
    # equal counts: class weights and logit offsets are constant, so they compute CE
    # (bit for bit on the CPU)
    for name in ("cb_ce", "logit_adjusted", "ce_posthoc"):
        diff = g[f"digits_macro_f1_diff_{name}_r1"]
        assert (diff == 0) if PROFILE == "ci" else abs(diff) < 0.02
    # ... but not LDAM-DRW, whose classifier, margin and schedule differ at equal counts
    assert g["digits_macro_f1_diff_ldam_drw_r1"] != 0
    assert 0 < g["digits_macro_f1_median_mde_r100"] < 0.05  # the caption's power
    # at rho = 100 the prior matters: post-hoc tau and logit adjustment gain, significantly
    for metric in ("macro_f1", "balanced_accuracy"):
        for name in ("ce_posthoc", "logit_adjusted"):
            assert g[f"digits_{metric}_diff_{name}_r100"] > 0.04
            assert g[f"digits_{metric}_p_{name}_r100"] < 0.05
        # the gain grows with the ratio
        assert (
            g[f"digits_{metric}_diff_logit_adjusted_r100"]
            > g[f"digits_{metric}_diff_logit_adjusted_r10"]
        )
        # the example modulator barely moves it; LDAM-DRW gains less than logit adjustment
        assert abs(g[f"digits_{metric}_diff_focal_r100"]) < 0.03
        assert (
            g[f"digits_{metric}_diff_ldam_drw_r100"]
            < g[f"digits_{metric}_diff_logit_adjusted_r100"]
        )
    # the baselines at rho = 100: cRT and re-sampling gain less than post-hoc tau alone,
    # tau-norm barely moves
    posthoc = g["digits_macro_f1_diff_ce_posthoc_r100"]
    assert 0 < g["digits_macro_f1_diff_ce_crt_r100"] < posthoc
    assert 0 < g["digits_macro_f1_diff_ce_resampled_r100"] < posthoc
    assert abs(g["digits_macro_f1_diff_ce_taunorm_r100"]) < 0.02
    # data or prior: at rho = 100 the skew costs far more than the missing images, and
    # post-hoc adjustment recovers a large part of the skew's cost
    assert g["digits_split_skew_r100"] > 3 * g["digits_split_data_r100"]
    assert 0.3 < g["digits_split_share_r100"] < 1.0


@pytest.mark.slow
def test_practical_guide(glued):
    g = glued("10_practical_guide")
    names, digits = glued("08_experiment"), glued("09_imbalance_ratio")
    # validation picks a rule with post-hoc tau in most situations, which is built in:
    # with tau = 0 in the grid a post-hoc rule never loses on validation (up to float16)
    assert g["guide_n_picks"] == 6 and g["guide_n_posthoc_picks"] >= 4
    assert g["guide_min_posthoc_val_gain"] > -0.005
    # an example modulator can move digits' balanced accuracy at rho = 100 (GHM-C), but by a
    # fraction of what post-hoc tau gains there
    ghm = digits["digits_balanced_accuracy_diff_ghm_r100"]
    assert 0 < ghm < 0.5 * digits["digits_balanced_accuracy_diff_ce_posthoc_r100"]
    # where the prior is wrong for the metric, the pick's gain is large and significant
    for key in ("names_balanced_accuracy", "digits100_macro_f1", "digits100_balanced_accuracy"):
        assert g[f"pick_{key}_diff"] > 0.05 and g[f"pick_{key}_p"] < 0.05, key
    # on names, scored by natural macro-F1, the pick gains about a hundredth: far below the
    # gains where the prior is wrong and below chapter 8's median MDE, where
    # no primary contrast is detectably better than CE
    small = g["pick_names_macro_f1_diff"]
    assert 0 < small < 0.02 and small < names["macro_f1_median_mde"]
    assert small < 0.25 * min(
        g[f"pick_{k}_diff"]
        for k in ("names_balanced_accuracy", "digits100_macro_f1", "digits100_balanced_accuracy")
    )
    assert names["macro_f1_n_better"] == 0
    assert digits["digits_macro_f1_ce_r1"] > digits["digits_macro_f1_ce_r100"]
    # beyond CE + post-hoc tau, no family adds much on average
    for name in ("focal", "gw", "ghm", "cb_ce", "logit_adjusted", "ldam_drw", "weighted_ce"):
        assert abs(g[f"guide_beyond_posthoc_{name}"]) < 0.02, name


# --- slow: clean notebook pages and readable HTML ----------------------------------------------

STEMS = [nb.stem for nb in build_book.toc_notebooks()]
BUILD_PATH_MARKS = (str(ROOT), "site-packages", "/tmp/", "/home/", "Warning:", "Traceback")
RAW_LATEX = re.compile(r"\$[^$\n]*\\[A-Za-z]+|\\(gamma|tau|beta|sigma|frac)\b")


@pytest.mark.slow
@pytest.mark.parametrize("stem", STEMS)
def test_executed_notebook_pages_are_clean(executed, stem):
    """What the notebook page shows: no warnings or build paths, one parameters cell,
    no stray values, no raw LaTeX in printed text, alt text on every figure."""
    import nbformat

    nb = nbformat.read(executed[stem], as_version=4)
    tags = [c.metadata.get("tags", []) for c in nb.cells]
    assert not any("injected-parameters" in t for t in tags), "papermill's cell is on the page"
    assert sum("parameters" in t for t in tags) == 1
    problems = []
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            kind = out.get("output_type")
            if kind == "stream":
                text = out.get("text", "")
                if out.get("name") == "stderr":
                    problems.append(f"cell {i}: stderr {text[:200]!r}")
                if RAW_LATEX.search(text):
                    problems.append(f"cell {i}: raw LaTeX in printed text {text[:200]!r}")
            elif kind == "error":
                problems.append(f"cell {i}: {out.get('ename')}: {out.get('evalue')}")
            else:
                data = out.get("data", {})
                if kind == "execute_result" and set(data) == {"text/plain"}:
                    problems.append(f"cell {i}: stray value {data['text/plain'][:80]!r}")
                if "image/png" in data and not out.get("metadata", {}).get("imbloss"):
                    problems.append(f"cell {i}: a figure without alt text (use glue_figure)")
                text = " ".join(str(v) for k, v in data.items() if k.startswith("text/"))
            if kind == "stream":
                text = out.get("text", "")
            marks = [m for m in BUILD_PATH_MARKS if m in text]
            if marks:
                problems.append(f"cell {i}: {marks} in {text[:200]!r}")
    assert not problems, f"{stem}:\n" + "\n".join(problems)


class _Page(HTMLParser):
    """The article of a page: its images, its tables' header rows and its text."""

    def __init__(self):
        super().__init__()
        self.depth = 0  # inside <article>
        self.images: list[dict] = []
        self.head_rows: list[int] = []
        self.text: list[str] = []
        self.cells: list[str] = []  # the text of every table cell
        self._in_thead = False
        self._in_cell = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "article":
            self.depth += 1
        if not self.depth:
            return
        if tag == "img":
            self.images.append(attrs)
        elif tag == "thead":
            self._in_thead = True
            self.head_rows.append(0)
        elif tag == "tr" and self._in_thead:
            self.head_rows[-1] += 1
        elif tag in ("td", "th"):
            self._in_cell = True
            self.cells.append("")

    def handle_endtag(self, tag):
        if tag == "article":
            self.depth -= 1
        elif tag == "thead":
            self._in_thead = False
        elif tag in ("td", "th"):
            self._in_cell = False

    def handle_data(self, data):
        if self.depth:
            self.text.append(data)
            if self._in_cell:
                self.cells[-1] += data


@pytest.mark.slow
@pytest.mark.parametrize(
    "page",
    [f.relative_to(ROOT).with_suffix("").as_posix() for f in build_book.toc_files()],
)
def test_pages_show_no_build_paths_or_pandas_artefacts(html, page):
    path = html / f"{page}.html"
    parsed = _Page()
    parsed.feed(path.read_text(encoding="utf-8"))
    text = " ".join(parsed.text)
    problems = [
        f"{m!r} in the text" for m in (str(ROOT), "site-packages", "TqdmWarning") if m in text
    ]
    problems += [f"table cell {c.strip()!r}" for c in parsed.cells if c.strip() in ("NaN", "nan")]
    problems += [f"a table with {n} header rows" for n in parsed.head_rows if n > 1]
    for img in parsed.images:
        src, alt = img.get("src", ""), (img.get("alt") or "").strip()
        name = src.rsplit("/", 1)[-1]
        if not alt or alt == src or alt.endswith((".png", ".svg", ".jpg")) or "_images/" in alt:
            problems.append(f"image {name} has no real alt text: {alt!r}")
    assert not problems, f"{page}:\n" + "\n".join(problems)


# --- the time each notebook says it takes ------------------------------------------------------

STATED_TIME_RE = re.compile(
    r"\*\*Time:\*\* about (?P<n>\d+(?:\.\d+)?) (?P<unit>s|min) on a 2-core CPU"
)
NOTEBOOK_STEMS = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.slow
@pytest.mark.parametrize("stem", NOTEBOOK_STEMS)
def test_a_notebook_states_the_time_it_took(executed, stem):
    """Each notebook's first cell states the time `make book` measured on the 2-core CPU of
    CI, idle, and says that no GPU time was measured. The executed copy's own time
    (papermill's ``duration``) lies in a band around the stated one: never under half of it,
    and at most four times it, which a machine shared with other work can reach."""
    import nbformat

    first = nbformat.read(ROOT / "notebooks" / f"{stem}.ipynb", as_version=4).cells[0].source
    stated = STATED_TIME_RE.search(first)
    assert stated, f"{stem}: the first cell states no '**Time:** about N s|min on a 2-core CPU'"
    assert "not measured on a GPU" in first and "Colab GPU)" not in first
    seconds = float(stated["n"]) * (60 if stated["unit"] == "min" else 1)
    took = nbformat.read(executed[stem], as_version=4).metadata.papermill.duration
    # a few seconds of kernel start-up dominate the notebooks that train nothing
    assert 0.5 * seconds - 5 <= took <= 4 * seconds + 10, (stem, seconds, took)
