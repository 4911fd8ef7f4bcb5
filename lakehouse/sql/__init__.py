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

import os

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
