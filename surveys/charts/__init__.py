"""The chart module: Plotly figures built from indicator records, for pages and reports.

Every chart of Hamkor is built here, by one function per kind of chart (``figures.py``), from
the indicator records of ``analysis`` (and the answer distributions of ``analysis.counts``);
templates and reports only place what these functions return. A :class:`~surveys.charts.
model.Chart` carries

- the figure as a plain Plotly figure specification (``{"data": [...], "layout": {...}}``,
  the JSON schema of plotly.js; building ``plotly.graph_objects.Figure`` objects costs about
  10 ms each, a page shows a dozen charts, and a test validates every figure against
  Plotly's schema instead);
- its data table (every number the figure shows, as text in the page's language), drawn
  beneath the chart for screen readers and for copying;
- a one-line reading ("Employers rate safety culture lowest: 61 of 100, 95% CI 57–65").

The builders need no request: texts come from Flask-Babel in the current locale (a report
built in a job wraps the call in ``flask_babel.force_locale(lang)`` inside an app context),
numbers and "< 5" from the presentation rules. ``export.py`` turns a chart into SVG through
kaleido and Debian's Chromium; ``views.py`` serves plotly.js from the installed ``plotly``
package, and ``surveys/static/charts.js`` draws the figures a page carries as JSON.
"""

from surveys.charts.model import Chart, DataTable

__all__ = ["Chart", "DataTable"]
