"""What a committee member would notice: suppression, flags, targets, pooling, edge cases."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from analysis import FIELDS, Indicator, compute_indicators
from analysis.synthetic import synthetic_ratings
from tests.analysis.data import domain_items, find, one, ratings_table, simple_responses


def test_record_fields_and_to_dict():
    assert tuple(f.name for f in dataclasses.fields(Indicator)) == FIELDS
    records = compute_indicators(ratings_table(simple_responses([5, 4, 3, 4, 5, 2])))
    d = records[0].to_dict()
    assert tuple(d) == FIELDS
    json.dumps([r.to_dict() for r in records])  # plain JSON types only
    with pytest.raises(dataclasses.FrozenInstanceError):
        records[0].n = 3


def test_records_are_sorted_and_have_both_levels():
    records = compute_indicators(synthetic_ratings(seed=2))
    keys = [(r.institution, r.programme, r.year) for r in records]
    assert keys == sorted(keys)
    assert {r.programme for r in records} == {"*", "P00", "P01", "P02"}


def test_dataframe_input_equals_dict_input():
    ratings = synthetic_ratings(seed=3)
    a = compute_indicators(ratings)
    b = compute_indicators(pd.DataFrame(ratings))
    text = ("institution", "programme", "instrument", "response_id", "subject_id", "rater_id")
    cat = pd.DataFrame(
        {
            k: (pd.Categorical(v) if k in (*text, "domain", "item") else v)
            for k, v in ratings.items()
        }
    )
    c = compute_indicators(cat)
    assert a == b == c


# -- small numbers ------------------------------------------------------------------------------


def _programmes(sizes: dict[str, int], seed: int = 0):
    rng = np.random.default_rng(seed)
    rows = []
    for prog, n in sizes.items():
        rows += simple_responses(
            rng.integers(1, 6, n), overall=rng.integers(1, 6, n), programme=prog
        )
    return ratings_table(rows)


def test_small_groups_are_suppressed_without_a_value():
    records = compute_indicators(_programmes({"P1": 4, "P2": 30, "P3": 40}))
    for r in find(records, programme="P1"):
        assert r.suppressed and r.n is None and r.estimate is None
        assert r.ci_low is None and r.ci_high is None and r.target_status is None
    assert not any(r.suppressed for r in find(records, programme="*"))


def test_secondary_suppression_hides_the_next_smallest_programme():
    records = compute_indicators(_programmes({"P1": 4, "P2": 12, "P3": 40, "P4": 9}))
    rec = one(records, programme="P4", indicator="overall_satisfied")
    assert rec.suppressed and rec.flags == ("secondary_suppression",)
    assert not one(records, programme="P2", indicator="overall_satisfied").suppressed
    assert not one(records, programme="*", indicator="overall_satisfied").suppressed
    # two hidden programmes: the * row minus the others gives only their sum
    assert one(records, programme="P1", indicator="responses").suppressed
    assert one(records, programme="P4", indicator="responses").suppressed


def test_no_secondary_suppression_when_two_are_already_hidden():
    records = compute_indicators(_programmes({"P1": 4, "P2": 3, "P3": 40}))
    assert not one(records, programme="P3", indicator="responses").suppressed


def test_min_n_is_a_setting():
    records = compute_indicators(_programmes({"P1": 4, "P2": 30}), min_n=3)
    assert not one(records, programme="P1", indicator="responses").suppressed
    assert one(records, programme="P1", indicator="responses").n == 4


def test_low_n_flag():
    records = compute_indicators(_programmes({"P1": 10, "P2": 30}))
    assert "low_n" in one(records, programme="P1", indicator="domain_score").flags
    assert "low_n" not in one(records, programme="P2", indicator="domain_score").flags
    records = compute_indicators(_programmes({"P1": 10, "P2": 30}), low_n=5)
    assert "low_n" not in one(records, programme="P1", indicator="domain_score").flags


def test_pooled_three_years_when_a_programme_is_small():
    rng = np.random.default_rng(1)
    rows = []
    for year in (2022, 2023, 2024, 2025):
        rows += simple_responses(rng.integers(1, 6, 8), programme="P1", year=year)
        rows += simple_responses(rng.integers(1, 6, 30), programme="P2", year=year)
    records = compute_indicators(ratings_table(rows))
    pooled = find(records, programme="P1", indicator="domain_score", year=2025)
    assert len(pooled) == 2
    yearly, pool = pooled
    assert "pooled" not in yearly.flags and "pooled" in pool.flags
    assert (yearly.n, pool.n) == (8, 24)  # 2023, 2024 and 2025, each response once
    df = pd.DataFrame(ratings_table(rows))
    d = df[(df.programme == "P1") & df.year.between(2023, 2025)]
    assert_allclose(pool.estimate, (100 * (d.score - 1) / 4).mean())
    # the large programme is not pooled; the first year has nothing to pool with
    assert len(find(records, programme="P2", indicator="domain_score", year=2025)) == 1
    assert len(find(records, programme="P1", indicator="domain_score", year=2022)) == 1


def test_single_rater_gets_no_interval():
    rows = simple_responses([5, 4, 4, 3, 5, 4], raters=["E1"] * 6, overall=[5, 4, 4, 3, 5, 4])
    records = compute_indicators(ratings_table(rows))
    for name in ("domain_score", "overall_satisfied"):
        rec = one(records, programme="P1", indicator=name)
        assert "single_rater" in rec.flags and rec.ci_low is None and rec.ci_high is None
        assert rec.estimate is not None


def test_cluster_method_names():
    rows = simple_responses([5, 4, 4, 3, 5, 4], raters=["E1", "E1", "E2", "E2", "E3", "E4"])
    records = compute_indicators(ratings_table(rows) | {}, min_n=1)
    assert one(records, programme="P1", indicator="domain_score").method == "t-cluster"
    assert one(records, programme="P1", indicator="domain_satisfied").method == "wilson-deff"
    rows = simple_responses([5, 4, 4, 3, 5, 4])
    records = compute_indicators(ratings_table(rows), min_n=1)
    assert one(records, programme="P1", indicator="domain_score").method == "t"
    assert one(records, programme="P1", indicator="domain_satisfied").method == "wilson"


# -- targets ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "overall,status",
    [([5] * 60, "met"), ([2] * 40 + [5] * 20, "not_met"), ([5] * 16 + [2] * 4, "inconclusive")],
)
def test_target_status_is_decided_on_the_interval(overall, status):
    rows = simple_responses([3] * len(overall), overall=overall)
    rec = one(
        compute_indicators(ratings_table(rows)), programme="P1", indicator="overall_satisfied"
    )
    assert rec.target == 0.8 and rec.target_status == status
    if status == "inconclusive":
        # the point estimate is above the target, but the interval reaches below it
        assert rec.estimate >= 0.8 > rec.ci_low


def test_custom_and_domain_targets():
    rows = simple_responses([5] * 30, overall=[5] * 30)
    records = compute_indicators(ratings_table(rows), targets={"domain_score:skills": 90})
    assert one(records, programme="P1", indicator="domain_score").target_status == "met"
    assert one(records, programme="P1", indicator="overall_satisfied").target is None


def test_bad_targets_are_refused():
    rows = ratings_table(simple_responses([5] * 6))
    with pytest.raises(ValueError, match="unknown indicator 'satisfaction'"):
        compute_indicators(rows, targets={"satisfaction": 0.8})
    with pytest.raises(
        ValueError,
        match=r"overall_satisfied is a proportion, expected a target in \[0, 1\], got 80",
    ):
        compute_indicators(rows, targets={"overall_satisfied": 80})


# -- edge cases ---------------------------------------------------------------------------------


def test_all_scores_equal():
    rows = [
        {"items": [*domain_items("skills", [4, 4, 4]), ("overall", "overall", 4, 1, 5)]}
        for _ in range(8)
    ]
    records = compute_indicators(ratings_table(rows))
    ds = one(records, programme="P1", indicator="domain_score")
    assert (ds.estimate, ds.ci_low, ds.ci_high) == (75.0, 75.0, 75.0)
    alpha = one(records, programme="P1", indicator="cronbach_alpha")
    assert alpha.estimate is None and "undefined" in alpha.flags
    sat = one(records, programme="P1", indicator="domain_satisfied")
    assert sat.estimate == 1.0 and sat.ci_high == 1.0 and sat.ci_low < 1.0  # p̂ = 1
    ov = one(records, programme="P1", indicator="overall_satisfied")
    assert ov.estimate == 1.0


def test_p_hat_zero():
    rows = simple_responses([1, 2, 1, 2, 3, 1, 2], overall=[1, 2, 3, 1, 2, 3, 1])
    rec = one(
        compute_indicators(ratings_table(rows)), programme="P1", indicator="overall_satisfied"
    )
    assert rec.estimate == 0.0 and rec.ci_low == 0.0 and 0 < rec.ci_high < 0.5
    assert rec.target_status == "not_met"


def test_one_response():
    records = compute_indicators(ratings_table(simple_responses([4], overall=[5])), min_n=1)
    ds = one(records, programme="P1", indicator="domain_score")
    assert ds.n == 1 and ds.estimate == 75.0 and ds.ci_low is None
    assert "single_rater" in ds.flags


def test_all_not_applicable():
    rows = [{"items": domain_items("skills", [None, None])} for _ in range(6)]
    records = compute_indicators(ratings_table(rows))
    assert one(records, programme="P1", indicator="responses").n == 6
    assert not find(records, indicator="domain_score")
    assert not find(records, indicator="cronbach_alpha")


def test_domain_score_needs_half_the_items():
    rows = [
        {"items": domain_items("skills", [5, None, None, None])},  # 1 of 4: no score
        {"items": domain_items("skills", [5, 3, None, None])},  # 2 of 4: (100 + 50)/2
    ]
    rec = one(
        compute_indicators(ratings_table(rows), min_n=1), programme="P1", indicator="domain_score"
    )
    assert (rec.n, rec.estimate) == (1, 75.0)


def test_one_item_domain_has_no_alpha():
    rows = [{"items": domain_items("skills", [s])} for s in [1, 2, 3, 4, 5, 3]]
    assert not find(compute_indicators(ratings_table(rows)), indicator="cronbach_alpha")


def test_mixed_scales_in_one_instrument():
    # POMP: 5 on 1-5 = 100, 4 on 1-7 = 50, 10 on 0-10 = 100 → mean 83.33…
    items = [("skills", "a", 5, 1, 5), ("skills", "b", 4, 1, 7), ("skills", "c", 10, 0, 10)]
    rows = [{"items": items} for _ in range(5)]
    rec = one(compute_indicators(ratings_table(rows)), programme="P1", indicator="domain_score")
    assert_allclose(rec.estimate, 250 / 3)


def test_no_previous_year_means_no_change_records():
    records = compute_indicators(ratings_table(simple_responses([5, 4, 3, 4, 5, 2])))
    assert not [r for r in records if r.indicator.endswith("_change")]


def test_previous_year_can_be_turned_off():
    records = compute_indicators(synthetic_ratings(seed=4), previous_year=False)
    assert not [r for r in records if r.indicator.endswith("_change")]


def test_changes_are_suppressed_with_their_years():
    rows = simple_responses([5, 4, 3], programme="P1", year=2024)
    rows += simple_responses([5, 4, 3, 4, 5, 4], programme="P1", year=2025)
    rows += simple_responses([5, 4, 3, 4, 5, 4, 4], programme="P2", year=2024)
    rows += simple_responses([5, 4, 3, 4, 5, 4, 5], programme="P2", year=2025)
    records = compute_indicators(ratings_table(rows))
    ch = one(records, programme="P1", indicator="domain_score_change")
    assert ch.suppressed and ch.estimate is None and ch.p_value is None


def test_change_records_skip_counts_reliabilities_and_medians():
    records = compute_indicators(synthetic_ratings(seed=5))
    names = {r.indicator for r in records if r.indicator.endswith("_change")}
    assert names == {
        "overall_satisfied_change",
        "nps_change",
        "domain_score_change",
        "domain_satisfied_change",
    }


def test_krippendorff_is_deterministic_for_a_seed():
    ratings = synthetic_ratings(institutions=1, programmes=1, double_rated=0.5, seed=6)
    a = compute_indicators(ratings, min_n=1)
    b = compute_indicators(ratings, min_n=1)
    c = compute_indicators(ratings, min_n=1, seed=1)
    ka = [r for r in a if r.indicator == "krippendorff_alpha" and r.ci_low is not None]
    kc = [r for r in c if r.indicator == "krippendorff_alpha" and r.ci_low is not None]
    assert ka and a == b
    assert [r.estimate for r in ka] == [r.estimate for r in kc]
    assert [r.ci_low for r in ka] != [r.ci_low for r in kc]


# -- bad input ----------------------------------------------------------------------------------


def _good():
    return ratings_table(simple_responses([5, 4, 3, 4, 5, 2]))


@pytest.mark.parametrize(
    "change,message",
    [
        (lambda t: t.pop("rater_id"), r"column 'rater_id': missing from the ratings table"),
        (
            lambda t: t["score"].__setitem__(2, 6),
            r"column 'score', row 3: 6 is outside the item's scale \[1, 5\]",
        ),
        (
            lambda t: t["scale_min"].__setitem__(1, 5),
            r"column 'scale_min', row 2: scale_min 5 must be below scale_max 5",
        ),
        (
            lambda t: t.__setitem__("year", np.array([2025, 2025, 2025.5, 2025, 2025, 2025])),
            r"column 'year', row 3: 2025.5 is not an integer",
        ),
        (
            lambda t: t.__setitem__(
                "year", np.array(["2025", "2025", "x", "2025", "2025", "2025"])
            ),
            r"column 'year', row 3: 'x' is not an integer",
        ),
        (
            lambda t: t["response_id"].__setitem__(4, t["response_id"][1]),
            r"column 'item', row 5: item 'skills1' appears twice in response",
        ),
        (
            lambda t: t["institution"].__setitem__(0, ""),
            r"column 'institution', row 1: empty, expected a code",
        ),
        (
            lambda t: t.__setitem__(
                "score", np.array(["5", "4", "abc", "", "5", "2"], dtype=object)
            ),
            r"column 'score', row 3: 'abc' is not a number",
        ),
    ],
)
def test_bad_ratings_are_refused_with_a_precise_message(change, message):
    table = _good()
    change(table)
    with pytest.raises(ValueError, match=message):
        compute_indicators(table)


def test_empty_scores_are_not_errors():
    table = _good()
    table["score"] = np.array(["5", "4", "", "4", None, "2"], dtype=object)
    rec = one(compute_indicators(table, min_n=1), programme="P1", indicator="domain_score")
    assert rec.n == 4


def test_a_response_must_keep_its_rater():
    table = _good()
    table["response_id"][1] = table["response_id"][0]
    table["item"][1] = "skills2"
    with pytest.raises(
        ValueError, match=r"column 'subject_id', row 2: response 'R-0' has another subject_id"
    ):
        compute_indicators(table)


def test_recommend_must_be_zero_to_ten():
    rows = [{"items": [("recommend", "recommend", 4, 1, 5)]} for _ in range(5)]
    with pytest.raises(ValueError, match="the 'recommend' item must be on the 0-10 scale"):
        compute_indicators(ratings_table(rows))


def test_bad_options_are_refused():
    table = _good()
    with pytest.raises(
        ValueError, match="confidence_level must be strictly between 0 and 1, got 95"
    ):
        compute_indicators(table, confidence_level=95)
    with pytest.raises(ValueError, match="min_n must be a positive integer, got 0"):
        compute_indicators(table, min_n=0)
    with pytest.raises(ValueError, match="fpc=True needs the invited table"):
        compute_indicators(table, fpc=True)


def test_invited_below_responses_is_refused():
    table = _good()
    invited = {
        "institution": ["U1"],
        "programme": ["P1"],
        "year": [2025],
        "instrument": ["attestation"],
        "invited": [3],
    }
    with pytest.raises(
        ValueError,
        match=r"column 'invited': \(U1, P1, 2025, attestation\) has 6 responses but only 3 "
        "invitations",
    ):
        compute_indicators(table, invited=invited)


def test_bad_outcomes_are_refused():
    table = _good()
    outcomes = {
        "institution": ["U1", "U1"],
        "programme": ["P1", "P1"],
        "year": [2025, 2025],
        "subject_id": ["G1", "G2"],
        "employed": [1, 2],
        "months_to_employment": [3, None],
        "retained_12m": [1, None],
        "partner_employer": [0, None],
    }
    with pytest.raises(ValueError, match=r"column 'employed', row 2: 2 is not 1, 0 or empty"):
        compute_indicators(table, outcomes=outcomes)


def test_pooled_record_does_not_give_away_a_hidden_year():
    rng = np.random.default_rng(2)
    rows = []
    for year, n in ((2023, 8), (2024, 8), (2025, 3)):
        rows += simple_responses(rng.integers(1, 6, n), programme="P1", year=year)
        rows += simple_responses(rng.integers(1, 6, 9), programme="P2", year=year)
        rows += simple_responses(rng.integers(1, 6, 40), programme="P3", year=year)
    records = compute_indicators(ratings_table(rows))
    yearly, pooled = find(records, programme="P1", indicator="domain_score", year=2025)
    assert yearly.suppressed and "secondary_suppression" not in yearly.flags
    # 2023 and 2024 are published: the three-year value minus them would be 2025's
    assert pooled.suppressed and pooled.flags == ("pooled", "secondary_suppression")


def test_docstring_examples():
    import doctest

    import analysis.indicators

    assert doctest.testmod(analysis.indicators).failed == 0


def test_krippendorff_units_need_two_different_raters():
    rows = []
    for g in range(6):
        for k, rater in enumerate(("A", "A")):  # the same employer twice: not pairable
            rows.append(
                {
                    "subject_id": f"G{g}",
                    "rater_id": rater,
                    "response_id": f"R{g}{k}",
                    "items": [("skills", "s1", 1 + (g + k) % 5, 1, 5)],
                }
            )
    assert not find(
        compute_indicators(ratings_table(rows), min_n=1), indicator="krippendorff_alpha"
    )
