"""How a record reads in the page's language: the charts' view of the presentation rules.

Interim: every function here will delegate to the indicator service's presentation module
(display rounding, "< 5", plain-language names, target words, pooled spans) once it lands;
the chart module calls nothing else to turn a record into text.
"""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from analysis import Indicator

PROPORTIONS = frozenset(
    {
        "response_rate",
        "overall_satisfied",
        "domain_satisfied",
        "employment_rate",
        "retention_12m",
        "partner_employment",
    }
)

INDICATOR_NAMES = {
    "responses": _l("Responses"),
    "response_rate": _l("Response rate"),
    "overall_satisfied": _l("Satisfied overall"),
    "nps": _l("Net promoter score"),
    "domain_score": _l("Domain score"),
    "domain_satisfied": _l("Satisfied in the domain"),
    "cronbach_alpha": _l("Cronbach's alpha"),
    "krippendorff_alpha": _l("Krippendorff's alpha"),
    "employment_rate": _l("Employed"),
    "retention_12m": _l("Retained 12 months"),
    "partner_employment": _l("Employed by a partner"),
    "months_to_employment": _l("Months to employment"),
}
TARGET_WORDS = {
    "met": _l("met"),
    "not_met": _l("not met"),
    "inconclusive": _l("inconclusive"),
}


def base(indicator: str) -> str:
    """The indicator a ``*_change`` record is the change of."""
    return indicator.removesuffix("_change")


def is_proportion(record: Indicator) -> bool:
    return base(record.indicator) in PROPORTIONS


def indicator_name(indicator: str) -> str:
    return str(INDICATOR_NAMES.get(base(indicator), indicator))


def number(record: Indicator, value: float | None, *, signed: bool = False) -> str:
    """One of the record's values as shown: shares in %, scores whole, alphas to 2 places."""
    if value is None:
        return "—"
    kind = base(record.indicator)
    if kind in PROPORTIONS:
        text = f"{value * 100:+.0f}" if signed else f"{value * 100:.0f}"
        return text + "%" if not signed else text + " pp"
    if kind in ("cronbach_alpha", "krippendorff_alpha"):
        return f"{value:+.2f}" if signed else f"{value:.2f}"
    if kind == "responses":
        return f"{value:.0f}"
    return f"{value:+.0f}" if signed or kind == "nps" else f"{value:.0f}"


def suppressed_text(min_n: int = 5) -> str:
    return f"< {min_n}"


def value_text(record: Indicator, min_n: int = 5) -> str:
    """The estimate as shown ("61", "82%", "< 5", "—")."""
    if record.suppressed:
        return suppressed_text(min_n)
    return number(record, record.estimate, signed=record.indicator.endswith("_change"))


def interval_text(record: Indicator) -> str:
    """The interval as shown ("57–65"), empty when there is none."""
    if record.suppressed or record.ci_low is None or record.ci_high is None:
        return ""
    signed = record.indicator.endswith("_change")
    low = number(record, record.ci_low, signed=signed)
    high = number(record, record.ci_high, signed=signed)
    return f"{low}–{high}"


def confidence_text(record: Indicator) -> str:
    """ "95% CI"."""
    return _("%(level)s%% CI", level=f"{record.confidence_level * 100:.0f}")


def n_text(record: Indicator, min_n: int = 5) -> str:
    return suppressed_text(min_n) if record.suppressed or record.n is None else str(record.n)


def period_text(record: Indicator) -> str:
    """The year, or the pooled span "2023–2025"."""
    if "pooled" in record.flags:
        return f"{record.year - 2}–{record.year}"
    return str(record.year)


def target_word(record: Indicator) -> str:
    return str(TARGET_WORDS.get(record.target_status or "", ""))


def share_text(part: int, whole: int) -> str:
    """A count as a share of another, as shares are shown ("76%"); "—" when whole is 0."""
    return "—" if whole == 0 else f"{part / whole * 100:.0f}%"
