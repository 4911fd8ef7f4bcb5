"""Transparent huge pages: off for the engine's process, or at least while a load runs.

By default the engine turns them off for its whole process (:func:`memory_policy`).
DataFusion's allocator (mimalloc) keeps its memory in big arenas that the kernel backs
with huge pages (1 GiB arena, 446 MiB of it in huge pages after a few TPC-H queries), so
every fresh 2 MiB of a query's memory is a page the kernel clears (and on a fragmented
machine first compacts) at the first touch, used in full or not. A query's first runs
paid for it: TPC-H Q3 in place took 685, 472, then 258 ms of CPU, and 250 from the
fourth run on; with huge pages off 351, 287, 259, then the same 250. The 22 queries on
loaded tables, each once in a new engine: 2.5-2.7 -> 2.0 s; loading the eight tables
from local Parquet and writing their snapshots 3.9-4.2 -> 3.5-3.6 s; repeated runs of
the queries stay within 3 % (huge pages spare some address translation on big hash
tables). Databases commonly run without them for the same reasons: first-use latency and
memory that is counted (resident) but not used.

An engine that keeps them (``LAKEHOUSE_HUGE_PAGES=on``) still has them off while a load
runs (:func:`without_huge_pages`): a load grows the process by the whole table, and where
the kernel's THP ``defrag`` setting is ``madvise`` (Debian's default) each new huge page
may first have to be made by direct compaction, in the faulting thread: TPC-H SF1 from
Parquet took 3.5-4.6 s to load with THP and 1.9-2.8 s without, nearly all the difference
being system time. ``PR_SET_THP_DISABLE`` is per process (inherited by what it starts),
and applies to new faults at once. Elsewhere than Linux this does nothing.
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


def memory_policy(huge_pages: bool) -> None:
    """Turn transparent huge pages off for this process, unless they are to be kept."""
    if not huge_pages:
        _prctl(_PR_SET_THP_DISABLE, 1)


def restore_huge_pages() -> None:
    """Undo :func:`memory_policy`: the process (and what it starts from now on) gets the
    machine's transparent huge pages again (the benchmark, before its peers run)."""
    _prctl(_PR_SET_THP_DISABLE, 0)
