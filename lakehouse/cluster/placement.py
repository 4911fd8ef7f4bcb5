"""Which node a row lives on.

HeatWave slices every loaded table across its nodes by a hash of the primary key, or of
the ``RAPID_COLUMN=DATA_PLACEMENT_KEY=n`` columns in key order, or round-robin where
there is neither. The hash is xxHash64 of the key columns (DataFusion's Spark-compatible
``xxhash64``), so the same key lands on the same node in every table that has it as its
placement key, whatever the table: that is what makes node-local joins possible.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
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
    # The non-negative remainder (Spark's pmod, written out: pmod itself took 18 of the
    # 23 ms this costs per million rows); xxhash64 treats NULL keys as a fixed value.
    df = ctx.from_arrow(pa.Table.from_batches([batch.select(keys)]))  # type: ignore[attr-defined]
    out = df.select_exprs(f"((xxhash64({cols}) % {nodes}) + {nodes}) % {nodes}").to_arrow_table()
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
        return self.split_many([batch], offset)

    def split_many(
        self,
        batches: Sequence[pa.RecordBatch],
        offset: int = 0,
        finish: Callable[[pa.RecordBatch], pa.RecordBatch] | None = None,
    ) -> list[tuple[int, pa.RecordBatch]]:
        """Cut several batches at once into (node, rows) pieces, one per node for hash
        placement.

        The rows of all the batches are reordered by node with one ``take`` into one
        new batch, which the pieces then view: every row is copied once, and the pieces
        are as big as the batches together (on 16 nodes a Parquet row group gives
        pieces of 7 K rows, which a load would otherwise copy again to merge them).
        Dictionary-coded columns are reordered by their indices (their dictionaries
        unified first), and ``finish`` (decoding them, say) runs on the reordered rows
        before they are cut.

        Args:
            batches: rows to place, all with the same columns.
            offset: rows placed before these (round-robin continues from there).
            finish: applied to every batch before it is cut.
        """
        done = finish or (lambda b: b)
        batches = [b for b in batches if b.num_rows]
        if self.nodes == 1 or self.kind == PLACEMENT_ROUND_ROBIN or not self.keys:
            out = []
            for b in batches:
                out += self._contiguous(done(b), offset)
                offset += b.num_rows
            return out
        if not batches:
            return []
        node_of = pa.chunked_array(
            [hash_nodes(_decoded(b, self.keys), list(self.keys), self.nodes) for b in batches]
        )
        order = pc.sort_indices(node_of)
        rows = pa.Table.from_batches(batches)
        if any(pa.types.is_dictionary(t) for t in rows.schema.types) and len(batches) > 1:
            rows = rows.unify_dictionaries()
        taken = rows.take(order)
        reordered = done(
            pa.RecordBatch.from_arrays(
                [c.chunk(0) if c.num_chunks == 1 else c.combine_chunks() for c in taken.columns],
                schema=taken.schema,
            )
        )
        counts = sorted(
            (item["values"].as_py(), item["counts"].as_py()) for item in pc.value_counts(node_of)
        )
        out = []
        start = 0
        for node, count in counts:
            out.append((node, reordered.slice(start, count)))
            start += count
        return out

    def _contiguous(self, batch: pa.RecordBatch, offset: int) -> list[tuple[int, pa.RecordBatch]]:
        """One node, or round-robin: contiguous runs, one per node, starting where the
        last batch ended; zero-copy."""
        if self.nodes == 1:
            return [(0, batch)]
        out = []
        n = batch.num_rows
        per = -(-n // self.nodes)
        start_node = (offset // max(per, 1)) % self.nodes
        for i in range(self.nodes):
            lo = i * per
            if lo >= n:
                break
            out.append(((start_node + i) % self.nodes, batch.slice(lo, min(per, n - lo))))
        return out


def _decoded(batch: pa.RecordBatch, keys: Sequence[str]) -> pa.RecordBatch:
    """The key columns, dictionary-coded ones decoded: a key hashes by its value, the same
    in every table (node-local joins depend on it), however it was read."""
    cols = [batch.column(k) for k in keys]
    return pa.RecordBatch.from_arrays(
        [c.dictionary_decode() if pa.types.is_dictionary(c.type) else c for c in cols],
        names=list(keys),
    )


# A slice's pieces of at least KEEP_ROWS stay as they are; smaller ones are merged into
# batches of about COMPACT_ROWS.
KEEP_ROWS = 32 * 1024
COMPACT_ROWS = 128 * 1024


def compact(batches: list[pa.RecordBatch], schema: pa.Schema) -> list[pa.RecordBatch]:
    """Merge runs of small pieces of a slice into batches of a useful size; pieces that
    are big enough already are kept as they are (copying them would only cost time and
    fresh memory).

    A small piece left alone is copied too when it is a view into a much bigger buffer
    (a few rows cut from a sorted batch): kept as it is, it would hold the whole buffer
    in memory, and DataFusion, which sizes a table by its buffers, would take the table
    for many times its size when it chooses join sides.
    """
    out: list[pa.RecordBatch] = []
    for group, big in piece_runs([b.num_rows for b in batches]):
        if big:
            out.append(batches[group[0]])
        elif len(group) == 1:
            piece = batches[group[0]]
            if piece.get_total_buffer_size() > 2 * piece.nbytes + 4096:
                # (concatenating one array copies it; combining one chunk would not)
                piece = pa.RecordBatch.from_arrays(
                    [pa.concat_arrays([c]) for c in piece.columns], schema=piece.schema
                )
            out.append(piece)
        else:
            run = [batches[i] for i in group]
            merged = pa.Table.from_batches(run, schema=schema).combine_chunks()
            out.extend(merged.to_batches(max_chunksize=COMPACT_ROWS))
    return out


def piece_runs(sizes: Sequence[int]) -> Iterator[tuple[list[int], bool]]:
    """Pieces (by row count) grouped as they are merged: ``([i], True)`` for a piece of
    KEEP_ROWS rows or more, kept as it is; ``(indices, False)`` for consecutive smaller
    ones, together at most COMPACT_ROWS rows (one piece when it is alone). Empty pieces
    are left out."""
    run: list[int] = []
    rows = 0
    for i, n in enumerate(sizes):
        if not n:
            continue
        if n >= KEEP_ROWS:
            if run:
                yield run, False
                run, rows = [], 0
            yield [i], True
            continue
        if run and rows + n > COMPACT_ROWS:
            yield run, False
            run, rows = [], 0
        run.append(i)
        rows += n
    if run:
        yield run, False
