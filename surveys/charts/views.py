"""plotly.js, served by the app itself from the installed ``plotly`` package (no CDN).

The URL carries the version (``/charts/plotly-<version>.min.js``), so the file can be cached
for a year and a new ``plotly`` release is a new URL; an ETag lets a browser revalidate
cheaply, and a gzip copy (made once per process) is sent to browsers that accept it
(4.8 MB become about 1.4 MB).
"""

from __future__ import annotations

import functools
import gzip
import hashlib

from flask import Blueprint, Response, redirect, request, url_for

bp = Blueprint("charts", __name__)

#: A year: the URL changes with every release of plotly, so the file never goes stale.
MAX_AGE = 365 * 24 * 3600


@functools.cache
def plotly_version() -> str:
    """The version in plotly.js's URL: plotly.py's and the bundled plotly.js's."""
    import plotly
    from plotly.offline import get_plotlyjs_version

    return f"{get_plotlyjs_version()}-py{plotly.__version__}"


@functools.cache
def _plotly_bytes() -> tuple[bytes, bytes, str]:
    """(plotly.min.js, its gzip, its ETag), read once per process."""
    from plotly.offline import get_plotlyjs

    body = get_plotlyjs().encode("utf-8")
    return body, gzip.compress(body, compresslevel=6, mtime=0), hashlib.sha256(body).hexdigest()


@bp.route("/charts/plotly-<version>.min.js")
def plotly_js(version: str):
    """plotly.js itself; an old version's URL is sent to the current one."""
    if version != plotly_version():
        return redirect(url_for("charts.plotly_js", version=plotly_version()))
    body, compressed, etag = _plotly_bytes()
    gzipped = "gzip" in request.headers.get("Accept-Encoding", "")
    response = Response(compressed if gzipped else body, mimetype="text/javascript")
    if gzipped:
        response.headers["Content-Encoding"] = "gzip"
    response.headers["Vary"] = "Accept-Encoding"
    response.set_etag(etag + ("-gz" if gzipped else ""))
    response.cache_control.public = True
    response.cache_control.max_age = MAX_AGE
    response.cache_control.immutable = True
    return response.make_conditional(request)


@bp.app_context_processor
def plotly_url():
    """``plotly_js_url()`` for templates that draw charts."""
    return {"plotly_js_url": lambda: url_for("charts.plotly_js", version=plotly_version())}
