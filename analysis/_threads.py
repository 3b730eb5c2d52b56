"""Independent steps of a computation on threads.

NumPy releases the GIL in its sorts, reductions, gathers and element-wise loops, so two
steps over large arrays run at once on two cores. ``HAMKOR_ANALYSIS_THREADS`` sets the
number of threads (default: the usable CPUs, at most 2 — the steps come in pairs and
threes); ``1`` runs every step in the calling thread.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

__all__ = ["parallel"]

_T = TypeVar("_T")


def _usable_cpus() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


WORKERS = int(os.environ.get("HAMKOR_ANALYSIS_THREADS") or min(2, _usable_cpus()))


def parallel(tasks: list[Callable[[], _T]]) -> list[_T]:
    """Run ``tasks`` (longest first, for the best packing) and return their results in order.

    An exception is raised as is; when several tasks fail, the first task's in the list is
    raised, as if they had run one after another.
    """
    if len(tasks) < 2 or WORKERS < 2:
        return [t() for t in tasks]
    with ThreadPoolExecutor(max_workers=min(WORKERS, len(tasks))) as pool:
        futures = [pool.submit(t) for t in tasks]
        return [f.result() for f in futures]
