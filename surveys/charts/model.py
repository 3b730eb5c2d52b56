"""What a chart builder returns: the figure, its data table and its one-line reading."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

#: plotly.js options of every chart: no mode bar (the data table beneath replaces its
#: download button, and its unlabelled icons trouble screen readers), no logo, resizes.
CONFIG = {"displayModeBar": False, "displaylogo": False, "responsive": True}


@dataclass(frozen=True)
class DataTable:
    """The numbers behind a chart, as text in the page's language.

    ``numeric`` lists the columns that hold numbers (right-aligned on the page).
    """

    caption: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Chart:
    """A chart: a Plotly figure specification, its data table and its reading."""

    #: unique within a page (DOM ids are built from it)
    key: str
    title: str
    #: one sentence in the page's language, generated from the records
    reading: str
    #: ``{"data": [...], "layout": {...}}`` as plotly.js takes it
    figure: dict[str, Any]
    table: DataTable
    #: shown in place of the figure when there is nothing to draw
    empty: bool = False

    @property
    def draws_a_point(self) -> bool:
        """Whether any trace has a point with both coordinates (a trace without ``x`` or
        ``y``, such as a pie, counts as drawing). A chart whose every group is suppressed
        has none: its reading says so, and its axes alone would say nothing (plotly.js
        even lays their labels out at NaN)."""
        for trace in self.figure.get("data", ()):
            xs, ys = trace.get("x"), trace.get("y")
            if xs is None or ys is None:
                return True
            if any(x is not None and y is not None for x, y in zip(xs, ys, strict=False)):
                return True
        return False

    def figure_json(self) -> str:
        """The figure and its plotly.js options as compact JSON, safe inside HTML.

        ``<``, ``>`` and ``&`` are escaped as JSON unicode escapes, so the text can sit in
        a ``<script type="application/json">`` element without ending it.
        """
        text = json.dumps(
            {**self.figure, "config": CONFIG},
            ensure_ascii=False,
            separators=(",", ":"),
            allow_nan=False,
        )
        return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")

    def plotly_figure(self):
        """The figure as a validated ``plotly.graph_objects.Figure`` (for export and tests)."""
        import plotly.graph_objects as go

        return go.Figure(self.figure)
