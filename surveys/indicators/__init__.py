"""The indicator service: every page, report, API call and command reads indicators here.

Reading (pages, reports, the API, ``hamkor indicators --institution``)::

    from surveys.indicators import display_names, get_indicators, present_record

    found = get_indicators(session, institution_id, years=2025, programmes=["OIL", "*"])
    names = display_names(session, institution_id, lang)          # programme, domain names
    for record in found.records:                                  # analysis.Indicator
        shown = present_record(record, names, min_n=found.min_n)  # rounded, "< 5", words
        shown.value, shown.flags, shown.target_status

Records are computed by :func:`analysis.compute_indicators` once per (institution, settings
version, data version, day) and stored; nothing else computes, rounds or suppresses.

Invalidating (whatever changes responses, campaigns, invitations or the registry)::

    from surveys.datachanges import data_changed

    data_changed(session, institution_id)   # in the same transaction as the change

Settings (per institution, versioned, audited): :func:`current_settings`,
:func:`update_settings`, :func:`settings_history`.

Inputs (for exports and analysts): :func:`build_inputs` and the row iterators of
:mod:`surveys.indicators.inputs` (``iter_invited``, ``iter_outcomes``).
"""

from surveys.datachanges import data_changed, data_version
from surveys.indicators.presentation import (
    Display,
    Names,
    display_names,
    present_record,
    present_records,
)
from surveys.indicators.services import (
    IndicatorInputs,
    IndicatorSet,
    build_inputs,
    compute_records,
    ensure_computed,
    get_indicators,
    local_today,
)
from surveys.indicators.settings import (
    Settings,
    SettingsConflict,
    SettingsError,
    current_settings,
    settings_history,
    update_settings,
)

__all__ = [
    "Display",
    "IndicatorInputs",
    "IndicatorSet",
    "Names",
    "Settings",
    "SettingsConflict",
    "SettingsError",
    "build_inputs",
    "compute_records",
    "current_settings",
    "data_changed",
    "data_version",
    "display_names",
    "ensure_computed",
    "get_indicators",
    "local_today",
    "present_record",
    "present_records",
    "settings_history",
    "update_settings",
]
