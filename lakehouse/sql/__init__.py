"""SQL: statements, planning, and the query engine (DataFusion).

DataFusion brings its own allocator (mimalloc, separate from Arrow's), which hands memory
freed for more than a second back to the kernel. Queries run one after another allocate
much the same buffers again, and each time the kernel has to zero fresh (huge) pages:
10 % of the CPU time of the 22 TPC-H queries read in place, 100 K page faults for a few
rounds of them. DataFusion's allocator is therefore started keeping freed memory for 10 s
(faults 108 K -> 15 K, system time 3.4 -> 2.0 s, TPC-H in place 2-3 % faster); memory
idle longer still goes back. The setting is read once, when DataFusion's library is
loaded, so it is given for that import only: Arrow's allocator, imported first, keeps
its default (loads, which free large temporary buffers, were 15 % slower with it).
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
