"""Charts as SVG for reports: kaleido (≥ 1) drawing with Debian's Chromium, offline.

kaleido renders with the plotly.js of the installed ``plotly`` package (never a CDN) in a
headless Chromium found through ``BROWSER_PATH`` (``/usr/bin/chromium`` unless set). One
kaleido server is started per process and reused by every later export. Starting Chromium
costs one to a few seconds, so :func:`start_server` starts it without waiting, for a caller
that has other work to do meanwhile (the report starts it before it reads its pages).

Drawing a figure costs Chromium's renderer a fixed 0.1–0.2 s of CPU (``Plotly.newPlot``
and the export, even for a two-bar chart), so :func:`charts_svg` draws a batch of charts
at once: identical figures are drawn once, and the others are spread over the server's
:data:`TABS` tabs, each its own renderer process.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from surveys.charts.model import Chart

#: Debian's Chromium, unless ``BROWSER_PATH`` names another.
DEFAULT_BROWSER = "/usr/bin/chromium"
#: Width of an exported chart in CSS pixels (an A4 text column at 96 dpi is about 680).
DEFAULT_WIDTH = 680
#: Tabs of the server, i.e. figures drawn at once. Each is a renderer process of its own,
#: so a batch keeps two cores busy (or gets a larger share of busy ones).
TABS = 2

_server_lock = threading.Lock()
_server_started = False
#: kaleido's server answers one request at a time and hands back the answer through one
#: queue: two threads asking at once could receive each other's images.
_export_lock = threading.Lock()


def start_server() -> None:
    """Start the process's kaleido server once, without waiting for Chromium to be ready
    (``mathjax=False``: no CDN, no TeX). The first export waits for it.

    Raises ``RuntimeError`` when there is no browser at ``BROWSER_PATH``: kaleido would
    fail in its own thread, and every export would then wait for ever.
    """
    global _server_started
    with _server_lock:
        if _server_started:
            return
        import kaleido

        browser = os.environ.setdefault("BROWSER_PATH", DEFAULT_BROWSER)
        if shutil.which(browser) is None:
            raise RuntimeError(
                f"no Chromium at {browser} (BROWSER_PATH) to draw the charts with: "
                "install Debian's chromium or set BROWSER_PATH"
            )
        kaleido.start_sync_server(n=TABS, mathjax=False, silence_warnings=True)
        _server_started = True


def chart_svg(chart: Chart, *, width: int = DEFAULT_WIDTH, height: int | None = None) -> str:
    """The chart's figure as an SVG document (text).

    The figure is validated by ``plotly.graph_objects.Figure`` on the way, so a builder
    that produced an invalid property fails here rather than drawing something else.
    Raises ``ValueError`` for a chart that has nothing to draw.
    """
    return charts_svg([chart], width=width, height=height)[0]


def charts_svg(
    charts: Sequence[Chart], *, width: int = DEFAULT_WIDTH, height: int | None = None
) -> list[str]:
    """Each chart's figure as an SVG document, in the order of ``charts``.

    One request to the server for the whole batch: figures that are the same drawing
    (same data, layout and size) are drawn once, the others in parallel on the server's
    tabs. Validated and refused like :func:`chart_svg`; the first figure that fails to
    draw raises, and the batch is abandoned.
    """
    specs = [_spec(chart, width, height) for chart in charts]
    drawings: dict[str, int] = {}  # the spec as JSON -> its index among the unique ones
    unique: list[dict[str, Any]] = []
    order = []
    for spec in specs:
        key = _key(spec)
        if key not in drawings:
            drawings[key] = len(unique)
            unique.append(spec)
        order.append(drawings[key])
    if not unique:
        return []
    import kaleido

    start_server()
    with tempfile.TemporaryDirectory(prefix="hamkor-charts-") as folder, _export_lock:
        paths = [Path(folder) / f"chart-{i}.svg" for i in range(len(unique))]
        kaleido.write_fig_from_object_sync(
            [{**spec, "path": path} for spec, path in zip(unique, paths, strict=True)],
            cancel_on_error=True,
        )
        texts = [path.read_text(encoding="utf-8") for path in paths]
    return [texts[i] for i in order]


def _spec(chart: Chart, width: int, height: int | None) -> dict[str, Any]:
    """What kaleido draws for the chart: the validated figure and the image's size."""
    if chart.empty:
        raise ValueError(f"chart {chart.key!r} has nothing to draw: {chart.reading}")
    figure = chart.plotly_figure().to_dict()
    figure["layout"].setdefault("width", width)
    opts = {
        "format": "svg",
        "width": width,
        "height": height or figure["layout"].get("height") or 400,
    }
    return {"fig": figure, "opts": opts}


def _key(spec: dict[str, Any]) -> str:
    """The spec as canonical JSON (Plotly's encoder writes arrays in full)."""
    from plotly.utils import PlotlyJSONEncoder

    return json.dumps(spec, cls=PlotlyJSONEncoder, sort_keys=True)
