"""Which node a row lives on.

HeatWave slices every loaded table across its nodes by a hash of the primary key, or of
the ``RAPID_COLUMN=DATA_PLACEMENT_KEY=n`` columns in key order, or round-robin where
there is neither. The hash is xxHash64 of the key columns (DataFusion's Spark-compatible
``xxhash64``), so the same key lands on the same node in every table that has it as its
placement key, whatever the table: that is what makes node-local joins possible.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

PLACEMENT_PK = "PrimaryKey"
PLACEMENT_KEY = "DataPlacementKey"
PLACEMENT_ROUND_ROBIN = "RoundRobin"

_local = threading.local()


def _hash_context() -> object:
    ctx = getattr(_local, "ctx", None)
    if ctx is None:
        import datafusion

        # One partition: the hashes must come back in row order (with more, DataFusion
        # may interleave the pieces of a batch bigger than its batch size).
        config = datafusion.SessionConfig().with_target_partitions(1)
        ctx = datafusion.SessionContext(config)
        ctx.enable_spark_functions()
        _local.ctx = ctx
    return ctx


def hash_nodes(batch: pa.RecordBatch, keys: list[str], nodes: int) -> pa.Array:
    """The node number (0..nodes-1) of every row, from its key columns.

    Example:
        >>> b = pa.record_batch({"k": [1, 2, 3]})
        >>> len(hash_nodes(b, ["k"], 4))
        3
    """
    ctx = _hash_context()
    cols = ", ".join(f'"{k}"' for k in keys)
    # pmod keeps the result non-negative; xxhash64 treats NULL keys as a fixed value.
    df = ctx.from_arrow(pa.Table.from_batches([batch.select(keys)]))  # type: ignore[attr-defined]
    out = df.select_exprs(f"pmod(xxhash64({cols}), {nodes})").to_arrow_table()
    arr = out.column(0)
    return (
        arr.combine_chunks().cast(pa.int32())
        if arr.num_chunks != 1
        else arr.chunk(0).cast(pa.int32())
    )


@dataclass(frozen=True)
class Placement:
    """How one table is sliced.

    Attributes:
        kind: PrimaryKey, DataPlacementKey or RoundRobin (``rpd_tables.DATA_PLACEMENT_TYPE``).
        keys: engine field names of the key columns, in key order.
        nodes: how many nodes.
    """

    kind: str
    keys: tuple[str, ...]
    nodes: int

    def split(self, batch: pa.RecordBatch, offset: int = 0) -> list[tuple[int, pa.RecordBatch]]:
        """Cut a batch into (node, rows) pieces.

        Args:
            batch: rows to place.
            offset: rows placed before this batch, so round-robin continues where the
                previous batch stopped instead of always starting at node 0.
        """
        n = batch.num_rows
        if n == 0:
            return []
        if self.nodes == 1:
            return [(0, batch)]
        if self.kind == PLACEMENT_ROUND_ROBIN or not self.keys:
            # Contiguous runs, one per node, starting where the last batch ended: zero-copy.
            out = []
            per = -(-n // self.nodes)
            start_node = (offset // max(per, 1)) % self.nodes
            for i in range(self.nodes):
                lo = i * per
                if lo >= n:
                    break
                out.append(((start_node + i) % self.nodes, batch.slice(lo, min(per, n - lo))))
            return out
        node_of = hash_nodes(batch, list(self.keys), self.nodes)
        order = pc.sort_indices(node_of)
        sorted_nodes = pc.take(node_of, order)
        sorted_batch = batch.take(order)
        counts = pc.value_counts(sorted_nodes)
        # value_counts keeps first-seen order, which is ascending after the sort.
        out = []
        start = 0
        for item in counts:
            node = item["values"].as_py()
            count = item["counts"].as_py()
            out.append((node, sorted_batch.slice(start, count)))
            start += count
        return out
