"""SQL: statements, planning, and the query engine (DataFusion).

DataFusion brings its own allocator (mimalloc, separate from Arrow's), which would hand
memory freed back to the kernel within milliseconds. Queries run one after another
allocate much the same buffers again, and each time the kernel has to zero fresh pages:
10 % of the CPU time of the 22 TPC-H queries read in place (perf). Both allocators are
started keeping freed memory for 10 s (``MIMALLOC_PURGE_DELAY``, set in
:mod:`lakehouse` before either library loads): page faults over five rounds of the 22
queries in place 135-157 K -> 17 K, system time 3.6-4.3 s -> 2.0-3.7 s; memory idle
longer still goes back. (An earlier measurement found loads 15 % slower with the setting
for Arrow's allocator too; since loads place rows with one copy, they are faster with it.)
"""
