"""How indicator records are shown to people: rounding, "< 5", labels in uz / ru / en.

The one presentation of :class:`analysis.Indicator` records. The web pages, the JSON API's
labels, the coming reports and ``hamkor indicators --format table`` all call
:func:`present`; none rounds, hides or names an indicator on its own. Plain Python (no Flask,
no Babel): the web side only passes the language and the names it knows from the database
(programme names, the instrument's domain labels).

Rules, in one place:

- **Rounding** (half away from zero, as people round by hand): shares as percentages with
  one decimal (``62.5%``), scores and NPS with one decimal, months with one decimal,
  reliabilities with two decimals, changes with a sign (``+3.1 pp`` for shares), p-values
  with three decimals or ``< 0.001``, effect sizes with two decimals and a sign. Russian and
  Uzbek write a decimal comma and a space before ``%``.
- **An estimate never travels alone**: :attr:`Display.value` is the estimate with its
  interval (``62.5% (95% CI 55.1–69.2%)``); the parts exist for tables with their own
  columns.
- **Suppression** is decided by ``analysis`` (``min_n``, secondary suppression); here it is
  only shown: ``< 5`` for a group too small, "hidden" for one hidden so that another cannot be
  worked out by subtraction (and for a change whose year is hidden).
- **Pooled records** carry the span of years they pool (``2022–2024``), never the same label
  as the single-year record of year 2024.
- **Flags and target status in words**: ``low_n`` is "interpret with caution", targets are
  met / not met / inconclusive.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from analysis.indicators import MEANS, PROPORTIONS, STAR, Indicator

__all__ = [
    "LANGUAGES",
    "Display",
    "format_number",
    "indicator_name",
    "method_name",
    "present",
    "target_status_name",
    "year_label",
]

#: Languages of every label here (the app's languages).
LANGUAGES = ("uz", "ru", "en")
DEFAULT_LANGUAGE = "en"

_NBSP = "\u00a0"

#: The plain-language name of each indicator.
INDICATOR_NAMES: dict[str, dict[str, str]] = {
    "responses": {
        "en": "Employer responses",
        "ru": "Ответы работодателей",
        "uz": "Ish beruvchilar javoblari",
    },
    "response_rate": {
        "en": "Response rate",
        "ru": "Доля ответивших работодателей",
        "uz": "Javob bergan ish beruvchilar ulushi",
    },
    "overall_satisfied": {
        "en": "Employers satisfied overall",
        "ru": "Работодатели, удовлетворённые в целом",
        "uz": "Umuman qoniqqan ish beruvchilar",
    },
    "nps": {
        "en": "Willingness to hire more graduates (NPS)",
        "ru": "Готовность нанимать выпускников (NPS)",
        "uz": "Yana bitiruvchilarni ishga olishga tayyorlik (NPS)",
    },
    "domain_score": {
        "en": "Competency score (0–100)",
        "ru": "Оценка компетенции (0–100)",
        "uz": "Kompetensiya bahosi (0–100)",
    },
    "domain_satisfied": {
        "en": "Rated good or excellent",
        "ru": "Оценки «хорошо» и «отлично»",
        "uz": "«Yaxshi» va «aʼlo» baholar",
    },
    "cronbach_alpha": {
        "en": "Consistency of the questions (Cronbach's alpha)",
        "ru": "Согласованность вопросов (альфа Кронбаха)",
        "uz": "Savollarning izchilligi (Kronbax alfasi)",
    },
    "krippendorff_alpha": {
        "en": "Agreement between employers (Krippendorff's alpha)",
        "ru": "Согласие работодателей (альфа Криппендорфа)",
        "uz": "Ish beruvchilar bahosining mosligi (Krippendorf alfasi)",
    },
    "employment_rate": {
        "en": "Graduates employed",
        "ru": "Трудоустроенные выпускники",
        "uz": "Ishga joylashgan bitiruvchilar",
    },
    "retention_12m": {
        "en": "Still with their employer after 12 months",
        "ru": "Работают у того же работодателя через 12 месяцев",
        "uz": "12 oydan keyin ham oʻsha ish beruvchida",
    },
    "partner_employment": {
        "en": "Employed by partner enterprises",
        "ru": "Работают на предприятиях-партнёрах",
        "uz": "Hamkor korxonalarda ishlaydi",
    },
    "months_to_employment": {
        "en": "Months to first job (median)",
        "ru": "Месяцев до трудоустройства (медиана)",
        "uz": "Ishga joylashishgacha oylar (mediana)",
    },
}
_CHANGE = {
    "en": "Change from {year}: {name}",
    "ru": "Изменение к {year} году: {name}",
    "uz": "{year}-yilga nisbatan oʻzgarish: {name}",
}

#: Interval methods in words (``+fpc`` is added by :func:`method_name`).
METHOD_NAMES: dict[str, dict[str, str]] = {
    "count": {"en": "count", "ru": "подсчёт", "uz": "sanoq"},
    "t": {
        "en": "t interval",
        "ru": "t-интервал",
        "uz": "t-oraliq",
    },
    "t-cluster": {
        "en": "t interval, allowing for employers who rated several graduates",
        "ru": "t-интервал с учётом работодателей, оценивших нескольких выпускников",
        "uz": "bir necha bitiruvchini baholagan ish beruvchilar hisobga olingan t-oraliq",
    },
    "wilson": {
        "en": "Wilson score interval",
        "ru": "интервал Уилсона",
        "uz": "Uilson oraligʻi",
    },
    "wilson-deff": {
        "en": "Wilson interval, allowing for employers who rated several graduates",
        "ru": "интервал Уилсона с учётом работодателей, оценивших нескольких выпускников",
        "uz": "bir necha bitiruvchini baholagan ish beruvchilar hisobga olingan Uilson oraligʻi",
    },
    "feldt": {"en": "Feldt interval", "ru": "интервал Фельдта", "uz": "Feldt oraligʻi"},
    "bootstrap": {
        "en": "bootstrap interval (1,000 resamples of the rated graduates)",
        "ru": "бутстреп-интервал (1000 повторных выборок оценённых выпускников)",
        "uz": "butstrep oraligʻi (baholangan bitiruvchilardan 1000 ta qayta tanlanma)",
    },
    "order-statistics": {
        "en": "distribution-free interval for the median",
        "ru": "непараметрический интервал для медианы",
        "uz": "mediana uchun taqsimotga bogʻliq boʻlmagan oraliq",
    },
    "welch": {
        "en": "Welch interval and test",
        "ru": "интервал и критерий Уэлча",
        "uz": "Uelch oraligʻi va mezoni",
    },
    "welch-cluster": {
        "en": "Welch interval and test, allowing for employers who rated several graduates",
        "ru": "интервал и критерий Уэлча с учётом работодателей, оценивших нескольких выпускников",
        "uz": "bir necha bitiruvchini baholagan ish beruvchilar hisobga olingan Uelch oraligʻi va "
        "mezoni",
    },
    "newcombe": {
        "en": "Newcombe interval and chi-squared test",
        "ru": "интервал Ньюкомба и критерий хи-квадрат",
        "uz": "Nyukomb oraligʻi va xi-kvadrat mezoni",
    },
    "newcombe-deff": {
        "en": "Newcombe interval and chi-squared test, allowing for employers who rated "
        "several graduates",
        "ru": "интервал Ньюкомба и критерий хи-квадрат с учётом работодателей, оценивших "
        "нескольких выпускников",
        "uz": "bir necha bitiruvchini baholagan ish beruvchilar hisobga olingan Nyukomb "
        "oraligʻi va xi-kvadrat mezoni",
    },
}
_FPC = {
    "en": ", with the finite-population correction",
    "ru": ", с поправкой на конечную совокупность",
    "uz": ", chekli toʻplam tuzatmasi bilan",
}

#: Flags in words; ``{span}`` is the pooled span of years.
FLAG_NAMES: dict[str, dict[str, str]] = {
    "low_n": {
        "en": "interpret with caution: few answers",
        "ru": "толковать с осторожностью: мало ответов",
        "uz": "ehtiyotkorlik bilan talqin qiling: javoblar kam",
    },
    "pooled": {
        "en": "{span} pooled",
        "ru": "{span} вместе",
        "uz": "{span} birgalikda",
    },
    "single_rater": {
        "en": "one employer only: no interval",
        "ru": "только один работодатель: интервала нет",
        "uz": "faqat bitta ish beruvchi: oraliq yoʻq",
    },
    "undefined": {
        "en": "cannot be computed: the answers do not vary",
        "ru": "нельзя вычислить: ответы не различаются",
        "uz": "hisoblab boʻlmaydi: javoblar farq qilmaydi",
    },
    "significant": {
        "en": "significant change",
        "ru": "значимое изменение",
        "uz": "ahamiyatli oʻzgarish",
    },
    "secondary_suppression": {
        "en": "hidden so that a smaller group cannot be worked out",
        "ru": "скрыто, чтобы нельзя было вычислить меньшую группу",
        "uz": "kichikroq guruhni hisoblab topib boʻlmasligi uchun yashirilgan",
    },
}

#: Target status in words.
TARGET_STATUS_NAMES: dict[str, dict[str, str]] = {
    "met": {"en": "met", "ru": "достигнута", "uz": "bajarildi"},
    "not_met": {"en": "not met", "ru": "не достигнута", "uz": "bajarilmadi"},
    "inconclusive": {"en": "inconclusive", "ru": "пока неясно", "uz": "hozircha noaniq"},
}

_WORDS: dict[str, dict[str, str]] = {
    "hidden": {"en": "hidden", "ru": "скрыто", "uz": "yashirilgan"},
    "whole_institution": {
        "en": "Whole institution",
        "ru": "Всё учреждение",
        "uz": "Butun muassasa",
    },
    "ci": {"en": "{level}% CI", "ru": "{level}% ДИ", "uz": "{level}% IO"},
    "pp": {"en": "pp", "ru": "п. п.", "uz": "f. p."},
    "months": {"en": "months", "ru": "мес.", "uz": "oy"},
    "target": {"en": "target", "ru": "цель", "uz": "maqsad"},
}


def _language(lang: str | None) -> str:
    """``lang`` if it is one of :data:`LANGUAGES`, else English (never an error: labels only)."""
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def _word(key: str, lang: str) -> str:
    return _WORDS[key][_language(lang)]


def base_indicator(indicator: str) -> str:
    """``domain_score`` for ``domain_score`` and ``domain_score_change``."""
    return indicator.removesuffix("_change")


def indicator_name(indicator: str, lang: str = DEFAULT_LANGUAGE, *, year: int | None = None) -> str:
    """The plain-language name of ``indicator`` (``…_change`` records say from which year)."""
    lang = _language(lang)
    base = base_indicator(indicator)
    name = INDICATOR_NAMES.get(base, {}).get(lang, base)
    if indicator.endswith("_change"):
        previous = "" if year is None else str(year - 1)
        return _CHANGE[lang].format(year=previous, name=name).replace("  ", " ")
    return name


def method_name(method: str | None, lang: str = DEFAULT_LANGUAGE) -> str:
    """An interval method in words, e.g. ``wilson-deff+fpc``."""
    if not method:
        return ""
    lang = _language(lang)
    base, fpc, _ = method.partition("+fpc")
    text = METHOD_NAMES.get(base, {}).get(lang, base)
    return text + (_FPC[lang] if fpc else "")


def target_status_name(status: str | None, lang: str = DEFAULT_LANGUAGE) -> str:
    """``met`` / ``not_met`` / ``inconclusive`` in words ("" when there is no target)."""
    if not status:
        return ""
    return TARGET_STATUS_NAMES.get(status, {}).get(_language(lang), status)


def year_label(record: Indicator) -> str:
    """``2024`` for a yearly record, ``2022–2024`` for one pooled over three years."""
    if "pooled" in record.flags:
        return f"{record.year - 2}–{record.year}"
    return str(record.year)


def flag_names(record: Indicator, lang: str = DEFAULT_LANGUAGE) -> list[str]:
    """The record's flags in words, in the record's order."""
    lang = _language(lang)
    span = year_label(record)
    return [FLAG_NAMES[f][lang].format(span=span) if f in FLAG_NAMES else f for f in record.flags]


def _round(value: float, decimals: int) -> Decimal:
    """Round half away from zero on the decimal digits people see (62.25 → 62.3)."""
    try:
        exact = Decimal(repr(float(value)))
        return exact.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    except InvalidOperation:  # a value too large to quantize: show it as it is
        return Decimal(repr(float(value)))


def format_number(
    value: float, decimals: int, lang: str = DEFAULT_LANGUAGE, *, sign: bool = False
) -> str:
    """``value`` rounded to ``decimals`` in the language's style (decimal comma in ru/uz)."""
    rounded = _round(value, decimals)
    if rounded == 0:
        rounded = abs(rounded)  # never "-0.0"
    text = f"{rounded:{'+' if sign else ''}.{decimals}f}"
    if _language(lang) != "en":
        text = text.replace(".", ",")
    return text


def _kind(indicator: str) -> str:
    base = base_indicator(indicator)
    if base in PROPORTIONS:
        return "share"
    if base in MEANS:
        return "mean"
    if base == "months_to_employment":
        return "months"
    if base == "responses":
        return "count"
    return "coefficient"


def _percent(text: str, lang: str) -> str:
    return text + ("%" if _language(lang) == "en" else _NBSP + "%")


def format_value(indicator: str, value: float | None, lang: str = DEFAULT_LANGUAGE) -> str:
    """An estimate, bound or target as shown: ``62.5%``, ``71.3``, ``+3.1 pp``, ``0.84``."""
    if value is None:
        return ""
    kind = _kind(indicator)
    change = indicator.endswith("_change")
    if kind == "share":
        number = format_number(100.0 * value, 1, lang, sign=change)
        return f"{number}{_NBSP}{_word('pp', lang)}" if change else _percent(number, lang)
    if kind == "count":
        return format_number(value, 0, lang)
    if kind == "coefficient":
        return format_number(value, 2, lang, sign=change)
    return format_number(value, 1, lang, sign=change)


def format_interval(
    indicator: str, low: float | None, high: float | None, lang: str = DEFAULT_LANGUAGE
) -> str:
    """``55.1–69.2%``: both bounds rounded as the estimate, the unit written once."""
    if low is None or high is None:
        return ""
    kind = _kind(indicator)
    change = indicator.endswith("_change")
    if kind == "share" and not change:
        lo = format_number(100.0 * low, 1, lang)
        hi = format_number(100.0 * high, 1, lang)
        return _percent(_dash(lo, hi), lang)
    lo = format_value(indicator, low, lang)
    hi = format_value(indicator, high, lang)
    if kind == "share":  # a change in percentage points: the unit once, at the end
        unit = _NBSP + _word("pp", lang)
        return _dash(lo.removesuffix(unit), hi.removesuffix(unit)) + unit
    return _dash(lo, hi)


def _dash(low: str, high: str) -> str:
    """An en dash between bounds; spaced when a bound has a sign, so it never reads as minus."""
    if low[:1] in "+-" or high[:1] in "+-":
        return f"{low} – {high}"
    return f"{low}–{high}"


def format_p(p: float | None, lang: str = DEFAULT_LANGUAGE) -> str:
    """A p-value: three decimals, or ``< 0.001``."""
    if p is None:
        return ""
    if p < 0.001:
        return "< " + format_number(0.001, 3, lang)
    return format_number(p, 3, lang)


def confidence_label(level: float, lang: str = DEFAULT_LANGUAGE) -> str:
    """``95% CI`` (``95% ДИ``, ``95% IO``)."""
    number = format_number(100.0 * level, 0 if float(100 * level).is_integer() else 1, lang)
    return _word("ci", lang).format(level=number)


def programme_label(
    programme: str, lang: str = DEFAULT_LANGUAGE, names: Mapping[str, str] | None = None
) -> str:
    """``OIL — Oil and gas engineering``: the name beside the code; ``*`` in words."""
    if programme == STAR:
        return _word("whole_institution", lang)
    name = (names or {}).get(programme)
    return f"{programme} — {name}" if name else programme


@dataclass(frozen=True)
class Display:
    """One record as people read it; every field is text (empty when not applicable)."""

    indicator: str  #: plain-language name
    programme: str  #: code and name, or "Whole institution"
    year: str  #: ``2024`` or ``2022–2024`` (pooled)
    instrument: str
    domain: str
    n: str  #: ``123``, ``< 5`` or "hidden"
    estimate: str
    interval: str  #: ``55.1–69.2%`` (never shown without :attr:`estimate`)
    confidence: str  #: ``95% CI``
    value: str  #: estimate with its interval, or "< 5" / "hidden" when suppressed
    method: str
    target: str
    target_status: str
    p_value: str
    p_adjusted: str
    effect_size: str
    flags: list[str] = field(default_factory=list)
    suppressed: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The labels as a plain dict (the API's ``labels`` object)."""
        return {
            "indicator": self.indicator,
            "programme": self.programme,
            "year": self.year,
            "instrument": self.instrument,
            "domain": self.domain,
            "n": self.n,
            "estimate": self.estimate,
            "interval": self.interval,
            "confidence": self.confidence,
            "value": self.value,
            "method": self.method,
            "target": self.target,
            "target_status": self.target_status,
            "p_value": self.p_value,
            "p_adjusted": self.p_adjusted,
            "effect_size": self.effect_size,
            "flags": list(self.flags),
        }


def suppressed_n(record: Indicator, min_n: int, lang: str = DEFAULT_LANGUAGE) -> str:
    """``< 5`` for a group below ``min_n``; "hidden" for secondary suppression and changes."""
    primary = "secondary_suppression" not in record.flags and not record.indicator.endswith(
        "_change"
    )
    return f"< {min_n}" if primary else _word("hidden", lang)


def present(
    record: Indicator,
    lang: str = DEFAULT_LANGUAGE,
    *,
    min_n: int,
    programme_names: Mapping[str, str] | None = None,
    domain_names: Mapping[str, str] | None = None,
    instrument_names: Mapping[str, str] | None = None,
) -> Display:
    """``record`` as people read it in ``lang`` (``uz``, ``ru`` or ``en``).

    ``min_n`` is the setting the record was computed with (the "< 5" text);
    ``programme_names``, ``domain_names`` and ``instrument_names`` map codes and keys to names
    in ``lang`` where the caller knows them (codes are shown otherwise).
    """
    lang = _language(lang)
    ind = record.indicator
    if record.suppressed:
        n = suppressed_n(record, min_n, lang)
    else:
        n = "" if record.n is None else format_number(record.n, 0, lang)
    estimate = format_value(ind, record.estimate, lang)
    interval = format_interval(ind, record.ci_low, record.ci_high, lang)
    confidence = confidence_label(record.confidence_level, lang) if interval else ""
    if record.suppressed:
        value = n
    elif interval:
        value = f"{estimate} ({confidence} {interval})"
    else:
        value = estimate
    domain = ""
    if record.domain:
        domain = (domain_names or {}).get(record.domain, record.domain)
    instrument = ""
    if record.instrument:
        instrument = (instrument_names or {}).get(record.instrument, record.instrument)
    effect = ""
    if record.effect_size is not None:
        effect = format_number(record.effect_size, 2, lang, sign=True)
    return Display(
        indicator=indicator_name(ind, lang, year=record.year),
        programme=programme_label(record.programme, lang, programme_names),
        year=year_label(record),
        instrument=instrument,
        domain=domain,
        n=n,
        estimate=estimate,
        interval=interval,
        confidence=confidence,
        value=value,
        method=method_name(record.method, lang) if record.method != "count" else "",
        target=format_value(ind, record.target, lang),
        target_status=target_status_name(record.target_status, lang),
        p_value=format_p(record.p_value, lang),
        p_adjusted=format_p(record.p_adjusted, lang),
        effect_size=effect,
        flags=flag_names(record, lang),
        suppressed=record.suppressed,
    )
