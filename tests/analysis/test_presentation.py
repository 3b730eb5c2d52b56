"""The one presentation of indicator records: rounding, "< 5", pooled spans, words, languages."""

from __future__ import annotations

import dataclasses

import pytest

from analysis import Indicator, compute_indicators
from analysis.presentation import (
    INDICATOR_NAMES,
    LANGUAGES,
    METHOD_NAMES,
    format_number,
    present,
)
from analysis.synthetic import synthetic_ratings


def record(**kw) -> Indicator:
    base = {
        "institution": "U1",
        "programme": "OIL",
        "year": 2024,
        "instrument": "attestation",
        "indicator": "overall_satisfied",
        "domain": None,
        "n": 40,
        "estimate": 0.625,
        "ci_low": 0.4625,
        "ci_high": 0.7651,
        "confidence_level": 0.95,
        "method": "wilson-deff",
        "flags": (),
        "suppressed": False,
        "target": 0.8,
        "target_status": "not_met",
    }
    base.update(kw)
    return Indicator(**base)


@pytest.mark.parametrize(
    "lang,value,interval,status,ci",
    [
        ("en", "62.5%", "46.3–76.5%", "not met", "95% CI"),
        ("ru", "62,5\u00a0%", "46,3–76,5\u00a0%", "не достигнута", "95% ДИ"),
        ("uz", "62,5\u00a0%", "46,3–76,5\u00a0%", "bajarilmadi", "95% IO"),
    ],
)
def test_a_share_in_three_languages(lang, value, interval, status, ci):
    shown = present(record(), lang, min_n=5, programme_names={"OIL": "Oil and gas machines"})
    assert shown.estimate == value
    assert shown.interval == interval
    assert shown.value == f"{value} ({ci} {interval})"  # never the estimate alone
    assert shown.target_status == status
    assert shown.programme == "OIL — Oil and gas machines"
    assert shown.indicator == INDICATOR_NAMES["overall_satisfied"][lang]
    assert shown.method == METHOD_NAMES["wilson-deff"][lang]


def test_rounding_is_half_away_from_zero_on_the_digits_shown():
    # 62.25 is exactly representable: Python's own formatting would give 62.2 (half-even)
    assert format_number(62.25, 1) == "62.3"
    assert format_number(-62.25, 1) == "-62.3"
    assert format_number(0.125, 2) == "0.13"
    assert format_number(-0.04, 1) == "0.0"  # never "-0.0"
    assert format_number(2.5, 0, "ru") == "3"
    assert present(
        record(
            indicator="domain_score",
            estimate=71.25,
            ci_low=64.05,
            ci_high=78.449,
            method="t-cluster",
            target=None,
            target_status=None,
        ),
        min_n=5,
    ).value == ("71.3 (95% CI 64.1–78.4)")


def test_each_kind_of_value_has_its_unit_and_precision():
    nps = present(
        record(indicator="nps", estimate=-12.44, ci_low=-40.0, ci_high=15.5, method="t"), min_n=5
    )
    assert nps.value == "-12.4 (95% CI -40.0 – 15.5)"  # a spaced dash beside a minus sign
    alpha = present(
        record(
            indicator="cronbach_alpha", estimate=0.8449, ci_low=0.78, ci_high=0.9, method="feldt"
        ),
        min_n=5,
    )
    assert alpha.estimate == "0.84" and alpha.interval == "0.78–0.90"
    change = present(
        record(
            indicator="overall_satisfied_change",
            estimate=0.031,
            ci_low=-0.05,
            ci_high=0.112,
            method="newcombe",
            target=None,
            target_status=None,
            p_value=0.0004,
            p_adjusted=0.0123,
            effect_size=0.0612,
            flags=("significant",),
        ),
        min_n=5,
    )
    assert change.estimate == "+3.1\u00a0pp"
    assert change.interval == "-5.0 – +11.2\u00a0pp"
    assert change.p_value == "< 0.001" and change.p_adjusted == "0.012"
    assert change.effect_size == "+0.06"
    assert change.indicator == "Change from 2023: Employers satisfied overall"
    assert change.flags == ["significant change"]
    months = present(
        record(
            indicator="months_to_employment",
            estimate=3.0,
            ci_low=2.0,
            ci_high=5.0,
            method="order-statistics",
            instrument=None,
            target=None,
            target_status=None,
        ),
        min_n=5,
    )
    assert months.value == "3.0 (95% CI 2.0–5.0)" and months.instrument == ""
    count = present(
        record(
            indicator="responses",
            estimate=40.0,
            ci_low=None,
            ci_high=None,
            method="count",
            target=None,
            target_status=None,
        ),
        min_n=5,
    )
    assert count.value == "40" and count.method == "" and count.confidence == ""


@pytest.mark.parametrize("lang", LANGUAGES)
def test_suppressed_records_show_the_threshold_or_hidden_and_no_number(lang):
    small = record(
        n=None, estimate=None, ci_low=None, ci_high=None, suppressed=True, target_status=None
    )
    shown = present(small, lang, min_n=10)
    assert shown.n == "< 10" and shown.value == "< 10"  # the institution's min_n, not 5
    assert shown.estimate == shown.interval == ""
    secondary = dataclasses.replace(small, flags=("secondary_suppression",))
    hidden = present(secondary, lang, min_n=10)
    assert hidden.n == {"en": "hidden", "ru": "скрыто", "uz": "yashirilgan"}[lang]
    assert "<" not in hidden.value


@pytest.mark.parametrize("lang,word", [("en", "pooled"), ("ru", "вместе"), ("uz", "birgalikda")])
def test_pooled_records_carry_their_span_never_the_single_year(lang, word):
    yearly = present(record(flags=("low_n",)), lang, min_n=5)
    pooled = present(record(flags=("pooled", "low_n")), lang, min_n=5)
    assert yearly.year == "2024"
    assert pooled.year == "2022–2024" != yearly.year
    assert pooled.flags[0] == f"2022–2024 {word}"
    caution = {"en": "interpret with caution", "ru": "с осторожностью", "uz": "ehtiyotkorlik"}
    assert caution[lang] in yearly.flags[0]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_target_words(lang):
    words = {
        status: present(record(target_status=status), lang, min_n=5).target_status
        for status in ("met", "not_met", "inconclusive")
    }
    assert len(set(words.values())) == 3 and all(words.values())
    assert present(record(target=None, target_status=None), lang, min_n=5).target_status == ""


def test_every_record_of_a_computation_is_presentable_in_every_language():
    records = compute_indicators(synthetic_ratings(institutions=1, programmes=3, seed=2))
    for lang in LANGUAGES:
        for rec in records:
            shown = present(rec, lang, min_n=5)
            assert shown.indicator and shown.year and (shown.value or rec.estimate is None)
            if rec.suppressed:
                assert shown.estimate == "" and not any(ch.isdigit() for ch in shown.interval)
            if rec.estimate is not None and rec.ci_low is not None:
                assert shown.estimate in shown.value and shown.interval in shown.value
            assert rec.method is None or rec.method == "count" or shown.method != rec.method
    # the institution as a whole is named, not "*"
    star = next(r for r in records if r.programme == "*")
    assert present(star, "ru", min_n=5).programme == "Всё учреждение"
