"""Rows already in Arrow (a MySQL table's) are placed a group at a time, the source let
go as it goes: the table is never held twice whole."""

from __future__ import annotations

import pyarrow as pa

from lakehouse.catalog.model import Column, Table
from lakehouse.cluster.cluster import Cluster
from lakehouse.cluster.loader import arrow_batches, load_arrow_table
from lakehouse.types import SqlType

ROWS = 1_500_000


def _table() -> Table:
    return Table(
        database="d",
        name="t",
        columns=(
            Column(name="id", type=SqlType.parse("BIGINT"), nullable=False),
            Column(name="v", type=SqlType.parse("DOUBLE")),
            Column(name="s", type=SqlType.parse("VARCHAR(40)")),
        ),
        primary_key=("id",),
    )


def _source() -> pa.Table:
    ids = pa.array(range(ROWS), pa.int64())
    batches = []
    for start in range(0, ROWS, 100_000):
        n = min(100_000, ROWS - start)
        batches.append(
            pa.record_batch(
                {
                    "ID": ids.slice(start, n),  # MySQL's own spelling: matched ignoring case
                    "v": pa.array([float(i) for i in range(start, start + n)]),
                    "s": pa.array([f"row {i} of the source" for i in range(start, start + n)]),
                }
            )
        )
    return pa.Table.from_batches(batches)


def test_the_source_is_let_go_while_its_rows_are_placed() -> None:
    before = pa.total_allocated_bytes()
    data = _source()
    source_bytes = data.nbytes
    rows, batches = data.num_rows, arrow_batches(data)
    del data
    peak = [0]

    def progress(done: int, total: int) -> None:
        peak[0] = max(peak[0], pa.total_allocated_bytes())

    loaded = load_arrow_table(_table(), batches, rows, Cluster(7, 1 << 30), "test", progress)
    assert loaded.nrows == ROWS
    # Holding the source whole until the end would need its bytes twice (plus a
    # group); letting it go group by group keeps the peak near one copy.
    assert peak[0] - before < 1.5 * source_bytes
    ids = sorted(i for s in loaded.slices for b in s for i in b.column("id").to_pylist())
    assert ids == list(range(ROWS))
    del batches


def test_an_empty_source_loads_an_empty_table() -> None:
    empty = _source().slice(0, 0)
    loaded = load_arrow_table(_table(), arrow_batches(empty), 0, Cluster(3, 1 << 30), "test")
    assert loaded.nrows == 0
    assert loaded.schema.names == ["id", "v", "s"]
