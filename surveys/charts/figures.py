"""One builder per kind of chart, each from records to a :class:`~surveys.charts.model.Chart`.

The figures carry the records' own numbers (estimates and interval ends unrounded, shares as
fractions in [0, 1]; the axes format them), so a chart and its records can be compared
exactly; every text on them (hover labels, the data table, the reading) comes from the
presentation rules in the current locale. A suppressed value is never in a figure: its place
says "< 5". Colours are not the only carrier of meaning: a significant change is a star
marker and a word in the table, a suppressed heatmap cell is grey with "< 5" written in it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

from flask_babel import format_date, get_locale
from flask_babel import gettext as _

from analysis import Indicator
from analysis.counts import ItemDistribution
from surveys.charts import present
from surveys.charts.model import Chart, DataTable

#: Colours (ColorBrewer; the diverging scale is RdBu, readable with red-green colour blindness).
INK = "#1f2933"
MUTED = "#52606d"
PRIMARY = "#2b6cb0"
SECONDARY = "#9f7aea"
BAND = "rgba(43, 108, 176, 0.18)"
MARK = "#c05621"
GRID = "#e4e7eb"
SUPPRESSED = "#d9dde3"
DIVERGING = {
    2: ("#ca0020", "#0571b0"),
    3: ("#ca0020", "#d9d9d9", "#0571b0"),
    4: ("#ca0020", "#f4a582", "#92c5de", "#0571b0"),
    5: ("#ca0020", "#f4a582", "#d9d9d9", "#92c5de", "#0571b0"),
    6: ("#b2182b", "#ef8a62", "#fddbc7", "#d1e5f0", "#67a9cf", "#2166ac"),
    7: ("#b2182b", "#ef8a62", "#fddbc7", "#d9d9d9", "#d1e5f0", "#67a9cf", "#2166ac"),
}
#: Longest scale the diverging chart draws (0–10 items are summarised by the NPS instead).
MAX_LIKERT_POINTS = max(DIVERGING)
HEATMAP_SCALE = [[0.0, "#f7fbff"], [0.5, "#6baed6"], [1.0, "#08306b"]]

FONT = {
    "family": "system-ui, -apple-system, 'Segoe UI', Roboto, 'Noto Sans', Arial, sans-serif",
    "size": 13,
    "color": INK,
}


def _layout(height: int, **extra: Any) -> dict[str, Any]:
    """The layout every chart starts from."""
    layout: dict[str, Any] = {
        "height": height,
        "font": FONT,
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "margin": {"l": 8, "r": 16, "t": 8, "b": 40, "pad": 4},
        "hoverlabel": {"font": {"family": FONT["family"], "size": 13}},
        "showlegend": False,
    }
    layout.update(extra)
    return layout


def _axis(**extra: Any) -> dict[str, Any]:
    axis: dict[str, Any] = {
        "gridcolor": GRID,
        "zerolinecolor": GRID,
        "linecolor": MUTED,
        "tickfont": {"color": INK},
        "automargin": True,
        "fixedrange": True,
    }
    axis.update(extra)
    return axis


def _value_axis(indicator: str, **extra: Any) -> dict[str, Any]:
    """The value axis of an indicator: shares in %, scores 0–100, NPS −100…100."""
    kind = present.base(indicator)
    if kind in present.PROPORTIONS:
        return _axis(range=[0, 1.02], tickformat=".0%", **extra)
    if kind == "nps":
        return _axis(range=[-100, 100], **extra)
    if kind in ("cronbach_alpha", "krippendorff_alpha"):
        return _axis(range=[0, 1], **extra)
    if kind in ("domain_score", "importance"):
        return _axis(range=[0, 102], **extra)
    return _axis(rangemode="tozero", **extra)


def _shown(record: Indicator) -> bool:
    """Whether a record has a value to draw (not suppressed, not undefined)."""
    return not record.suppressed and record.estimate is not None


def _value_with_interval(record: Indicator, min_n: int) -> str:
    """ "61.0 (95% CI 57.0–65.0)", or "< 5", or the value alone when it has no interval."""
    return present.display(record, min_n).value or present.value_text(record, min_n)


def _value_with_ci(record: Indicator, min_n: int) -> str:
    """ "61.0 (57.0–65.0)": a table cell with the interval beside the value."""
    interval = present.interval_text(record)
    value = present.value_text(record, min_n)
    return f"{value} ({interval})" if interval and _shown(record) else value


def _flag_words(record: Indicator, min_n: int) -> str:
    """The record's flags in words, but "significant" (the change column says it)."""
    flags = [f for f in record.flags if f != "significant"]
    shown = dataclasses.replace(record, flags=tuple(flags))
    return "; ".join(present.display(shown, min_n).flags)


def _empty(key: str, title: str, message: str, columns: Sequence[str]) -> Chart:
    return Chart(
        key=key,
        title=title,
        reading=message,
        figure={"data": [], "layout": _layout(80)},
        table=DataTable(title, tuple(columns), ()),
        empty=True,
    )


# --------------------------------------------------------------------------------------------
# Domain scores with interval bars


def domain_scores(
    records: Sequence[Indicator],
    *,
    domain_names: Mapping[str, str],
    key: str = "domain-scores",
    min_n: int = 5,
) -> Chart:
    """Domain scores of one group (programme × year × instrument) as bars with intervals.

    ``records`` are that group's ``domain_score`` records: the yearly ones and, for a small
    programme, the pooled three-year ones (drawn as a second bar labelled with their span).
    Domains are sorted by the yearly score, the highest on top; a suppressed domain stays in
    the chart as a label "< 5" without a bar.
    """
    title = _("Domain scores (0–100)")
    columns = (
        _("Domain"),
        _("Period"),
        _("Score"),
        _("Interval"),
        _("Responses"),
        _("Note"),
    )
    yearly = [r for r in records if r.indicator == "domain_score" and "pooled" not in r.flags]
    pooled = [r for r in records if r.indicator == "domain_score" and "pooled" in r.flags]
    if not yearly:
        return _empty(key, title, _("No domain scores for this selection."), columns)

    def name(record: Indicator) -> str:
        return domain_names.get(record.domain or "", record.domain or "")

    def label(record: Indicator) -> str:
        return _wrap(name(record), 26)

    # lowest first: plotly draws the first category at the bottom, so the highest is on top
    order = sorted(yearly, key=lambda r: (_shown(r), r.estimate or 0.0, name(r)))
    categories = [label(r) for r in order]
    traces = [
        _interval_bars(
            [(label(r), r) for r in order], present.period_text(yearly[0]), PRIMARY, min_n
        )
    ]
    if pooled:
        by_domain = {r.domain: r for r in pooled}
        pairs = [(label(r), by_domain[r.domain]) for r in order if r.domain in by_domain]
        traces.append(_interval_bars(pairs, present.period_text(pooled[0]), SECONDARY, min_n))
    annotations = [
        {
            "x": 0,
            "y": label(r),
            "xanchor": "left",
            "text": present.value_text(r, min_n),
            "showarrow": False,
            "font": {"color": MUTED},
        }
        for r in order
        if not _shown(r)
    ]
    figure = {
        "data": traces,
        "layout": _layout(
            max(160, 44 * len(categories) * (1 + bool(pooled)) + 60),
            barmode="group",
            showlegend=bool(pooled),
            legend={"orientation": "h", "y": -0.15},
            xaxis=_value_axis("domain_score", title={"text": _("Score (0–100)")}),
            yaxis=_axis(categoryorder="array", categoryarray=categories, showgrid=False),
            annotations=annotations,
        ),
    }
    rows = tuple(
        (
            name(r),
            present.period_text(r),
            present.value_text(r, min_n),
            present.interval_text(r),
            present.n_text(r, min_n),
            _flag_words(r, min_n),
        )
        for r in sorted(yearly + pooled, key=lambda r: (-(r.estimate or -1), name(r)))
    )
    shown = [r for r in yearly if _shown(r)]
    if shown:
        lowest = min(shown, key=lambda r: r.estimate or 0.0)
        reading = _(
            "Employers rate %(domain)s lowest: %(value)s of 100, %(ci)s %(interval)s.",
            domain=_in_sentence(name(lowest)),
            value=present.value_text(lowest, min_n),
            ci=present.confidence_text(lowest),
            interval=present.interval_text(lowest) or "—",
        )
    else:
        reading = _(
            "Every domain rests on fewer than %(n)d responses, so no score is shown.", n=min_n
        )
    return Chart(
        key=key,
        title=title,
        reading=reading,
        figure=figure,
        table=DataTable(title, columns, rows, frozenset({2, 3, 4})),
    )


def _in_sentence(name: str) -> str:
    """A domain's name inside an English sentence ("safety culture"); other languages keep
    the questionnaire's spelling (their sentences quote it), and so do acronyms."""
    first = name.split(" ", 1)[0]
    if str(get_locale()) != "en" or not first or first.isupper():
        return name
    return name[0].lower() + name[1:]


def _interval_bars(
    pairs: Sequence[tuple[str, Indicator]], legend: str, colour: str, min_n: int
) -> dict[str, Any]:
    """Horizontal bars of (label, record) estimates with asymmetric interval whiskers.

    ``customdata`` holds each bar's exact (ci_low, ci_high, n); the whiskers are drawn
    from them.
    """
    shown = [(label, r) for label, r in pairs if _shown(r)]
    return {
        "type": "bar",
        "orientation": "h",
        "name": legend,
        "x": [r.estimate for _l, r in shown],
        "y": [label for label, _r in shown],
        "marker": {"color": colour},
        "customdata": [[r.ci_low, r.ci_high, r.n] for _l, r in shown],
        "error_x": {
            "type": "data",
            "symmetric": False,
            "array": [_gap(r.ci_high, r.estimate) for _l, r in shown],
            "arrayminus": [_gap(r.estimate, r.ci_low) for _l, r in shown],
            "color": INK,
            "thickness": 1.5,
            "width": 5,
        },
        "hovertext": [f"{legend}: {_value_with_interval(r, min_n)}" for _l, r in shown],
        "hoverinfo": "y+text",
    }


def _gap(high: float | None, low: float | None) -> float:
    return 0.0 if high is None or low is None else max(0.0, high - low)


# --------------------------------------------------------------------------------------------
# Answer distribution per item: the diverging stacked bar


def answer_distribution(
    distributions: Sequence[ItemDistribution],
    *,
    item_texts: Mapping[str, str],
    point_labels: Sequence[str],
    key: str = "answers",
    min_n: int = 5,
) -> Chart:
    """The answers to each item on one scale as a diverging stacked bar (the Likert chart).

    Points below the middle of the scale extend left of zero, points above extend right;
    on a scale with an odd number of points the middle point is split half left, half
    right. Items keep the questionnaire's order (first on top); an item answered by fewer
    than ``min_n`` employers is listed with "< 5" and no bar.
    """
    title = _("How employers answered each item")
    columns = (_("Item"), *point_labels, _("Answers"), _("Cannot judge"))
    if not distributions:
        return _empty(key, title, _("No answers for this selection."), columns)
    points = len(point_labels)
    if points not in DIVERGING or any(
        d.scale_max - d.scale_min + 1 != points for d in distributions
    ):
        raise ValueError(
            f"answer_distribution needs items on one scale of 2–{MAX_LIKERT_POINTS} points "
            f"with a label per point ({points} labels given)"
        )
    colours = DIVERGING[points]
    items = [item_texts.get(d.item, d.item) for d in distributions]
    labels = {text: _wrap(text) for text in items}
    categories = [labels[t] for t in reversed(items)]  # the first item on top
    shown = [(text, d) for text, d in zip(items, distributions, strict=True) if not d.suppressed]
    middle = (points - 1) / 2
    traces: list[dict[str, Any]] = []
    # left side from the middle outwards, so the stacks meet at zero
    left = [i for i in range(points) if i < middle][::-1]
    right = [i for i in range(points) if i > middle]
    centre = [i for i in range(points) if i == middle]

    def trace(i: int, sign: float, half: bool, show_legend: bool) -> dict[str, Any]:
        factor = 0.5 if half else 1.0
        return {
            "type": "bar",
            "orientation": "h",
            "name": point_labels[i],
            "legendgroup": str(i),
            "legendrank": i + 1,
            "showlegend": show_legend,
            "x": [sign * factor * (d.shares or ())[i] for _t, d in shown],
            "y": [labels[t] for t, _d in shown],
            "customdata": [[(d.counts or ())[i], (d.shares or ())[i]] for _t, d in shown],
            "marker": {"color": colours[i], "line": {"color": "#ffffff", "width": 0.5}},
            "hovertext": [
                f"{labels[t]}<br>{point_labels[i]}: "
                f"{present.fraction_text((d.shares or ())[i])} ({(d.counts or ())[i]})"
                for t, d in shown
            ],
            "hoverinfo": "text",
        }

    for i in centre:
        traces.append(trace(i, -1.0, True, False))
    for i in left:
        traces.append(trace(i, -1.0, False, True))
    for i in centre:
        traces.append(trace(i, 1.0, True, True))
    for i in right:
        traces.append(trace(i, 1.0, False, True))
    annotations = [
        {
            "x": 0,
            "y": labels[text],
            "text": present.suppressed_text(min_n),
            "showarrow": False,
            "font": {"color": MUTED},
        }
        for text, d in zip(items, distributions, strict=True)
        if d.suppressed
    ]
    figure = {
        "data": traces,
        "layout": _layout(
            max(200, sum(18 * labels[t].count("<br>") + 30 for t in items) + 110),
            barmode="relative",
            bargap=0.25,
            showlegend=True,
            legend={"orientation": "h", "y": -0.12, "traceorder": "normal"},
            xaxis=_axis(
                range=[-1.04, 1.04],
                tickvals=[-1, -0.5, 0, 0.5, 1],
                ticktext=["100%", "50%", "0", "50%", "100%"],
                zeroline=True,
                zerolinecolor=MUTED,
            ),
            yaxis=_axis(categoryorder="array", categoryarray=categories, showgrid=False),
            annotations=annotations,
        ),
    }
    rows = []
    for text, d in zip(items, distributions, strict=True):
        if d.suppressed:
            hidden = present.suppressed_text(min_n)
            rows.append((text, *([""] * points), hidden, ""))
        else:
            cells = [
                f"{present.fraction_text(share)} ({count})"
                for share, count in zip(d.shares or (), d.counts or (), strict=True)
            ]
            rows.append((text, *cells, str(d.n), str(d.not_applicable)))
    answered = [(text, d) for text, d in shown if d.top_two_share is not None]
    if answered:
        text, lowest = min(answered, key=lambda pair: pair[1].top_two_share or 0.0)
        reading = _(
            "Fewest top marks: “%(item)s”, where %(share)s of %(n)d employers chose one of "
            "the two highest answers.",
            item=text,
            share=present.fraction_text(lowest.top_two_share or 0.0),
            n=lowest.n or 0,
        )
    else:
        reading = _(
            "Every item was answered by fewer than %(n)d employers, so no distribution is shown.",
            n=min_n,
        )
    return Chart(
        key=key,
        title=title,
        reading=reading,
        figure=figure,
        table=DataTable(title, columns, tuple(rows), frozenset(range(1, points + 3))),
    )


def _wrap(text: str, width: int = 48) -> str:
    """A long axis label broken into lines (plotly breaks lines only at ``<br>``)."""
    import textwrap

    return "<br>".join(textwrap.wrap(text, width)) or text


# --------------------------------------------------------------------------------------------
# Trend over the years, with the interval as a band and significant changes marked


def trend(
    records: Sequence[Indicator],
    *,
    title: str,
    key: str,
    min_n: int = 5,
) -> Chart:
    """One indicator of one group over the graduation years.

    ``records`` are the group's records of that indicator (and domain): the yearly ones and
    their ``<indicator>_change`` records (pooled records are left out: they overlap). The
    interval is a band around the line; a year whose change from the year before is
    significant after Holm's adjustment gets a star. Suppressed years are gaps labelled "< 5".
    """
    columns = (_("Year"), _("Value"), _("Interval"), _("n"), _("Change from the year before"))
    yearly = sorted(
        (r for r in records if not r.indicator.endswith("_change") and "pooled" not in r.flags),
        key=lambda r: r.year,
    )
    changes = {r.year: r for r in records if r.indicator.endswith("_change")}
    if not yearly:
        return _empty(key, title, _("No values for this selection."), columns)
    indicator = yearly[0].indicator
    years = [r.year for r in yearly]
    estimates = [r.estimate if _shown(r) else None for r in yearly]
    lows = [r.ci_low if _shown(r) else None for r in yearly]
    highs = [r.ci_high if _shown(r) else None for r in yearly]
    significant = [
        r
        for r in yearly
        if r.year in changes and "significant" in changes[r.year].flags and _shown(r)
    ]
    traces = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": _("Interval"),
            "x": years,
            "y": highs,
            "line": {"width": 0, "color": BAND},
            "hoverinfo": "skip",
            "connectgaps": False,
        },
        {
            "type": "scatter",
            "mode": "lines",
            "name": _("Interval"),
            "x": years,
            "y": lows,
            "fill": "tonexty",
            "fillcolor": BAND,
            "line": {"width": 0, "color": BAND},
            "hoverinfo": "skip",
            "connectgaps": False,
        },
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": present.indicator_name(indicator),
            "x": years,
            "y": estimates,
            "customdata": [[lo, hi, r.n] for lo, hi, r in zip(lows, highs, yearly, strict=True)],
            "line": {"color": PRIMARY, "width": 2},
            "marker": {"color": PRIMARY, "size": 7},
            "hovertext": [f"{r.year}: {_value_with_interval(r, min_n)}" for r in yearly],
            "hoverinfo": "text",
            "connectgaps": False,
        },
    ]
    if significant:
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": _("Significant change from the year before"),
                "x": [r.year for r in significant],
                "y": [r.estimate for r in significant],
                "marker": {
                    "symbol": "star",
                    "size": 15,
                    "color": MARK,
                    "line": {"color": "#ffffff", "width": 1},
                },
                "hovertext": [
                    _("Significant change: %(change)s", change=_change_text(changes[r.year], min_n))
                    for r in significant
                ],
                "hoverinfo": "text",
            }
        )
    annotations = [
        {
            "x": r.year,
            "y": 0,
            "yref": "paper",
            "yanchor": "bottom",
            "text": present.value_text(r, min_n),
            "showarrow": False,
            "font": {"color": MUTED},
        }
        for r in yearly
        if not _shown(r)
    ]
    figure = {
        "data": traces,
        "layout": _layout(
            220,
            xaxis=_axis(tickmode="array", tickvals=years, ticktext=[str(y) for y in years]),
            yaxis=_value_axis(indicator),
            annotations=annotations,
        ),
    }
    rows = tuple(
        (
            str(r.year),
            present.value_text(r, min_n),
            present.interval_text(r),
            present.n_text(r, min_n),
            _change_text(changes[r.year], min_n) if r.year in changes else "",
        )
        for r in yearly
    )
    return Chart(
        key=key,
        title=title,
        reading=_trend_reading(title, yearly, changes, min_n),
        figure=figure,
        table=DataTable(title, columns, rows, frozenset({1, 2, 3})),
    )


def _change_text(change: Indicator, min_n: int) -> str:
    """ "+7 (95% CI +1–+13), significant" or "… not significant"."""
    if not _shown(change):
        return present.value_text(change, min_n)
    text = _value_with_interval(change, min_n)
    if "significant" in change.flags:
        return _("%(change)s, significant", change=text)
    return _("%(change)s, not significant", change=text)


def _trend_reading(
    title: str, yearly: Sequence[Indicator], changes: Mapping[int, Indicator], min_n: int
) -> str:
    latest = yearly[-1]
    if not _shown(latest):
        return _(
            "%(indicator)s in %(year)d rests on fewer than %(n)d answers and is not shown.",
            indicator=title,
            year=latest.year,
            n=min_n,
        )
    now = _value_with_interval(latest, min_n)
    change = changes.get(latest.year)
    if change is None or not _shown(change):
        return _(
            "%(indicator)s in %(year)d: %(value)s.", indicator=title, year=latest.year, value=now
        )
    if "significant" in change.flags:
        return _(
            "%(indicator)s in %(year)d: %(value)s, a significant change of %(change)s from the "
            "year before.",
            indicator=title,
            year=latest.year,
            value=now,
            change=present.value_text(change, min_n),
        )
    return _(
        "%(indicator)s in %(year)d: %(value)s; the change from the year before (%(change)s) "
        "could be chance.",
        indicator=title,
        year=latest.year,
        value=now,
        change=present.value_text(change, min_n),
    )


# --------------------------------------------------------------------------------------------
# Comparison heatmap: programmes × domains


def heatmap(
    records: Sequence[Indicator],
    *,
    programme_names: Mapping[str, str],
    domain_names: Mapping[str, str],
    key: str = "heatmap",
    min_n: int = 5,
) -> Chart:
    """Domain scores of several programmes (rows) across the domains (columns).

    ``records``: the yearly ``domain_score`` records of one year and instrument, one per
    programme × domain. Colour is the score; a suppressed cell is grey and says "< 5".
    """
    title = _("Domain scores by programme (0–100)")
    present_domains = {r.domain for r in records if r.domain}
    # the questionnaire's order of domains, then any it does not name
    domains = [d for d in domain_names if d in present_domains] + sorted(
        present_domains - set(domain_names)
    )
    programmes = sorted({r.programme for r in records}, key=lambda p: programme_names.get(p, p))
    columns = (_("Programme"), *(domain_names.get(d, d) for d in domains))
    if not records or not domains:
        return _empty(key, title, _("No domain scores for this selection."), columns)
    cell = {(r.programme, r.domain): r for r in records}
    rows_labels = [programme_names.get(p, p) for p in programmes]
    z = [
        [cell[p, d].estimate if (p, d) in cell and _shown(cell[p, d]) else None for d in domains]
        for p in programmes
    ]
    hover = [
        [
            f"{programme_names.get(p, p)}<br>{domain_names.get(d, d)}: "
            + (_value_with_interval(cell[p, d], min_n) if (p, d) in cell else "—")
            for d in domains
        ]
        for p in programmes
    ]
    text = [
        [present.value_text(cell[p, d], min_n) if (p, d) in cell else "—" for d in domains]
        for p in programmes
    ]
    values = [v for row in z for v in row if v is not None]
    low = min(values, default=0.0)
    high = max(values, default=100.0)
    figure = {
        "data": [
            {
                "type": "heatmap",
                "x": [_wrap(domain_names.get(d, d), 18) for d in domains],
                "y": [_wrap(label, 34) for label in rows_labels],
                "z": z,
                "text": text,
                "texttemplate": "%{text}",
                "hovertext": hover,
                "hoverinfo": "text",
                "colorscale": HEATMAP_SCALE,
                "zmin": max(0.0, 10 * (low // 10)),
                "zmax": min(100.0, 10 * -(-high // 10)) if values else 100.0,
                "xgap": 2,
                "ygap": 2,
                "colorbar": {"title": {"text": _("Score")}, "thickness": 12},
            }
        ],
        "layout": _layout(
            max(220, 36 * len(programmes) + 140),
            plot_bgcolor=SUPPRESSED,
            xaxis=_axis(side="top", tickangle=0, showgrid=False),
            yaxis=_axis(autorange="reversed", showgrid=False),
            margin={"l": 8, "r": 8, "t": 8, "b": 8, "pad": 4},
        ),
    }
    rows = tuple(
        (
            programme_names.get(p, p),
            *(_value_with_ci(cell[p, d], min_n) if (p, d) in cell else "—" for d in domains),
        )
        for p in programmes
    )
    shown = [r for r in records if _shown(r)]
    if shown:
        lowest = min(shown, key=lambda r: r.estimate or 0.0)
        reading = _(
            "The lowest score is %(programme)s in %(domain)s: %(value)s.",
            programme=programme_names.get(lowest.programme, lowest.programme),
            domain=domain_names.get(lowest.domain or "", lowest.domain or ""),
            value=_value_with_interval(lowest, min_n),
        )
    else:
        reading = _(
            "Every cell rests on fewer than %(n)d responses, so no score is shown.", n=min_n
        )
    return Chart(
        key=key,
        title=title,
        reading=reading,
        figure=figure,
        table=DataTable(title, columns, rows, frozenset(range(1, len(domains) + 1))),
    )


# --------------------------------------------------------------------------------------------
# Responses per day of a campaign (staff; the campaign page reuses it)


def responses_per_day(
    days: Sequence[tuple[dt.date, int]],
    *,
    invited: int,
    key: str = "responses-per-day",
) -> Chart:
    """Submitted responses per day (bars) and their running total against the invited.

    ``days``: (day, responses submitted that day), in any order; days without a
    submission may be left out. The running total is drawn against a line at ``invited``.
    """
    title = _("Responses per day")
    columns = (_("Day"), _("Submitted that day"), _("Submitted so far"))
    if not days:
        return _empty(key, title, _("No response has been submitted yet."), columns)
    ordered = sorted(days)
    dates = [d.isoformat() for d, _n in ordered]
    daily = [n for _d, n in ordered]
    total = list(itertools.accumulate(daily))
    # month names in the page's language: plotly.js would write English ones ("12 Nov")
    shown = [format_date(d, "d MMM") for d, _n in ordered]
    every = max(1, math.ceil(len(ordered) / 8))
    figure = {
        "data": [
            {
                "type": "bar",
                "name": _("Submitted that day"),
                "x": dates,
                "y": daily,
                "customdata": shown,
                "marker": {"color": "#90cdf4"},
                "hovertemplate": "%{customdata}: %{y}<extra></extra>",
            },
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": _("Submitted so far"),
                "x": dates,
                "y": total,
                "customdata": shown,
                "line": {"color": PRIMARY, "width": 2, "shape": "hv"},
                "marker": {"size": 5},
                "hovertemplate": "%{customdata}: %{y}<extra></extra>",
            },
        ],
        "layout": _layout(
            220,
            showlegend=True,
            legend={"orientation": "h", "y": -0.25},
            xaxis=_axis(
                type="date",
                tickmode="array",
                tickvals=dates[::every],
                ticktext=shown[::every],
            ),
            yaxis=_axis(rangemode="tozero", title={"text": _("Responses")}),
            shapes=[
                {
                    "type": "line",
                    "xref": "paper",
                    "x0": 0,
                    "x1": 1,
                    "y0": invited,
                    "y1": invited,
                    "line": {"color": MUTED, "dash": "dot", "width": 1},
                }
            ],
            annotations=[
                {
                    "xref": "paper",
                    "x": 0,
                    "y": invited,
                    "xanchor": "left",
                    "yanchor": "bottom",
                    "text": _("%(n)d invited", n=invited),
                    "showarrow": False,
                    "font": {"color": MUTED, "size": 12},
                }
            ],
        ),
    }
    rows = tuple(
        (format_date(d, "medium"), str(n), str(t)) for (d, n), t in zip(ordered, total, strict=True)
    )
    reading = _(
        "By %(day)s, %(submitted)d of %(invited)d invited employers had answered.",
        day=format_date(ordered[-1][0], "long"),
        submitted=total[-1],
        invited=invited,
    )
    return Chart(
        key=key,
        title=title,
        reading=reading,
        figure=figure,
        table=DataTable(title, columns, rows, frozenset({1, 2})),
    )
