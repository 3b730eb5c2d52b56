"""Charts as SVG for reports: kaleido (≥ 1) drawing with Debian's Chromium, offline.

kaleido renders with the plotly.js of the installed ``plotly`` package (never a CDN) in a
headless Chromium found through ``BROWSER_PATH`` (``/usr/bin/chromium`` unless set). One
kaleido server is started per process, on first use, and reused by every later export:
starting Chromium costs about a second, a figure afterwards a few tens of milliseconds.
"""

from __future__ import annotations

import os
import threading

from surveys.charts.model import Chart

#: Debian's Chromium, unless ``BROWSER_PATH`` names another.
DEFAULT_BROWSER = "/usr/bin/chromium"
#: Width of an exported chart in CSS pixels (an A4 text column at 96 dpi is about 680).
DEFAULT_WIDTH = 680

_server_lock = threading.Lock()
_server_started = False


def _ensure_server() -> None:
    """Start the process's kaleido server once (``mathjax=False``: no CDN, no TeX)."""
    global _server_started
    with _server_lock:
        if _server_started:
            return
        import kaleido

        os.environ.setdefault("BROWSER_PATH", DEFAULT_BROWSER)
        kaleido.start_sync_server(n=1, mathjax=False, silence_warnings=True)
        _server_started = True


def chart_svg(chart: Chart, *, width: int = DEFAULT_WIDTH, height: int | None = None) -> str:
    """The chart's figure as an SVG document (text).

    The figure is validated by ``plotly.graph_objects.Figure`` on the way, so a builder
    that produced an invalid property fails here rather than drawing something else.
    Raises ``ValueError`` for a chart that has nothing to draw.
    """
    if chart.empty:
        raise ValueError(f"chart {chart.key!r} has nothing to draw: {chart.reading}")
    import kaleido

    _ensure_server()
    figure = chart.plotly_figure().to_dict()
    figure["layout"].setdefault("width", width)
    opts = {
        "format": "svg",
        "width": width,
        "height": height or figure["layout"].get("height") or 400,
    }
    data = kaleido.calc_fig_sync(figure, opts=opts)
    return data.decode("utf-8") if isinstance(data, bytes) else str(data)
