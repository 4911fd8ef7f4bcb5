"""ALTER TABLE ... SECONDARY_LOAD for lakehouse tables: files -> node slices.

Objects are read in parallel (one worker per object, or per run of Parquet row groups
when there are fewer objects than workers; each reader itself multi-threaded),
every batch is converted to the declared types by its format reader, cut into node pieces
by the table's placement and appended to that node's slice. Memory is checked batch by
batch, so a load that cannot fit fails early instead of exhausting the machine: against
the nodes' capacities (bookkeeping), and, at most every GUARD_INTERVAL_SECONDS, against
what the machine really has left (:class:`MemoryGuard`). Nothing becomes visible until
the whole table is read; any error leaves the previous state.

Progress is counted in source bytes: a work item in full once read, and while it is
read, its batches by their Arrow size (see :func:`_expansion`).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import Any

import pyarrow as pa

from lakehouse.catalog.attributes import Dialect, ExternalSource
from lakehouse.catalog.model import Table
from lakehouse.cluster.cluster import Cluster, LoadedTable
from lakehouse.cluster.encoding import apply_sorted_encoding
from lakehouse.cluster.placement import (
    PLACEMENT_KEY,
    PLACEMENT_PK,
    PLACEMENT_ROUND_ROBIN,
    Placement,
    compact,
)
from lakehouse.config import (
    available_memory_bytes,
    format_size,
    limit_of,
    memory_cgroups,
    memory_reserve_bytes,
)
from lakehouse.errors import LakehouseError, LoadError, OutOfMemoryError
from lakehouse.formats import LoadWarnings, ReadContext, ReadTarget, format_for
from lakehouse.formats.convert import decode_to_schema
from lakehouse.formats.sources import SourceObject, list_sources
from lakehouse.formats.streams import compression_of
from lakehouse.storage import StoreResolver

ProgressCallback = Callable[[int, int], None]  # (bytes done, bytes total)
# Rows wanted in each node's piece of a batch, and the cap on a batch's rows.
PIECE_ROWS = 64 * 1024
MAX_BATCH_ROWS = 1024 * 1024
# How often a load reads the machine's free memory: a few files of /proc and the cgroup
# file system, tens of microseconds each time, so well under 0.1% of a load.
GUARD_INTERVAL_SECONDS = 0.05
# A work item being read counts for at most this share of its bytes until it is done.
IN_ITEM_PROGRESS = 0.95


class MemoryGuard:
    """Stops a load before the machine runs out of memory.

    Node capacities are bookkeeping against configured figures, which users may set
    past the machine's memory; past that, the kernel would kill the whole process and
    every loaded table with it. The guard reads what the machine has left (MemAvailable,
    and each limiting cgroup's limit less its working set) and fails the load when that
    falls under the reserve (``LAKEHOUSE_MEMORY_RESERVE``).

    Args:
        table_name: the table being loaded, for the message.
    """

    def __init__(self, table_name: str) -> None:
        self.table_name = table_name
        self.cgroups = memory_cgroups()
        self.reserve = memory_reserve_bytes(limit_of(self.cgroups))
        self._next_check = 0.0

    def check(self, force: bool = False) -> None:
        """Read the free memory, unless it was read under GUARD_INTERVAL_SECONDS ago.

        Raises:
            OutOfMemoryError: less than the reserve is left.
        """
        now = time.monotonic()
        if (now < self._next_check and not force) or self.reserve <= 0:
            return
        self._next_check = now + GUARD_INTERVAL_SECONDS
        available = available_memory_bytes(self.cgroups)
        if available is not None and available < self.reserve:
            raise OutOfMemoryError(
                f"Out of memory; loading {self.table_name} stopped with "
                f"{format_size(available)} of memory available, under the reserve of "
                f"{format_size(self.reserve)} (LAKEHOUSE_MEMORY_RESERVE). Unload tables "
                "(ALTER TABLE ... SECONDARY_UNLOAD) or add memory, then load again; the "
                f"previous version of {self.table_name}, if any, and every other loaded "
                "table stay loaded"
            )


def _expansion(src: SourceObject, dialect: Dialect) -> float:
    """Arrow bytes a batch of ``src`` holds per byte of the object, roughly: text is
    about 1:1 (TPC-H .tbl 1.06-1.31), Parquet and Avro are compressed (TPC-H Parquet
    2.0-4.8), compressed text more so."""
    if dialect.format in ("parquet", "avro"):
        return 3.0
    if compression_of(src.obj, dialect.compression) is not None:
        return 4.0
    return 1.2


def placement_for(table: Table, nodes: int) -> Placement:
    """Data placement keys, else the primary key, else round-robin."""
    keyed = [c for c in table.columns if c.rapid.placement_key is not None and c.secondary]
    if keyed:
        keys = tuple(c.key for c in sorted(keyed, key=lambda c: c.rapid.placement_key or 0))
        return Placement(PLACEMENT_KEY, keys, nodes)
    pk = [table.column(k) for k in table.primary_key]
    if pk and all(c is not None and c.secondary for c in pk):
        return Placement(PLACEMENT_PK, tuple(c.key for c in pk if c is not None), nodes)
    return Placement(PLACEMENT_ROUND_ROBIN, (), nodes)


def load_lakehouse_table(
    table: Table,
    source: ExternalSource,
    stores: StoreResolver,
    cluster: Cluster,
    progress: ProgressCallback | None = None,
    workers: int | None = None,
) -> LoadedTable:
    """Read every file of ``table`` into node slices, without publishing them.

    Returns:
        The complete LoadedTable; the caller swaps it in with ``Cluster.finish_load``.

    Raises:
        LoadError (and subclasses), ObjectStoreError: the load failed; nothing changed.
    """
    started = time.time()
    warnings = LoadWarnings()
    objects = list_sources(source, stores, warnings)
    target = ReadTarget.for_table(table, source.dialect)
    nodes = len(cluster.nodes)
    placement = placement_for(table, nodes)
    reader = format_for(source.dialect)
    slices: list[list[pa.RecordBatch]] = [[] for _ in range(nodes)]
    node_bytes = [0] * nodes
    lock = threading.Lock()
    failed = threading.Event()
    total = sum(o.obj.size for o in objects) or 1
    done_bytes = [0]
    placed_rows = [0]
    previous = cluster.loaded(table.database, table.name)
    guard = MemoryGuard(table.qualified_name)

    n_workers = max(1, workers or _workers())
    # Fewer objects than workers: split them (Parquet row groups) so every worker reads.
    work: list[tuple[SourceObject, Any, int, float]] = []
    for o in objects:
        parts = (
            reader.splits(o.store, o.obj, n_workers, target) if len(objects) < n_workers else [None]
        )
        expansion = _expansion(o, source.dialect)
        for i, part in enumerate(parts):
            share = o.obj.size // len(parts) + (o.obj.size % len(parts) if i == 0 else 0)
            work.append((o, part, share, expansion))
    # Big batches, so each node's piece of one is big enough to keep as it is.
    batch_rows = min(max(128 * 1024, nodes * PIECE_ROWS), MAX_BATCH_ROWS)

    def finish(batch: pa.RecordBatch) -> pa.RecordBatch:
        return decode_to_schema(batch, target.schema)

    def read_one(src: SourceObject, part: Any, share: int, expansion: float) -> None:
        ctx = ReadContext(
            src.obj.url,
            source.strict_for(src.entry),
            warnings,
            batch_rows=batch_rows,
            keep_dictionaries=True,
        )
        # Arrow bytes read, and the source bytes counted for them so far (an estimate,
        # capped so the item never counts as done before it is).
        arrow_bytes, counted, cap = 0, 0, int(share * IN_ITEM_PROGRESS)
        for group in _groups(reader.read_split(src.store, src.obj, part, target, ctx), batch_rows):
            if failed.is_set():
                return
            rows = sum(b.num_rows for b in group)
            with lock:
                offset = placed_rows[0]
                placed_rows[0] += rows
            pieces = placement.split_many(group, offset, finish)
            del group
            with lock:
                for node, piece in pieces:
                    slices[node].append(piece)
                    size = piece.nbytes
                    node_bytes[node] += size
                    arrow_bytes += size
                # node.used still holds the previous version until the swap.
                cluster.check_capacity(table.qualified_name, node_bytes, previous)
                guard.check()
                estimate = min(cap, int(arrow_bytes / expansion))
                if estimate > counted:
                    done_bytes[0] += estimate - counted
                    counted = estimate
                    if progress is not None:
                        progress(done_bytes[0], total)
        with lock:
            done_bytes[0] += share - counted
            if progress is not None:
                progress(done_bytes[0], total)

    n_workers = min(n_workers, len(work) or 1)
    try:
        if work:
            with ThreadPoolExecutor(max_workers=n_workers, thread_name_prefix="load") as pool:
                futures = [pool.submit(read_one, *w) for w in work]
                finished, _ = wait(futures, return_when=FIRST_EXCEPTION)
                for f in finished:
                    exc = f.exception()
                    if exc is not None:
                        failed.set()
                        for other in futures:
                            other.cancel()
                        if isinstance(exc, LakehouseError):
                            raise exc
                        raise LoadError(
                            f"Lakehouse load of {table.qualified_name} failed: {exc}"
                        ) from exc
                for f in futures:
                    f.result()
        if progress is not None:
            progress(total, total)
        guard.check(force=True)  # merging the slices below copies them
        schema, compacted, dictionaries = _settle(table, target.schema, slices, n_workers)
    except BaseException:
        _release(slices)
        raise
    loaded = LoadedTable(
        table=table,
        schema=schema,
        dictionaries=dictionaries,
        slices=compacted,
        placement_kind=placement.kind,
        placement_keys=placement.keys,
        load_start=started,
        load_end=time.time(),
        recovery_source=None,
        warnings=warnings.as_rows(),
    )
    # What the table holds in the end: SORTED dictionaries and the engine's string
    # views of short strings included.
    try:
        cluster.check_capacity(table.qualified_name, loaded.node_bytes(), previous)
    except BaseException:
        _release(compacted)
        raise
    return loaded


def _groups(batches: Iterator[pa.RecordBatch], rows: int) -> Iterator[list[pa.RecordBatch]]:
    """Consecutive batches gathered until they hold ``rows`` rows: placed together, their
    rows are copied once into node pieces big enough to keep (see Placement.split_many).
    Formats yield a row group or a text block at a time (~110 K rows of TPC-H lineitem)."""
    group: list[pa.RecordBatch] = []
    held = 0
    for batch in batches:
        group.append(batch)
        held += batch.num_rows
        if held >= rows:
            yield group
            group, held = [], 0
    if group:
        yield group


def _workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def _release(slices: list[list[pa.RecordBatch]]) -> None:
    """Free a failed load's batches at once: the error's traceback keeps the load's
    frames, and with them the slices, alive as long as someone holds the error."""
    for s in slices:
        s.clear()
    pa.default_memory_pool().release_unused()


def _settle(
    table: Table, schema: pa.Schema, slices: list[list[pa.RecordBatch]], workers: int
) -> tuple[pa.Schema, list[list[pa.RecordBatch]], dict[str, pa.Array]]:
    """The node slices as kept: small pieces merged, SORTED columns encoded.

    The nodes are merged on ``workers`` threads (Arrow copies without the GIL). Parquet
    with dictionary-read strings and CSV come in batches of a row group or a block
    (~110 K rows), so on 16 nodes nearly every piece is small: TPC-H lineitem spent
    0.35 s merging on one thread after the reads. Its load from a local file: Parquet
    1.62-1.83 -> 1.51-1.65 s, .tbl 3.15-3.17 -> 2.90 s.
    """
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="load") as pool:
        compacted = list(pool.map(lambda s: compact(s, schema), slices))
    return apply_sorted_encoding(table, schema, compacted)


def conform_arrow(data: pa.Table, table: Table, origin: str) -> pa.Table:
    """Columns of ``data`` (any Arrow types, any name case) cast to the table's declared
    types, loadable columns only, in table order; strict (a bad value is an error)."""
    from lakehouse.formats.convert import cast_to_column

    target = ReadTarget.for_table(table, Dialect())
    by_name = {n.lower(): n for n in data.column_names}
    ctx = ReadContext(origin, True, LoadWarnings(), unit="row")
    arrays = []
    for c in target.loaded_columns:
        name = by_name.get(c.field)
        if name is None:
            raise LoadError(
                f"Secondary engine operation failed. Column '{c.name}' is missing from {origin}"
            )
        arrays.append(cast_to_column(data.column(name), c, ctx))
    return pa.Table.from_arrays(arrays, schema=target.schema)


def arrow_batches(data: pa.Table, rows: int = 256 * 1024) -> Iterator[pa.RecordBatch]:
    """``data``'s rows as batches, each let go as the next is asked for: a load placing
    them holds the source and its placed copy a group at a time, not both whole (the
    caller drops its own reference to ``data`` once it has this iterator)."""
    batches = data.to_batches(max_chunksize=rows)
    del data
    batches.reverse()
    while batches:
        yield batches.pop()


def load_arrow_table(
    table: Table,
    batches: Iterator[pa.RecordBatch],
    total_rows: int,
    cluster: Cluster,
    origin: str,
    progress: ProgressCallback | None = None,
) -> LoadedTable:
    """Place rows already in Arrow (a MySQL table's) into node slices, as a load does:
    converted to the declared types and placed a group of batches at a time, each group
    let go once its rows are on their nodes (see :func:`arrow_batches`)."""
    started = time.time()
    nodes = len(cluster.nodes)
    placement = placement_for(table, nodes)
    schema = ReadTarget.for_table(table, Dialect()).schema
    slices: list[list[pa.RecordBatch]] = [[] for _ in range(nodes)]
    node_bytes = [0] * nodes
    previous = cluster.loaded(table.database, table.name)
    guard = MemoryGuard(table.qualified_name)
    group_rows = min(max(128 * 1024, nodes * PIECE_ROWS), MAX_BATCH_ROWS)
    conformed = (
        conform_arrow(pa.Table.from_batches([b]), table, origin).combine_chunks().to_batches()
        for b in batches
        if b.num_rows
    )
    placed = 0
    try:
        for group in _groups((b for bs in conformed for b in bs), group_rows):
            pieces = placement.split_many(group, placed)
            placed += sum(b.num_rows for b in group)
            del group
            for node, piece in pieces:
                slices[node].append(piece)
                node_bytes[node] += piece.nbytes
            del pieces
            cluster.check_capacity(table.qualified_name, node_bytes, previous)
            guard.check()
            if progress is not None:
                progress(placed, max(total_rows, 1))
        guard.check(force=True)  # merging the slices below copies them
    except BaseException:
        _release(slices)
        raise
    schema, compacted, dictionaries = _settle(table, schema, slices, _workers())
    loaded = LoadedTable(
        table=table,
        schema=schema,
        dictionaries=dictionaries,
        slices=compacted,
        placement_kind=placement.kind,
        placement_keys=placement.keys,
        load_start=started,
        load_end=time.time(),
    )
    cluster.check_capacity(table.qualified_name, loaded.node_bytes(), previous)
    return loaded
