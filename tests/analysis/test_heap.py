"""Large freed arrays are reused inside ``compute_indicators`` and given back after it."""

from __future__ import annotations

import platform
import resource
import threading

import numpy as np
import pytest

from analysis import _heap

pytestmark = pytest.mark.skipif(
    platform.libc_ver()[0] != "glibc", reason="the heap setting is glibc's"
)


def _faults_of_fresh_array(mib: int = 64) -> int:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    a = np.ones(mib << 17)  # 8-byte floats, every page written
    del a
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


def _rss_kib() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * (resource.getpagesize() // 1024)


def test_a_freed_large_array_is_reused_inside_and_returned_after():
    with _heap.large_blocks_reused():
        _faults_of_fresh_array()
        assert _faults_of_fresh_array() < 8  # the freed block's pages are still there
        rss_inside = _rss_kib()
    # leaving trims the heap: the 64 MiB block does not stay in the process
    assert _rss_kib() < rss_inside - 32 * 1024
    assert _heap._depth == 0


def test_nested_and_concurrent_uses_restore_once():
    seen = []

    def compute():
        with _heap.large_blocks_reused():
            seen.append(_heap._depth)
            with _heap.large_blocks_reused():
                np.ones(1 << 22)

    threads = [threading.Thread(target=compute) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 4 and all(d >= 1 for d in seen)
    assert _heap._depth == 0
