"""SQL: statements, planning, and the query engine (DataFusion).

DataFusion brings its own allocator (mimalloc, separate from Arrow's), which hands memory
freed for more than a second back to the kernel. Queries run one after another allocate
much the same buffers again, and each time the kernel has to zero fresh (huge) pages:
10 % of the CPU time of the 22 TPC-H queries read in place (perf). DataFusion's allocator
is therefore started keeping freed memory for 10 s: page faults over five rounds of the
22 queries in place 135-157 K -> 17 K, system time 3.6-4.3 s -> 2.0-3.7 s (2-3 % less
time locally, measured with the setting for both allocators); memory idle longer still
goes back. The setting is read once, when DataFusion's library is loaded, so it is given
for that import only: Arrow's allocator, imported first, keeps its default (loads, which
free large temporary buffers, were 15 % slower with it).
"""

from __future__ import annotations

import ctypes
import os
import sys

import pyarrow  # noqa: F401 - Arrow's allocator starts first, with its own settings

_PURGE_DELAY = "MIMALLOC_PURGE_DELAY"
_previous = os.environ.get(_PURGE_DELAY)
if _previous is None:
    os.environ[_PURGE_DELAY] = "10000"  # ms
try:
    import datafusion  # noqa: F401
finally:
    if _previous is None:
        del os.environ[_PURGE_DELAY]


def memory_policy(huge_pages: bool) -> None:
    """Turn the kernel's transparent huge pages off for this process (unless asked for).

    DataFusion's allocator (mimalloc) keeps its memory in big arenas that the kernel
    backs with huge pages (1 GiB arena, 446 MiB of it in huge pages after a few TPC-H
    queries), so every fresh 2 MiB of a query's memory is a page the kernel clears (and
    on a fragmented machine first compacts) at the first touch, used in full or not. A
    query's first runs paid for it: TPC-H Q3 in place took 685, 472, then 258 ms of CPU,
    and 250 from the fourth run on; with huge pages off 351, 287, 259, then the same 250. The 22 queries on loaded tables,
    each once in a new engine: 2.5-2.7 -> 2.0 s; loading the eight tables from local
    Parquet 3.9-4.2 -> 3.5-3.6 s; repeated runs of the queries stay within 3 % (huge
    pages spare some address translation on big hash tables). Databases commonly run
    without them for the same reasons: first-use latency and memory that is counted
    (resident) but not used. ``prctl(PR_SET_THP_DISABLE)`` covers the process and what
    it starts; elsewhere than Linux nothing is done.
    """
    if not huge_pages:
        _thp_disabled(True)


def restore_huge_pages() -> None:
    """Undo :func:`memory_policy`: the process (and what it starts from now on) gets the
    machine's transparent huge pages again (the benchmark, before its peers run)."""
    _thp_disabled(False)


def _thp_disabled(disabled: bool) -> None:
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_THP_DISABLE, int(disabled), 0, 0, 0)
    except (OSError, AttributeError):  # no prctl: nothing to change
        pass


_PR_SET_THP_DISABLE = 41
