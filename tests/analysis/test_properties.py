"""Properties that must hold on any input (Hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import compute_indicators
from tests.analysis.data import ratings_table

SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def surveys(draw):
    """A small random survey: 1-2 institutions, 1-4 programmes, 1-2 years, clustered raters."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n_inst = draw(st.integers(1, 2))
    n_prog = draw(st.integers(1, 4))
    years = [2024, 2025][: draw(st.integers(1, 2))]
    n_domains = draw(st.integers(1, 2))
    missing = draw(st.sampled_from([0.0, 0.1, 0.5]))
    responses = []
    for i in range(n_inst):
        for p in range(n_prog):
            for y in years:
                n = int(rng.integers(0, 13))
                raters = rng.integers(0, max(1, n // 2 + 1), n)
                for k in range(n):
                    items = []
                    for d in range(n_domains):
                        lo, hi = [(1, 5), (1, 7), (0, 10)][d]
                        for j in range(1 + d):
                            s = None if rng.random() < missing else int(rng.integers(lo, hi + 1))
                            items.append((f"d{d}", f"d{d}i{j}", s, lo, hi))
                    items.append(("overall", "ov", int(rng.integers(1, 6)), 1, 5))
                    if rng.random() < 0.8:
                        items.append(("recommend", "rec", int(rng.integers(0, 11)), 0, 10))
                    responses.append(
                        {
                            "institution": f"U{i}",
                            "programme": f"P{p}",
                            "year": y,
                            "response_id": f"R{i}{p}{y}-{k}",
                            "subject_id": f"G{i}{p}{y}-{int(rng.integers(0, max(1, n)))}",
                            "rater_id": f"E{i}{p}-{raters[k]}",
                            "items": items,
                        }
                    )
    if not responses:
        responses.append({"items": [("overall", "ov", 4, 1, 5)]})
    return responses


@SETTINGS
@given(surveys())
def test_intervals_contain_the_estimate(responses):
    for r in compute_indicators(ratings_table(responses), min_n=1):
        if r.ci_low is not None and r.ci_high is not None:
            assert r.ci_low <= r.estimate + 1e-12 and r.estimate <= r.ci_high + 1e-12, r


@SETTINGS
@given(surveys(), st.integers(1, 8))
def test_suppression_never_leaks_a_value(responses, min_n):
    for r in compute_indicators(ratings_table(responses), min_n=min_n):
        if r.suppressed:
            hidden = (r.n, r.estimate, r.ci_low, r.ci_high, r.p_value, r.p_adjusted, r.effect_size)
            assert hidden == (None,) * 7 and r.target_status is None
            assert set(r.flags) <= {"pooled", "secondary_suppression"}
        else:
            assert r.n is not None and r.n >= min_n


@SETTINGS
@given(surveys(), st.randoms(use_true_random=False))
def test_permuting_rows_changes_nothing(responses, random):
    table = ratings_table(responses)
    order = list(range(len(table["score"])))
    random.shuffle(order)
    shuffled = {k: v[order] for k, v in table.items()}
    assert compute_indicators(table) == compute_indicators(shuffled)


@SETTINGS
@given(surveys(), st.data())
def test_a_new_raters_response_changes_no_other_group(responses, data):
    base = compute_indicators(ratings_table(responses), min_n=1)
    target = data.draw(st.sampled_from(responses))
    new = {
        **{k: target[k] for k in ("institution", "programme", "year") if k in target},
        "response_id": "NEW",
        "subject_id": data.draw(st.sampled_from([target.get("subject_id", "G"), "GNEW"])),
        "rater_id": "ENEW",
        "items": [(d, i, None if s is None else lo, lo, hi) for d, i, s, lo, hi in target["items"]],
    }
    after = compute_indicators(ratings_table([*responses, new]), min_n=1)
    inst, prog = target.get("institution", "U1"), target.get("programme", "P1")

    def others(records):
        # with min_n = 1 nothing is suppressed, so only the group and its institution's
        # "*" row can change
        return [r for r in records if r.institution != inst or r.programme not in (prog, "*")]

    assert others(base) == others(after)


@SETTINGS
@given(surveys(), st.integers(2, 8))
def test_suppressed_values_cannot_be_recovered_by_subtraction(responses, min_n):
    records = compute_indicators(ratings_table(responses), min_n=min_n)
    by_key = {
        (r.institution, r.programme, r.year, r.instrument, r.indicator, r.domain): r
        for r in records
        if "pooled" not in r.flags
    }
    families: dict[tuple, list] = {}
    for r in records:
        if r.indicator.endswith("_change"):
            # a change is the difference of two yearly values, so it is hidden exactly when
            # one of them is, and it reveals nothing the yearly records do not
            base = r.indicator.removesuffix("_change")
            years = [
                by_key[(r.institution, r.programme, y, r.instrument, base, r.domain)]
                for y in (r.year, r.year - 1)
            ]
            assert r.suppressed == any(y.suppressed for y in years)
            continue
        key = (r.institution, r.year, r.instrument, r.indicator, r.domain, "pooled" in r.flags)
        families.setdefault(key, []).append(r)
    for members in families.values():
        star = [r for r in members if r.programme == "*"]
        progs = [r for r in members if r.programme != "*"]
        hidden = [r for r in progs if r.suppressed]
        if star and not star[0].suppressed:
            # the * row minus the published programmes gives the sum of the hidden ones:
            # never a single programme's value
            assert len(hidden) != 1, [
                (r.programme, r.domain, r.suppressed, r.flags) for r in members
            ]
