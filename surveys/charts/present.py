"""The presentation rules in the page's language: :mod:`analysis.presentation`, locale passed.

The chart module and the dashboard's templates turn records into text only through these
functions, which add nothing but the current Flask-Babel locale (``force_locale`` in a report
job): rounding, "< 5" and "hidden", names of indicators, pooled spans and target words are
``analysis.presentation``'s, shared with the API, the command line and the reports.
"""

from __future__ import annotations

from flask import has_app_context
from flask_babel import get_locale

from analysis import Indicator
from analysis import presentation as rules
from analysis.indicators import PROPORTIONS

__all__ = [
    "PROPORTIONS",
    "base",
    "confidence_text",
    "count_text",
    "display",
    "fraction_text",
    "indicator_name",
    "interval_text",
    "language",
    "n_text",
    "period_text",
    "share_text",
    "suppressed_text",
    "target_word",
    "value_text",
]

base = rules.base_indicator


def language() -> str:
    """The current locale's language (``en`` outside an app context)."""
    if not has_app_context():
        return rules.DEFAULT_LANGUAGE
    return str(get_locale() or rules.DEFAULT_LANGUAGE)


def display(record: Indicator, min_n: int) -> rules.Display:
    """The record as people read it (every field text)."""
    return rules.present(record, language(), min_n=min_n)


def indicator_name(indicator: str) -> str:
    return rules.indicator_name(indicator, language())


def value_text(record: Indicator, min_n: int) -> str:
    """The estimate as shown ("61.0", "82.4%"), "< 5" / "hidden" when suppressed, "—" when
    undefined."""
    if record.suppressed:
        return rules.suppressed_n(record, min_n, language())
    return rules.format_value(record.indicator, record.estimate, language()) or "—"


def interval_text(record: Indicator) -> str:
    """The interval as shown ("57.0–65.0"), empty when there is none."""
    if record.suppressed:
        return ""
    return rules.format_interval(record.indicator, record.ci_low, record.ci_high, language())


def confidence_text(record: Indicator) -> str:
    """ "95% CI" in the page's language."""
    return rules.confidence_label(record.confidence_level, language())


def n_text(record: Indicator, min_n: int) -> str:
    if record.suppressed:
        return rules.suppressed_n(record, min_n, language())
    return "" if record.n is None else rules.format_number(record.n, 0, language())


def period_text(record: Indicator) -> str:
    """The year, or the pooled span "2023–2025"."""
    return rules.year_label(record)


def target_word(record: Indicator) -> str:
    return rules.target_status_name(record.target_status, language())


def suppressed_text(min_n: int) -> str:
    """A count hidden under ``min_n`` ("< 5"), as records show theirs."""
    return f"< {min_n}"


def share_text(part: int, whole: int) -> str:
    """A count as a share of another, rounded as shares are ("76.0%"); "—" when whole is 0."""
    if whole == 0:
        return "—"
    return rules.format_value("response_rate", part / whole, language())


def fraction_text(share: float) -> str:
    """A share in [0, 1] that is no record's (an answer distribution's), as shares are shown."""
    return rules.format_value("response_rate", share, language())


def count_text(count: int) -> str:
    return rules.format_number(count, 0, language())
