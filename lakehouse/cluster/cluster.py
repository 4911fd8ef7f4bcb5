"""The in-memory cluster: nodes, the tables loaded on them, and their states.

A node is a unit of placement and memory, not a process. A loaded table is one
:class:`LoadedTable` holding, per node, the record batches of its slice. Loads build a
new LoadedTable off to the side and swap it in under the lock only when complete, so a
query always sees a whole table: the previous version or the new one.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import pyarrow as pa

from lakehouse.catalog.model import Table, key
from lakehouse.config import warn_if_overcommitted
from lakehouse.errors import NodeCapacityError

# CHAR/VARCHAR columns whose every value fits in this many bytes are handed to the query
# engine as string views (Arrow's StringView: each value inline in a 16-byte slot, no
# offsets into a separate buffer). DataFusion compares, hashes and groups those without
# following pointers; on TPC-H SF1 loaded (l_returnflag, l_linestatus, l_shipmode,
# o_orderstatus, c_mktsegment, p_brand, p_container ...) Q1 115 -> 90 ms, Q10 62 -> 46
# ms, Q19 67 -> 49 ms, the 22 queries 1.01-1.02 s -> 0.92-0.93 s. Longer strings stay
# plain: a view of one points into the data buffer, and DataFusion sizes such columns
# (to pick join sides) by whole shared buffers. The slices themselves keep plain strings
# (Arrow's take and filter kernels, which placement and change propagation use, have no
# view versions); the views are the engine's copy, 16 bytes a row, counted in the
# nodes' memory.
INLINE_VIEW_BYTES = 12
VIEW_SLOT_BYTES = 16

NODE_AVAILABLE = "AVAIL_RNSTATE"
NODE_DOWN = "DOWN_RNSTATE"


class LoadStatus(StrEnum):
    """``performance_schema.rpd_tables.LOAD_STATUS`` values."""

    NOLOAD = "NOLOAD_RPDGSTABSTATE"
    LOADING = "LOADING_RPDGSTABSTATE"
    AVAIL = "AVAIL_RPDGSTABSTATE"
    UNLOADING = "UNLOADING_RPDGSTABSTATE"
    INRECOVERY = "INRECOVERY_RPDGSTABSTATE"
    STALE = "STALE_RPDGSTABSTATE"
    UNAVAIL = "UNAVAIL_RPDGSTABSTATE"
    RECOVERYFAILED = "RECOVERYFAILED_RPDGSTABSTATE"


@dataclass
class Node:
    """One simulated HeatWave node."""

    id: int
    capacity: int
    used: int = 0
    status: str = NODE_AVAILABLE
    objstore_gets: int = 0
    objstore_puts: int = 0
    objstore_deletes: int = 0


@dataclass
class LoadedTable:
    """A table's data in the cluster.

    Attributes:
        table: the definition it was loaded with.
        schema: Arrow schema of the slices (lower-case field names).
        slices: per node, its record batches.
        placement_kind: rpd_tables.DATA_PLACEMENT_TYPE.
        placement_keys: the fields rows were hashed on.
    """

    table: Table
    schema: pa.Schema
    slices: list[list[pa.RecordBatch]]
    placement_kind: str
    placement_keys: tuple[str, ...] = ()
    placement_exact: bool = True  # every row is on its key's node (node-local joins)
    load_start: float = 0.0
    load_end: float = 0.0
    recovery_source: str | None = None
    warnings: list[tuple[str, int, str]] = field(default_factory=list)
    scn: int = 0
    persisted_scn: int = 0
    # For a MySQL table: the binlog (file, position) it was read at.
    mysql_position: tuple[str, int] | None = None
    dictionaries: dict[str, pa.Array] = field(default_factory=dict)
    _provider: Any = None
    _ndv: dict[str, int] = field(default_factory=dict)
    _groups: dict[Any, Any] = field(default_factory=dict)
    # Fields handed to the engine as string views (see INLINE_VIEW_BYTES).
    view_fields: tuple[str, ...] = field(default=(), init=False)
    # (partitions, the engine's batches per partition): see _lay_out.
    _layout: tuple[int, list[list[pa.RecordBatch]]] | None = field(
        default=None, init=False, repr=False, compare=False
    )
    _engine_lock: threading.Lock = field(
        default_factory=threading.Lock, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        self.view_fields = inline_string_fields(self.table, self.schema, self.slices)

    @property
    def nrows(self) -> int:
        return sum(b.num_rows for s in self.slices for b in s)

    @property
    def dictionary_bytes(self) -> int:
        return sum(d.nbytes for d in self.dictionaries.values())

    def node_bytes(self) -> list[int]:
        """Memory per node: its slice, its copy of every SORTED dictionary, and the
        engine's string views of short strings."""
        from lakehouse.cluster.encoding import batch_bytes

        extra = self.dictionary_bytes
        per_row = VIEW_SLOT_BYTES * len(self.view_fields)
        return [
            sum(batch_bytes(b) + per_row * b.num_rows for b in s) + (extra if s else 0)
            for s in self.slices
        ]

    @property
    def size_bytes(self) -> int:
        return sum(self.node_bytes())

    def column_ndv(self, field_name: str) -> int:
        """Distinct values of a loaded column (computed on first use, then kept)."""
        if field_name not in self._ndv:
            if field_name in self.dictionaries:
                self._ndv[field_name] = len(self.dictionaries[field_name])
            else:
                import pyarrow.compute as pc

                chunks = [
                    b.column(field_name)
                    for s in self.slices
                    for b in s
                    if field_name in b.schema.names
                ]
                self._ndv[field_name] = (
                    pc.count_distinct(
                        pa.chunked_array(chunks, type=self.schema.field(field_name).type)
                    ).as_py()
                    if chunks
                    else 0
                )
        return self._ndv[field_name]

    def partitions(self, target: int) -> list[list[pa.RecordBatch]]:
        """The slices as the engine reads them, in at most ``target`` execution partitions
        (see :meth:`_lay_out`); a partition with no rows holds one empty batch."""
        parts = self.engine_partitions(target)
        empty = pa.RecordBatch.from_pylist([], schema=self.engine_schema)
        if all(not p for p in parts):
            return [[empty]]
        return [p if p else [empty] for p in parts]

    @property
    def engine_schema(self) -> pa.Schema:
        """The schema the query engine sees (short strings as views)."""
        return _with_views(self.schema, self.view_fields)

    def engine_partitions(self, target: int) -> list[list[pa.RecordBatch]]:
        """The engine's batches per execution partition, laid out once per partition
        count (one per node when there are fewer nodes than ``target``)."""
        target = max(1, min(target, len(self.slices)))
        with self._engine_lock:
            if self._layout is None or self._layout[0] != target:
                self._layout = (target, self._lay_out(target))
            return self._layout[1]

    def _lay_out(self, target: int) -> list[list[pa.RecordBatch]]:
        """Deal the node slices into ``target`` execution partitions (node ``i`` ->
        partition ``i % target``), as the engine reads them.

        Nodes are placement units; the engine runs a few partitions per core. A node's
        batches of KEEP_ROWS rows or more are handed over as they are; runs of smaller
        ones, from consecutive nodes of a partition, are merged into batches of up to
        COMPACT_ROWS rows, and those nodes' slices become views into the merged batches
        (the rows exist once; :func:`batch_bytes` counts a view by its own rows). On many
        nodes every slice is small - TPC-H SF1 on 512 nodes: 11.7 K lineitem rows, 20
        supplier rows a node - and DataFusion pays for every batch at every operator: the
        22 queries on 512 nodes took 1.17x their time on 16 nodes with a batch per node,
        1.02x merged (best of 5, loaded from local Parquet).

        Short strings become views here too (INLINE_VIEW_BYTES), once per layout.
        """
        parts: list[list[pa.RecordBatch]] = []
        for p in range(target):
            nodes = range(p, len(self.slices), target)
            batches, viewed = _merge_nodes([self.slices[i] for i in nodes], self.schema)
            for i, s in zip(nodes, viewed, strict=True):
                self.slices[i] = s
            parts.append([self._for_engine(b) for b in batches])
        return parts

    def _for_engine(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        if not self.view_fields:
            return batch
        views = set(self.view_fields)
        arrays = [
            _string_views(col) if f.name in views else col
            for f, col in zip(batch.schema, batch.columns, strict=True)
        ]
        return pa.RecordBatch.from_arrays(
            arrays, schema=_with_views(batch.schema, self.view_fields)
        )

    def group_provider(self, group: int, groups: int) -> Any:
        """A DataFusion table of the slices of nodes ``i % groups == group``, as one
        partition (a node-local join runs one such group per branch)."""
        cache = self._groups
        if cache.get("groups") != groups:
            cache.clear()
            cache["groups"] = groups
        if group not in cache:
            import datafusion

            parts = self.engine_partitions(groups)
            batches = parts[group] if group < len(parts) else []
            if not batches:
                batches = [pa.RecordBatch.from_pylist([], schema=self.engine_schema)]
            ctx = datafusion.SessionContext()
            ctx.register_record_batches("t", [batches])
            cache[group] = ctx.table_provider("t")
        return cache[group]

    def provider(self, target_partitions: int) -> Any:
        """A DataFusion table over the slices, built once and shared by queries."""
        if self._provider is None or self._provider[0] != target_partitions:
            import datafusion

            ctx = datafusion.SessionContext()
            ctx.register_record_batches("t", self.partitions(target_partitions))
            self._provider = (target_partitions, ctx.table_provider("t"))
        return self._provider[1]


def _merge_nodes(
    slices: list[list[pa.RecordBatch]], schema: pa.Schema
) -> tuple[list[pa.RecordBatch], list[list[pa.RecordBatch]]]:
    """One partition's batches from its nodes' slices (in node order), and the nodes'
    slices as views into them (see :meth:`LoadedTable._lay_out`)."""
    from lakehouse.cluster.placement import piece_runs

    out: list[pa.RecordBatch] = []
    viewed = [list(s) for s in slices]
    pieces = [(n, j) for n, s in enumerate(slices) for j in range(len(s))]
    for group, _ in piece_runs([slices[n][j].num_rows for n, j in pieces]):
        if len(group) == 1:
            n, j = pieces[group[0]]
            out.append(slices[n][j])
            continue
        run = [pieces[g] for g in group]
        merged = pa.Table.from_batches([slices[n][j] for n, j in run], schema=schema)
        batch = merged.combine_chunks().to_batches()[0]
        offset = 0
        for n, j in run:
            rows = slices[n][j].num_rows
            viewed[n][j] = batch.slice(offset, rows)
            offset += rows
        out.append(batch)
    return out, viewed


def inline_string_fields(
    table: Table, schema: pa.Schema, slices: list[list[pa.RecordBatch]]
) -> tuple[str, ...]:
    """CHAR/VARCHAR fields (plain strings, not dictionary-encoded) with at least one
    value and every value at most INLINE_VIEW_BYTES bytes long."""
    import pyarrow.compute as pc

    declared = {c.key: c.type.name for c in table.columns}
    out = []
    for f in schema:
        if not pa.types.is_string(f.type) or declared.get(f.name) not in ("CHAR", "VARCHAR"):
            continue
        lengths = (
            pc.max(pc.binary_length(b.column(f.name))).as_py()
            for s in slices
            for b in s
            if b.num_rows and f.name in b.schema.names
        )
        longest = -1
        for m in lengths:
            longest = max(longest, -1 if m is None else m)
            if longest > INLINE_VIEW_BYTES:
                break
        if 0 <= longest <= INLINE_VIEW_BYTES:
            out.append(f.name)
    return tuple(out)


def _string_views(arr: pa.Array) -> pa.Array:
    """A string array as string views, 16 bytes a value. Arrow sizes the views cast
    from a slice by its parent array (a slot for every value before the slice too: the
    last of 16 nodes' lineitem slices took 16 MiB per 65 K rows, TPC-H SF1's lineitem
    2.3 GB instead of 290 MB), so a slice is made compact first."""
    if arr.offset:
        arr = pa.concat_arrays([arr])
    return arr.cast(pa.string_view())


def _with_views(schema: pa.Schema, fields: tuple[str, ...]) -> pa.Schema:
    if not fields:
        return schema
    return pa.schema(
        [f.with_type(pa.string_view()) if f.name in fields else f for f in schema],
        metadata=schema.metadata,
    )


@dataclass
class TableState:
    """What the cluster knows about one table (loaded or not)."""

    table_id: int
    database: str
    name: str
    status: LoadStatus = LoadStatus.NOLOAD
    progress: float = 0.0
    # A load is reading: a reload keeps the table AVAIL (queries read the previous
    # version meanwhile), yet rapid_load_progress follows it.
    loading: bool = False
    loaded: LoadedTable | None = None
    query_count: int = 0
    last_queried: float | None = None
    load_start: float | None = None
    load_end: float | None = None
    recovery_start: float | None = None
    recovery_end: float | None = None


class Cluster:
    """Nodes and loaded tables; thread-safe.

    Example:
        >>> c = Cluster(nodes=2, node_capacity=1 << 30)
        >>> len(c.nodes)
        2
    """

    def __init__(self, nodes: int, node_capacity: int) -> None:
        warn_if_overcommitted(nodes, node_capacity)
        self._lock = threading.RLock()
        self.nodes = [Node(i, node_capacity) for i in range(nodes)]
        self._tables: dict[tuple[str, str], TableState] = {}
        self.started_at = time.time()

    # ----------------------------------------------------------------- states
    def state(self, table: Table) -> TableState:
        """The state of a table, created as NOLOAD on first sight."""
        with self._lock:
            st = self._tables.get(table.key)
            if st is None:
                st = self._tables[table.key] = TableState(table.id, table.database, table.name)
            return st

    def states(self) -> list[TableState]:
        with self._lock:
            return list(self._tables.values())

    def loaded(self, database: str, name: str) -> LoadedTable | None:
        with self._lock:
            st = self._tables.get((key(database), key(name)))
            return st.loaded if st is not None else None

    def is_loaded(self, table: Table) -> bool:
        return self.loaded(table.database, table.name) is not None

    def mark_stale(self, table: Table) -> None:
        """MySQL changed the table after it was loaded (STALE until reloaded)."""
        with self._lock:
            st = self._tables.get(table.key)
            if st is not None and st.loaded is not None:
                st.status = LoadStatus.STALE

    def mark_queried(self, table: Table) -> None:
        with self._lock:
            st = self._tables.get(table.key)
            if st is not None:
                st.query_count += 1
                st.last_queried = time.time()

    # ------------------------------------------------------------------ memory
    def free_bytes(self) -> list[int]:
        with self._lock:
            return [n.capacity - n.used for n in self.nodes]

    def check_capacity(
        self, table_name: str, node_bytes: list[int], replacing: LoadedTable | None
    ) -> None:
        """Raise if adding ``node_bytes`` (per node) would overfill a node.

        The table's previous version, if any, stays loaded until the new one is swapped
        in, so its memory still counts: a reload needs room for both for a moment.
        """
        with self._lock:
            for node, extra in zip(self.nodes, node_bytes, strict=False):
                if node.used + extra > node.capacity:
                    short = node.used + extra - node.capacity
                    raise NodeCapacityError(
                        f"Secondary engine operation failed. Loading {table_name} needs "
                        f"{_mb(extra)} on node {node.id}, which has {_mb(node.capacity - node.used)} "
                        f"free of {_mb(node.capacity)} (short by {_mb(short)}). Unload other "
                        "tables, add nodes (--nodes), or raise the node memory "
                        "(LAKEHOUSE_NODE_MEMORY); tables already loaded stay loaded"
                    )

    # ------------------------------------------------------------- lifecycle
    def begin_load(self, table: Table) -> TableState:
        with self._lock:
            st = self.state(table)
            st.status = LoadStatus.LOADING if st.loaded is None else st.status
            st.progress = 0.0
            st.loading = True
            st.load_start = time.time()
            return st

    def finish_load(self, table: Table, loaded: LoadedTable) -> None:
        """Swap a completed load in and account its memory."""
        with self._lock:
            st = self.state(table)
            old = st.loaded
            if old is not None:
                self._account(old, -1)
            self._account(loaded, +1)
            st.loaded = loaded
            st.status = LoadStatus.AVAIL
            st.progress = 100.0
            st.loading = False
            st.load_end = time.time()
            st.table_id = table.id

    def fail_load(self, table: Table) -> None:
        """A load failed: the table keeps whatever it had before."""
        with self._lock:
            st = self.state(table)
            st.status = LoadStatus.AVAIL if st.loaded is not None else LoadStatus.NOLOAD
            st.progress = 100.0 if st.loaded is not None else 0.0
            st.loading = False

    def unload(self, table: Table) -> bool:
        """Free a table's memory; returns False when it was not loaded."""
        with self._lock:
            st = self._tables.get(table.key)
            if st is None or st.loaded is None:
                return False
            self._account(st.loaded, -1)
            st.loaded = None
            st.status = LoadStatus.NOLOAD
            st.progress = 0.0
            return True

    def forget(self, table: Table) -> None:
        """Drop all state of a table (DROP TABLE)."""
        with self._lock:
            self.unload(table)
            self._tables.pop(table.key, None)

    def rename(self, old: Table, new: Table) -> None:
        with self._lock:
            st = self._tables.pop(old.key, None)
            if st is not None:
                st.database, st.name = new.database, new.name
                if st.loaded is not None:
                    st.loaded.table = new
                self._tables[new.key] = st

    def _account(self, loaded: LoadedTable, sign: int) -> None:
        for node, b in zip(self.nodes, loaded.node_bytes(), strict=False):
            node.used += sign * b

    @property
    def memory_used(self) -> int:
        with self._lock:
            return sum(n.used for n in self.nodes)

    @property
    def memory_total(self) -> int:
        return sum(n.capacity for n in self.nodes)


def _mb(n: int) -> str:
    if n >= 1 << 30:
        return f"{n / (1 << 30):.2f} GiB"
    return f"{n / (1 << 20):.1f} MiB"
