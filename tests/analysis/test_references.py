"""Every indicator against an independent implementation, each on data of its own.

References: statsmodels (cluster-robust OLS on a constant, Wilson, Newcombe, Holm), scipy
(Welch's t-test, Pearson's χ², binomial order statistics), pingouin (Cronbach's alpha with
Feldt's interval), the ``krippendorff`` package (ordinal alpha), and values worked by hand.
The references are computed from the long table with pandas, independently of
``analysis``'s own grouping code.
"""

from __future__ import annotations

import krippendorff
import numpy as np
import pandas as pd
import pingouin
import pytest
import statsmodels.api as sm
from numpy.testing import assert_allclose
from scipy import stats as st
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from analysis import compute_indicators
from analysis.synthetic import synthetic_invited, synthetic_outcomes, synthetic_ratings
from tests.analysis.data import one

KEY = ["institution", "programme", "year", "instrument"]


def _frame(ratings) -> pd.DataFrame:
    df = pd.DataFrame(ratings)
    df["pomp"] = 100 * (df.score - df.scale_min) / (df.scale_max - df.scale_min)
    return df


def _domain_scores(df: pd.DataFrame) -> pd.DataFrame:
    """Response × domain scores by the contract's rule, written out with pandas."""
    comp = df[~df.domain.isin(["overall", "recommend"])]
    g = comp.groupby(["response_id", "rater_id", "domain", *KEY])
    u = g.pomp.agg(["mean", "count", "size"]).reset_index()
    return u[(u["count"] >= 1) & (2 * u["count"] >= u["size"])].rename(columns={"mean": "score"})


def _sm_cluster(y, groups):
    """statsmodels' cluster-robust mean; its default CR1 factor G/(G−1)·(N−1)/(N−K) is the
    contract's G/(G−1) for a mean (K = 1)."""
    fit = sm.OLS(np.asarray(y, float), np.ones(len(y))).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(groups)[0]}, use_t=True
    )
    return fit.params[0], fit.bse[0] ** 2, fit.conf_int()[0]


def _wilson_deff(y, groups, level=0.95):
    y = np.asarray(y, float)
    n = len(y)
    p, V, _ = _sm_cluster(y, groups)
    s2 = y.var(ddof=1)
    G = len(set(groups))
    deff = 1.0 if n == G else V / (s2 / n)
    n_eff = n / deff if s2 > 0 else n
    # statsmodels' Wilson accepts a non-integer count and nobs
    return p, proportion_confint(p * n_eff, n_eff, alpha=1 - level, method="wilson")


@pytest.fixture(scope="module")
def clustered():
    ratings = synthetic_ratings(
        institutions=2, programmes=2, years=(2025,), responses_per_group=40, seed=21
    )
    return ratings, compute_indicators(ratings, min_n=1, previous_year=False)


@pytest.mark.parametrize("programme", ["P00", "P01", "*"])
def test_domain_score_matches_statsmodels_cluster(clustered, programme):
    ratings, records = clustered
    units = _domain_scores(_frame(ratings))
    units = units[units.institution == "U001"]
    if programme != "*":
        units = units[units.programme == programme]
    for domain, u in units.groupby("domain"):
        rec = one(
            records,
            institution="U001",
            programme=programme,
            indicator="domain_score",
            domain=domain,
        )
        est, _V, (lo, hi) = _sm_cluster(u.score, u.rater_id)
        assert rec.n == len(u)
        assert rec.method == "t-cluster"
        assert_allclose(
            [rec.estimate, rec.ci_low, rec.ci_high], [est, max(lo, 0), min(hi, 100)], rtol=1e-10
        )


def test_domain_satisfied_matches_wilson_on_effective_n(clustered):
    ratings, records = clustered
    units = _domain_scores(_frame(ratings))
    units = units[(units.institution == "U000") & (units.programme == "P01")]
    for domain, u in units.groupby("domain"):
        rec = one(
            records,
            institution="U000",
            programme="P01",
            indicator="domain_satisfied",
            domain=domain,
        )
        p, (lo, hi) = _wilson_deff((u.score >= 75).astype(float), u.rater_id)
        assert rec.method == "wilson-deff"
        assert_allclose([rec.estimate, rec.ci_low, rec.ci_high], [p, lo, hi], rtol=1e-10)


def test_overall_satisfied_and_nps_match_references(clustered):
    ratings, records = clustered
    df = _frame(ratings)
    g = df[(df.institution == "U000") & (df.programme == "P00")]
    ov = g[(g.domain == "overall") & g.score.notna()]
    p, (lo, hi) = _wilson_deff((ov.score >= 4).astype(float), ov.rater_id)  # top two of 1-5
    rec = one(records, institution="U000", programme="P00", indicator="overall_satisfied")
    assert_allclose([rec.estimate, rec.ci_low, rec.ci_high], [p, lo, hi], rtol=1e-10)
    rc = g[(g.domain == "recommend") & g.score.notna()]
    v = np.select([rc.score >= 9, rc.score >= 7], [100.0, 0.0], -100.0)
    est, _V, (lo, hi) = _sm_cluster(v, rc.rater_id)
    rec = one(records, institution="U000", programme="P00", indicator="nps")
    assert_allclose(
        [rec.estimate, rec.ci_low, rec.ci_high], [est, max(lo, -100), min(hi, 100)], rtol=1e-10
    )
    assert rec.n == len(rc)


def test_cronbach_alpha_matches_pingouin(clustered):
    ratings, records = clustered
    df = _frame(ratings)
    g = df[(df.institution == "U001") & (df.programme == "P01")]
    for domain in ["knowledge", "communication", "digital"]:
        wide = (
            g[g.domain == domain].pivot(index="response_id", columns="item", values="pomp").dropna()
        )
        alpha, ci = pingouin.cronbach_alpha(wide)
        rec = one(
            records, institution="U001", programme="P01", indicator="cronbach_alpha", domain=domain
        )
        assert rec.n == len(wide) and rec.method == "feldt"
        assert_allclose(rec.estimate, alpha, rtol=1e-10)
        # pingouin rounds its interval to 3 decimals
        assert_allclose([rec.ci_low, rec.ci_high], ci, atol=5e-4 + 1e-12)


def test_institution_wide_cronbach_alpha_matches_pingouin():
    """The ``*`` row pools the complete responses of every programme with the domain's full
    item set; a programme whose form lacks an item has no complete response there."""
    rng = np.random.default_rng(21)
    rows, wide_full, wide_short = [], [], []
    for programme, items in (("P1", 3), ("P2", 3), ("P3", 2)):
        for r in range(40):
            true = rng.normal(3, 1)
            scores = [int(np.clip(round(true + rng.normal(0, 0.7)), 1, 5)) for _ in range(items)]
            if r % 9 == 0:
                scores[r % items] = None  # incomplete: left out of alpha
            rows.append(
                {
                    "programme": programme,
                    "response_id": f"{programme}-{r}",
                    "items": [("skills", f"s{j}", s, 1, 5) for j, s in enumerate(scores)],
                }
            )
            if None not in scores:
                (wide_full if items == 3 else wide_short).append(scores)
    from tests.analysis.data import ratings_table

    records = compute_indicators(ratings_table(rows), previous_year=False)
    star = one(records, programme="*", indicator="cronbach_alpha", domain="skills")
    alpha, ci = pingouin.cronbach_alpha(pd.DataFrame(wide_full, dtype=float))
    assert star.n == len(wide_full) and star.method == "feldt"
    assert_allclose(star.estimate, alpha, rtol=1e-10)
    assert_allclose([star.ci_low, star.ci_high], ci, atol=5e-4 + 1e-12)
    # the short form's own programme row still has its alpha over two items
    p3 = one(records, programme="P3", indicator="cronbach_alpha", domain="skills")
    alpha3, _ = pingouin.cronbach_alpha(pd.DataFrame(wide_short, dtype=float))
    assert p3.n == len(wide_short)
    assert_allclose(p3.estimate, alpha3, rtol=1e-10)


def test_one_item_domain_has_no_cronbach_alpha(clustered):
    _, records = clustered
    assert not [
        r
        for r in records
        if r.indicator == "cronbach_alpha" and r.domain in ("overall", "recommend")
    ]


def test_krippendorff_alpha_matches_package():
    ratings = synthetic_ratings(
        institutions=1,
        programmes=1,
        years=(2025,),
        responses_per_group=120,
        double_rated=0.5,
        seed=4,
    )
    records = compute_indicators(ratings, min_n=1, previous_year=False)
    df = _frame(ratings)
    for domain in ["skills", "communication"]:
        d = df[(df.domain == domain) & df.pomp.notna()]
        d = d.assign(unit=d.subject_id + "/" + d.item)
        counts = d.groupby("unit").size()
        d = d[d.unit.isin(counts[counts >= 2].index)]
        data = d.pivot(index="response_id", columns="unit", values="pomp").to_numpy()
        expected = krippendorff.alpha(reliability_data=data, level_of_measurement="ordinal")
        rec = one(records, programme="P00", indicator="krippendorff_alpha", domain=domain)
        assert_allclose(rec.estimate, expected, rtol=1e-10)
        assert rec.n == d.subject_id.nunique()
        assert rec.ci_low < rec.estimate < rec.ci_high
        assert rec.method == "bootstrap"


def test_krippendorff_by_hand():
    """Two raters, three graduates, one item on 1-5: (1, 2), (3, 3), (5, 4).

    Pairable values 1,2,3,3,5,4 → mid-ranks 1, 2, 3.5, 3.5, 6, 5. Within-unit squared
    deviations: 0.5 + 0 + 0.5 = 1, times m/(m−1) = 2 → 2. Total SS about the mean 3.5:
    6.25 + 2.25 + 0 + 0 + 6.25 + 2.25 = 17. α = 1 − (6−1)/6 · 2/17 = 1 − 10/102 = 0.90196…
    """
    rows = []
    for g, (a, b) in enumerate([(1, 2), (3, 3), (5, 4)]):
        for rater, s in (("A", a), ("B", b)):
            rows.append(
                {
                    "subject_id": f"G{g}",
                    "rater_id": rater,
                    "response_id": f"{rater}{g}",
                    "items": [("skills", "s1", s, 1, 5)],
                }
            )
    from tests.analysis.data import ratings_table

    records = compute_indicators(ratings_table(rows), min_n=1, previous_year=False)
    rec = one(records, programme="P1", indicator="krippendorff_alpha", domain="skills")
    assert_allclose(rec.estimate, 1 - 10 / 102)
    assert_allclose(
        rec.estimate,
        krippendorff.alpha(reliability_data=[[1, 3, 5], [2, 3, 4]], level_of_measurement="ordinal"),
    )


def test_outcome_indicators_match_references():
    outcomes = synthetic_outcomes(institutions=1, programmes=2, years=(2025,), seed=3)
    ratings = synthetic_ratings(institutions=1, programmes=2, years=(2025,), seed=3)
    records = compute_indicators(ratings, outcomes=outcomes, min_n=1, previous_year=False)
    o = pd.DataFrame(outcomes)
    g = o[o.programme == "P01"]
    known = g[g.employed.notna()]
    rec = one(records, programme="P01", indicator="employment_rate")
    x, n = int(known.employed.sum()), len(known)
    assert rec.n == n and rec.instrument is None and rec.method == "wilson"
    assert_allclose(
        [rec.estimate, rec.ci_low, rec.ci_high], [x / n, *proportion_confint(x, n, method="wilson")]
    )
    emp = g[g.employed == 1]
    for name, col in (
        ("retention_12m", "retained_12m"),
        ("partner_employment", "partner_employer"),
    ):
        k = emp[emp[col].notna()]
        rec = one(records, programme="P01", indicator=name)
        x, n = int(k[col].sum()), len(k)
        assert_allclose(
            [rec.estimate, rec.ci_low, rec.ci_high],
            [x / n, *proportion_confint(x, n, method="wilson")],
        )
    m = np.sort(g.months_to_employment.dropna().to_numpy())
    n = len(m)
    # order statistics: the largest l with P(B ≤ l−1) ≤ 2.5%, B ~ Binomial(n, 1/2)
    low_rank = max(k for k in range(1, n + 1) if st.binom.cdf(k - 1, n, 0.5) <= 0.025)
    rec = one(records, programme="P01", indicator="months_to_employment")
    assert (rec.n, rec.estimate, rec.ci_low, rec.ci_high) == (
        n,
        np.median(m),
        m[low_rank - 1],
        m[n - low_rank],
    )


def test_response_rate_matches_wilson():
    ratings = synthetic_ratings(institutions=1, programmes=2, years=(2025,), seed=8)
    invited = synthetic_invited(ratings, rate=0.55)
    records = compute_indicators(ratings, invited=invited, previous_year=False)
    inv = pd.DataFrame(invited)
    n_resp = pd.DataFrame(ratings).groupby("programme").response_id.nunique()
    for prog in ["P00", "P01"]:
        N = int(inv.loc[inv.programme == prog, "invited"].iloc[0])
        rec = one(records, programme=prog, indicator="response_rate")
        x = int(n_resp[prog])
        assert_allclose(
            [rec.estimate, rec.ci_low, rec.ci_high],
            [x / N, *proportion_confint(x, N, method="wilson")],
        )
    star = one(records, programme="*", indicator="response_rate")
    x, N = int(n_resp.sum()), int(inv.invited.sum())
    assert_allclose(
        [star.estimate, star.ci_low, star.ci_high],
        [x / N, *proportion_confint(x, N, method="wilson")],
    )


def test_fpc_multiplies_the_variance():
    ratings = synthetic_ratings(
        institutions=1,
        programmes=1,
        years=(2025,),
        responses_per_group=30,
        graduates_per_rater=1.0,
        seed=9,
    )
    invited = synthetic_invited(ratings, rate=0.6)
    plain = compute_indicators(ratings, invited=invited, previous_year=False)
    fpc = compute_indicators(ratings, invited=invited, fpc=True, previous_year=False)
    N = int(invited["invited"][0])
    a = one(plain, programme="P00", indicator="domain_score", domain="skills")
    b = one(fpc, programme="P00", indicator="domain_score", domain="skills")
    n = a.n
    assert b.method == a.method + "+fpc"
    assert_allclose(
        b.ci_high - b.estimate, (a.ci_high - a.estimate) * np.sqrt((N - n) / (N - 1)), rtol=1e-10
    )
    # proportions: V·f → deff·f → Wilson on n/f
    a = one(plain, programme="P00", indicator="overall_satisfied")
    b = one(fpc, programme="P00", indicator="overall_satisfied")
    f = (N - a.n) / (N - 1)
    assert_allclose(
        [b.ci_low, b.ci_high], proportion_confint(a.estimate * a.n / f, a.n / f, method="wilson")
    )


def _two_years(seed, clustered: bool):
    ratings = synthetic_ratings(
        institutions=1,
        programmes=1,
        years=(2024, 2025),
        responses_per_group=45,
        graduates_per_rater=3.0 if clustered else 1.0,
        double_rated=0.0,
        seed=seed,
    )
    return ratings, compute_indicators(ratings)


def test_mean_change_matches_welch_ttest_when_unclustered():
    ratings, records = _two_years(12, clustered=False)
    units = _domain_scores(_frame(ratings))
    u = units[(units.domain == "skills") & (units.programme == "P00")]
    a, b = u[u.year == 2025].score.to_numpy(), u[u.year == 2024].score.to_numpy()
    rec = one(records, programme="P00", indicator="domain_score_change", domain="skills")
    ref = st.ttest_ind(a, b, equal_var=False)
    assert rec.method == "welch"
    assert_allclose(rec.estimate, a.mean() - b.mean(), rtol=1e-12)
    assert_allclose(rec.p_value, ref.pvalue, rtol=1e-9)
    assert_allclose([rec.ci_low, rec.ci_high], ref.confidence_interval(0.95), rtol=1e-9)
    assert_allclose(rec.effect_size, np.sign(a[:, None] - b[None, :]).mean(), rtol=1e-12)


def test_mean_change_uses_cluster_robust_variances():
    ratings, records = _two_years(13, clustered=True)
    units = _domain_scores(_frame(ratings))
    u = units[(units.domain == "teamwork") & (units.programme == "P00")]
    parts = [u[u.year == y] for y in (2025, 2024)]
    (m1, V1, _), (m2, V2, _) = (_sm_cluster(p.score, p.rater_id) for p in parts)
    G1, G2 = (p.rater_id.nunique() for p in parts)
    df = (V1 + V2) ** 2 / (V1**2 / (G1 - 1) + V2**2 / (G2 - 1))
    t = (m1 - m2) / np.sqrt(V1 + V2)
    rec = one(records, programme="P00", indicator="domain_score_change", domain="teamwork")
    assert rec.method == "welch-cluster"
    assert_allclose(rec.p_value, 2 * st.t.sf(abs(t), df), rtol=1e-9)
    half = st.t.ppf(0.975, df) * np.sqrt(V1 + V2)
    assert_allclose([rec.ci_low, rec.ci_high], [m1 - m2 - half, m1 - m2 + half], rtol=1e-9)


def test_proportion_change_matches_newcombe_chi2_and_cohens_h():
    ratings, records = _two_years(14, clustered=False)
    df = _frame(ratings)
    ov = df[(df.domain == "overall") & df.score.notna()]
    x = [int((ov[ov.year == y].score >= 4).sum()) for y in (2025, 2024)]
    n = [int((ov.year == y).sum()) for y in (2025, 2024)]
    rec = one(records, programme="P00", indicator="overall_satisfied_change")
    ci = confint_proportions_2indep(x[0], n[0], x[1], n[1], method="newcomb", compare="diff")
    chi = st.chi2_contingency([[x[0], n[0] - x[0]], [x[1], n[1] - x[1]]], correction=False)
    p1, p2 = x[0] / n[0], x[1] / n[1]
    assert rec.method == "newcombe"
    assert_allclose([rec.estimate, rec.ci_low, rec.ci_high], [p1 - p2, *ci], rtol=1e-10)
    assert_allclose(rec.p_value, chi.pvalue, rtol=1e-10)
    assert_allclose(rec.effect_size, 2 * np.arcsin(np.sqrt(p1)) - 2 * np.arcsin(np.sqrt(p2)))


def test_holm_adjusts_over_the_change_records_of_a_group():
    _, records = _two_years(15, clustered=False)
    fam = [r for r in records if r.indicator.endswith("_change") and r.programme == "P00"]
    assert len(fam) >= 10
    p = np.array([r.p_value for r in fam])
    assert_allclose([r.p_adjusted for r in fam], multipletests(p, method="holm")[1], rtol=1e-12)
    for r in fam:
        assert ("significant" in r.flags) == (r.p_adjusted < 0.05)


def test_institution_invitations_include_programmes_without_responses():
    ratings = synthetic_ratings(institutions=1, programmes=2, years=(2025,), seed=8)
    invited = synthetic_invited(ratings, rate=0.5)
    invited = {k: np.r_[v, v[:1]] for k, v in invited.items()}
    invited["programme"][-1] = "P99"  # invited, nobody answered
    invited["invited"][-1] = 40
    records = compute_indicators(ratings, invited=invited, previous_year=False)
    x = pd.DataFrame(ratings).response_id.nunique()
    N = int(np.sum(invited["invited"]))
    star = one(records, programme="*", indicator="response_rate")
    assert_allclose(star.estimate, x / N)
    assert not [r for r in records if r.programme == "P99"]
