"""The app served on a live local port, and Debian's Chromium to open it with."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from werkzeug.serving import make_server

from surveys.charts.export import default_browser

#: The Chromium the app draws its charts with: Debian's headless shell when installed, as
#: Playwright itself runs headless. The full browser cost the browser tests about three
#: times the CPU (spare renderers, desktop services) on a 2-core machine.
CHROMIUM = default_browser()
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

#: How often the serving thread looks whether it is asked to stop. Werkzeug's default of
#: 0.5 s made every live-server test wait about that long in its teardown.
POLL_SECONDS = 0.02


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """``app`` served by Werkzeug's threaded server on a free port; yields its base URL.

    The socket listens before this yields (the server binds and listens when it is made).
    """
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": POLL_SECONDS}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium driven by Playwright (never downloaded: Debian's), closed after.

    Playwright's sync API allows one running instance per thread at a time.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


def requests_reaching(app: Flask, prefix: str) -> list[tuple[str, int]]:
    """The (path, status) of each request for a path starting with ``prefix`` that reaches
    ``app`` from now on; what a browser takes from its cache never does."""
    seen: list[tuple[str, int]] = []
    serve = app.wsgi_app

    def noting(environ, start_response):  # type: ignore[no-untyped-def]
        path = environ["PATH_INFO"]
        if not path.startswith(prefix):
            return serve(environ, start_response)

        def start(status, headers, *args):  # type: ignore[no-untyped-def]
            seen.append((path, int(status.split()[0])))
            return start_response(status, headers, *args)

        return serve(environ, start)

    app.wsgi_app = noting  # type: ignore[method-assign]
    return seen
