"""Charts as SVG for reports: kaleido (≥ 1) drawing with Debian's Chromium, offline.

kaleido renders with the plotly.js of the installed ``plotly`` package (never a CDN) in a
headless Chromium found through ``BROWSER_PATH`` (:func:`default_browser` unless set). One
browser is started per process (and again in a forked child, such as an RQ work horse) and
reused by every later export. Starting Chromium costs one to a few seconds, so
:func:`start_server` starts it without waiting, for a caller that has other work to do
meanwhile (the report starts it before it reads its pages).

:func:`charts_svg` draws a batch of charts at once: identical figures are drawn once, and the
others are spread over the browser's :data:`TABS` tabs, each its own renderer process.
kaleido's own loop (``start_sync_server``) is not used: it answers one request at a time,
waits for ever when Chromium fails to start, and reloads a tab after every figure (see
:class:`_Browser`). Here the browser lives in an event loop of its own thread, which any
thread may ask for drawings.

Nothing waits for ever: Chromium has :data:`OPEN_TIMEOUT` seconds to start and a batch
:data:`DRAW_TIMEOUT` seconds plus :data:`FIGURE_TIMEOUT` per figure to be drawn. A browser
that misses either is killed and forgotten, the caller gets :class:`ChartTimeout`, and the
next export starts a fresh one (a report job that failed this way can simply be retried).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import logging
import os
import shutil
import signal
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

import kaleido

from surveys.charts.model import Chart

#: Debian's ``chromium-headless-shell``: Chromium's engine without the desktop browser
#: around it, what Playwright itself runs headless. The demo's yearly PDF report cost it
#: 8.3-9.0 s of Chromium's CPU against 11.1-11.8 s for the full browser (2026-12-01).
HEADLESS_SHELL = "/usr/lib/chromium/chromium-headless-shell"
#: Debian's ``chromium``, the full browser: used when the headless shell is not installed.
FULL_BROWSER = "/usr/bin/chromium"
#: Width of an exported chart in CSS pixels (an A4 text column at 96 dpi is about 680).
DEFAULT_WIDTH = 680
#: Tabs of the browser, i.e. figures drawn at once. Each is a renderer process of its own,
#: so a batch keeps two cores busy (or gets a larger share of busy ones).
TABS = 2
#: Seconds Chromium has to start (it takes one to a few).
OPEN_TIMEOUT = 60.0
#: Seconds a batch of drawings has, plus :data:`FIGURE_TIMEOUT` per distinct figure (a
#: figure takes 0.05–0.5 s): far above a slow machine's need, a bound on a hung browser.
DRAW_TIMEOUT = 30.0
FIGURE_TIMEOUT = 2.0

logger = logging.getLogger(__name__)


class ChartTimeout(RuntimeError):
    """Chromium did not start or draw in time; its browser was killed, the next export
    starts another."""


class _Browser(kaleido.Kaleido):
    """kaleido's browser, keeping a tab's page from one figure to the next.

    kaleido reloads the page of a tab after every figure, so that nothing of one figure can
    reach the next. The reload parses plotly.js again: 0.1–0.2 s of a renderer's CPU, three
    quarters of what a figure costs. ``Plotly.toImage`` draws in a ``div`` of its own and
    removes it, and our figures use neither maps nor MathJax, so the page after a figure is
    the page before it (the drawings are the same but for plotly.js's random ids): the tab
    goes straight back to the queue. ``_return_kaleido_tab`` is kaleido's step that reloads;
    should a later kaleido rename it, tabs would be reloaded again, slower but as correct.
    """

    async def _return_kaleido_tab(self, tab: Any) -> None:
        await self.tabs_ready.put(tab)

    async def _get_kaleido_tab(self) -> Any:
        """A tab whose page has kaleido's script, opened again first if it has not.

        kaleido opens a tab by navigating it and taking the next "execution context
        created" and "page loaded" events as its page's; on a busy machine these can be the
        blank page's that the tab opened with, and the first figure then fails with
        "ReferenceError: kaleido_scopes is not defined". Navigating again (the tab's
        runtime events are on by then, so the next context is the new page's) mends it.
        """
        tab = await super()._get_kaleido_tab()
        for _attempt in range(3):
            if await _has_kaleido_script(tab):
                break
            logger.info("a chart tab's page has no kaleido script: opening it again")
            await tab.navigate(self._index)
        return tab


async def _has_kaleido_script(tab: Any) -> bool:
    """Whether ``kaleido_scopes`` exists in the execution context kaleido calls on ``tab``."""
    answer = await tab.tab.send_command(
        "Runtime.evaluate",
        params={
            "expression": "typeof kaleido_scopes",
            "contextId": tab._current_js_id,
            "returnByValue": True,
        },
    )
    value = (answer.get("result") or {}).get("result") or {}
    return value.get("value") == "object"


class _Server:
    """The process's browser, driven by an event loop in a thread of its own."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name="kaleido", daemon=True)
        self.thread.start()
        #: the open browser, or the error that kept it from opening
        self.browser: Future[_Browser] = asyncio.run_coroutine_threadsafe(self._open(), self.loop)

    def _run(self) -> None:
        try:
            self.loop.run_forever()
        finally:
            self.loop.close()

    @staticmethod
    async def _open() -> _Browser:
        browser = _Browser(n=TABS, mathjax=False)  # no CDN, no TeX
        await browser.open()
        return browser

    def draw(self, specs: Sequence[dict[str, Any]]) -> list[bytes]:
        """The images of the specs, in their order (the first error raises).

        Raises :class:`ChartTimeout`, after killing the browser, when Chromium does not
        start or draw in time."""
        try:
            browser = self.browser.result(timeout=OPEN_TIMEOUT)
        except FutureTimeout:
            self.kill()
            raise ChartTimeout(
                f"Chromium did not start within {OPEN_TIMEOUT:g} s to draw the charts"
            ) from None

        async def draw_all() -> list[bytes]:
            return await asyncio.gather(
                *(browser.calc_fig(spec["fig"], opts=spec["opts"]) for spec in specs)
            )

        limit = DRAW_TIMEOUT + FIGURE_TIMEOUT * len(specs)
        drawing = asyncio.run_coroutine_threadsafe(draw_all(), self.loop)
        try:
            return drawing.result(timeout=limit)
        except FutureTimeout:
            drawing.cancel()
            self.kill()
            raise ChartTimeout(
                f"Chromium did not draw {len(specs)} chart(s) within {limit:g} s; "
                "its browser was stopped and the next attempt starts a new one"
            ) from None

    def kill(self) -> None:
        """Forget this browser (the next export starts another) and kill its Chromium
        processes without waiting on a browser that no longer answers."""
        global _server
        with _server_lock:
            if _server is self:
                _server = None
        logger.warning("killing the chart browser of process %s: it did not answer", self.pid)
        if self.browser.done() and self.browser.exception() is None:
            process = getattr(self.browser.result(), "subprocess", None)
            if process is not None and process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)  # Chromium and its renderers
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                process.wait(timeout=10)
        else:
            self.browser.cancel()
        self.loop.call_soon_threadsafe(self.loop.stop)

    def close(self) -> None:
        """Close the browser (its Chromium processes) and end the thread."""
        if self.pid != os.getpid():
            return  # a forked child: the browser is its parent's
        if self.browser.done() and self.browser.exception() is None:
            closing = asyncio.run_coroutine_threadsafe(self.browser.result().close(), self.loop)
            closing.result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


_server_lock = threading.Lock()
_server: _Server | None = None


def default_browser() -> str:
    """The Chromium to draw with when ``BROWSER_PATH`` names none: Debian's headless shell
    if it is installed, else Debian's full browser."""
    return HEADLESS_SHELL if os.access(HEADLESS_SHELL, os.X_OK) else FULL_BROWSER


def start_server() -> None:
    """Start the process's browser once, without waiting for Chromium to be ready. The first
    export waits for it, and raises the error that kept it from starting, if any.

    Raises ``RuntimeError`` at once when there is no browser at ``BROWSER_PATH``.
    """
    _running()


def _running() -> _Server:
    global _server
    with _server_lock:
        if _server is not None and _server.pid == os.getpid():
            return _server
        # none yet, or the parent's (its thread did not survive the fork)
        browser = os.environ.setdefault("BROWSER_PATH", default_browser())
        if shutil.which(browser) is None:
            raise RuntimeError(
                f"no Chromium at {browser} (BROWSER_PATH) to draw the charts with: "
                "install Debian's chromium-headless-shell (or chromium) or set BROWSER_PATH"
            )
        _server = _Server()
        return _server


@atexit.register
def _close_server() -> None:
    if _server is not None:
        _server.close()


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
    images = _running().draw(unique)
    texts = [image.decode("utf-8") for image in images]
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
