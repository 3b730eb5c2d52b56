"""The interval primitives against independent implementations (statsmodels, scipy, pingouin)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pingouin
import pytest
import statsmodels.api as sm
from numpy.testing import assert_allclose
from scipy import stats as st
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from analysis import stats


def _one_cell_moments(y, raters):
    raters = np.asarray(raters)
    _, cl = np.unique(raters, return_inverse=True)
    cell = np.zeros(len(y), dtype=int)
    return stats.cluster_moments(np.asarray(y, float), cell, cl, np.zeros(cl.max() + 1, int), 1)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cluster_robust_mean_matches_statsmodels(seed):
    rng = np.random.default_rng(seed)
    G = 12
    sizes = rng.integers(1, 6, G)
    raters = np.repeat(np.arange(G), sizes)
    y = rng.normal(60, 15, G)[raters] + rng.normal(0, 10, len(raters))
    n, mean, V, _s2, g = _one_cell_moments(y, raters)
    fit = sm.OLS(y, np.ones(len(y))).fit(
        cov_type="cluster", cov_kwds={"groups": raters}, use_t=True
    )
    N = len(y)
    # statsmodels' default small-sample factor is G/(G−1)·(N−1)/(N−K); the contract's is
    # G/(G−1). For a mean K = 1, so (N−1)/(N−K) = 1 and the two agree exactly.
    assert_allclose(V[0], fit.bse[0] ** 2, rtol=1e-12)
    # the same without any correction: use_correction=False gives the bare sandwich
    bare = sm.OLS(y, np.ones(len(y))).fit(
        cov_type="cluster", cov_kwds={"groups": raters, "use_correction": False}, use_t=True
    )
    assert_allclose(V[0], bare.bse[0] ** 2 * G / (G - 1), rtol=1e-12)
    assert_allclose(mean[0], fit.params[0])
    assert n[0] == N and g[0] == G
    # t with G − 1 degrees of freedom, as statsmodels uses for clusters (df_correction)
    low, high = stats.t_interval(mean, V, g - 1)
    t = st.t.ppf(0.975, G - 1)
    assert_allclose([low[0], high[0]], [mean[0] - t * V[0] ** 0.5, mean[0] + t * V[0] ** 0.5])
    # and statsmodels' interval (t with G − 1 df under use_t with clusters) is ours
    assert_allclose([low[0], high[0]], fit.conf_int()[0], rtol=1e-12)


def test_unclustered_variance_is_s2_over_n():
    y = np.array([50.0, 75.0, 100.0, 25.0, 75.0])
    _n, mean, V, s2, G = _one_cell_moments(y, np.arange(5))
    # by hand: mean 65, deviations −15, 10, 35, −40, 10 → SS 3250, s² = 812.5, V = 162.5
    assert mean[0] == 65.0 and s2[0] == 812.5 and V[0] == 162.5 and G[0] == 5


def test_single_cluster_has_no_variance():
    _n, mean, V, _s2, G = _one_cell_moments([1.0, 2.0, 3.0], [7, 7, 7])
    assert G[0] == 1 and np.isnan(V[0]) and mean[0] == 2.0


@pytest.mark.parametrize("x,n", [(0, 10), (1, 10), (7, 20), (20, 20), (13, 57), (1, 1)])
@pytest.mark.parametrize("level", [0.9, 0.95])
def test_wilson_matches_statsmodels(x, n, level):
    low, high = stats.wilson_interval(x / n, n, confidence_level=level)
    ref = proportion_confint(x, n, alpha=1 - level, method="wilson")
    assert_allclose([low, high], ref, rtol=1e-12, atol=1e-15)


def test_wilson_with_infinite_n_is_a_point():
    low, high = stats.wilson_interval(0.3, np.inf)
    assert low == pytest.approx(0.3) and high == pytest.approx(0.3)


@pytest.mark.parametrize("x1,n1,x2,n2", [(15, 30, 10, 40), (0, 12, 3, 9), (20, 20, 5, 25)])
def test_newcombe_matches_statsmodels(x1, n1, x2, n2):
    l1, u1 = stats.wilson_interval(x1 / n1, n1)
    l2, u2 = stats.wilson_interval(x2 / n2, n2)
    low, high = stats.newcombe_interval(x1 / n1, l1, u1, x2 / n2, l2, u2)
    ref = confint_proportions_2indep(x1, n1, x2, n2, method="newcomb", compare="diff")
    assert_allclose([low, high], ref, rtol=1e-10)


@pytest.mark.parametrize("x1,n1,x2,n2", [(15, 30, 10, 40), (1, 12, 3, 9), (20, 25, 5, 25)])
def test_pearson_chi2_matches_scipy(x1, n1, x2, n2):
    p = stats.pearson_chi2_pvalue(x1 / n1, n1, x2 / n2, n2)
    table = [[x1, n1 - x1], [x2, n2 - x2]]
    ref = st.chi2_contingency(table, correction=False).pvalue
    assert_allclose(p, ref, rtol=1e-10)


def test_pearson_chi2_is_one_when_pooled_proportion_is_degenerate():
    assert stats.pearson_chi2_pvalue(0.0, 10, 0.0, 12) == 1.0
    assert stats.pearson_chi2_pvalue(1.0, 10, 1.0, 12) == 1.0


def test_welch_matches_scipy_ttest_ind():
    rng = np.random.default_rng(3)
    a, b = rng.normal(60, 10, 14), rng.normal(55, 20, 23)
    V1, V2 = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    low, high, p = stats.welch(a.mean() - b.mean(), V1, V2, len(a), len(b))
    ref = st.ttest_ind(a, b, equal_var=False)
    assert_allclose(p, ref.pvalue, rtol=1e-10)
    assert_allclose([low, high], ref.confidence_interval(0.95), rtol=1e-10)


def test_cohens_h_by_hand():
    # h = 2 asin √0.5 − 2 asin √0.25 = π/2 − π/3 = π/6
    assert_allclose(stats.cohens_h(0.5, 0.25), np.pi / 6)


def test_cliffs_delta_matches_brute_force():
    rng = np.random.default_rng(5)
    x = rng.integers(1, 6, 17).astype(float)
    y = rng.integers(1, 6, 11).astype(float)
    brute = (np.sign(x[:, None] - y[None, :])).mean()
    vals = np.r_[x, y]
    first = np.r_[np.ones(17, bool), np.zeros(11, bool)]
    got = stats.cliffs_delta(vals, np.zeros(28, int), first, 1)
    assert_allclose(got[0], brute)
    # by hand: X = {3, 4}, Y = {1, 3}: pairs 3>1, 3=3, 4>1, 4>3 → (3 − 0)/4 = 0.75
    got = stats.cliffs_delta([3, 4, 1, 3], [0, 0, 0, 0], [True, True, False, False], 1)
    assert got[0] == 0.75


def test_holm_matches_statsmodels_per_family():
    rng = np.random.default_rng(7)
    p = rng.uniform(0, 0.1, 30)
    p[[2, 9]] = [1e-20, 1e-300]
    family = rng.integers(0, 4, 30)
    got = stats.holm(p, family)
    for f in range(4):
        m = family == f
        assert_allclose(got[m], multipletests(p[m], method="holm")[1], rtol=1e-14)


def test_holm_leaves_nan_out():
    got = stats.holm([0.01, np.nan, 0.04], [0, 0, 0])
    assert_allclose(got[[0, 2]], multipletests([0.01, 0.04], method="holm")[1])
    assert np.isnan(got[1])


@pytest.mark.parametrize("level", [0.9, 0.95])
def test_feldt_matches_pingouin(level):
    rng = np.random.default_rng(11)
    true = rng.normal(0, 1, 40)
    wide = pd.DataFrame({f"i{j}": true + rng.normal(0, 0.8, 40) for j in range(5)})
    alpha_ref, ci_ref = pingouin.cronbach_alpha(wide, ci=level)
    C = np.cov(wide.to_numpy(), rowvar=False)
    alpha = 5 / 4 * (1 - np.trace(C) / C.sum())
    assert_allclose(alpha, alpha_ref, rtol=1e-12)
    low, high = stats.feldt_interval(
        np.array([alpha]), np.array([40]), np.array([5]), confidence_level=level
    )
    # pingouin rounds its interval to 3 decimals
    assert_allclose([low[0], high[0]], ci_ref, atol=5e-4 + 1e-12)


def test_median_interval_by_hand():
    # n = 10 at 95%: P(B ≤ 1) = 11/1024 ≤ 0.025 < P(B ≤ 2) = 56/1024 → ranks 2 and 9
    x = np.array([9.0, 1, 7, 3, 5, 2, 8, 4, 6, 10])
    n, med, low, high = stats.median_interval(x, np.zeros(10, int), 1)
    assert (n[0], med[0], low[0], high[0]) == (10, 5.5, 2.0, 9.0)
    # n = 5: even [x(1), x(5)] covers only 1 − 2/32 = 93.75% < 95% → no interval
    n, med, low, high = stats.median_interval(x[:5], np.zeros(5, int), 1)
    assert med[0] == 5.0 and np.isnan(low[0]) and np.isnan(high[0])
    # … but it does at 90%
    n, med, low, high = stats.median_interval(x[:5], np.zeros(5, int), 1, confidence_level=0.9)
    assert (low[0], high[0]) == (1.0, 9.0)


def test_confidence_level_is_checked():
    with pytest.raises(ValueError, match="confidence_level must be strictly between 0 and 1"):
        stats.wilson_interval(0.5, 10, confidence_level=95)
