"""No transparent huge pages while a load builds a table's memory.

A load grows the process by the whole table, and Arrow's allocator (mimalloc) asks the
kernel for transparent huge pages. Where the kernel's THP ``defrag`` setting is
``madvise`` (Debian's default), each new huge page may first have to be made by direct
compaction, in the faulting thread: measured here, TPC-H SF1 from Parquet took 3.5-4.6 s
to load with THP and 1.9-2.8 s without, nearly all the difference being system time.
Queries, which reuse memory the allocator already holds, are a little faster *with* huge
pages (fewer TLB misses), so THP is turned off only while at least one load runs
(``PR_SET_THP_DISABLE`` is per process, and applies to new faults at once) and turned
back to how they were when the last load ends. Elsewhere than Linux this does nothing.
"""

from __future__ import annotations

import ctypes
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_PR_SET_THP_DISABLE = 41
_PR_GET_THP_DISABLE = 42
_lock = threading.Lock()
_active = 0
_was_disabled = False


def _prctl(option: int, value: int = 0) -> int:
    if not sys.platform.startswith("linux"):
        return -1
    try:
        return int(ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0))
    except (OSError, AttributeError):  # no prctl: nothing to tune
        return -1


@contextmanager
def without_huge_pages() -> Iterator[None]:
    """Run the block with transparent huge pages off for the process (nesting and
    concurrent loads counted: the last one out turns them back on)."""
    global _active, _was_disabled
    with _lock:
        _active += 1
        if _active == 1:
            _was_disabled = _prctl(_PR_GET_THP_DISABLE) == 1
            if not _was_disabled:
                _prctl(_PR_SET_THP_DISABLE, 1)
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0 and not _was_disabled:
                _prctl(_PR_SET_THP_DISABLE, 0)
