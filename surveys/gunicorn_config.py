"""gunicorn settings for Hamkor's web workers (``gunicorn -c python:surveys.gunicorn_config``).

``hamkor serve`` applies them itself; a systemd unit passes them with ``-c`` (docs/deploy.md).
"""

from __future__ import annotations

import gc


def post_worker_init(worker) -> None:
    """Move everything the worker holds once the app is loaded (modules, the app, compiled
    routes: some 190,000 objects) out of the garbage collector's reach.

    They live as long as the worker, yet every full collection walked them all again (about
    2 % of an employer form's CPU) and, in a worker forked from a preloading master, wrote to
    the memory pages it shares with the master. Objects made later are collected as before.
    """
    gc.freeze()
