"""A node slice's pieces: big ones kept as they are (no copy), runs of small ones merged."""

from __future__ import annotations

import pyarrow as pa

from lakehouse.cluster.loader import COMPACT_ROWS, KEEP_ROWS, _compact


def _batch(start: int, rows: int) -> pa.RecordBatch:
    return pa.record_batch({"k": pa.array(range(start, start + rows), pa.int64())})


def test_big_pieces_are_kept_and_small_runs_merged_in_order() -> None:
    schema = pa.schema([("k", pa.int64())])
    sizes = [10, 20, KEEP_ROWS, 5, 0, 7, KEEP_ROWS + 1, 3]
    pieces, start = [], 0
    for n in sizes:
        pieces.append(_batch(start, n))
        start += n
    out = _compact(pieces, schema)
    assert [b.num_rows for b in out] == [30, KEEP_ROWS, 12, KEEP_ROWS + 1, 3]
    assert out[1] is pieces[2] and out[3] is pieces[6]
    assert pa.Table.from_batches(out).column("k").to_pylist() == list(range(start))


def test_long_runs_of_small_pieces_become_batches_of_about_compact_rows() -> None:
    schema = pa.schema([("k", pa.int64())])
    n = KEEP_ROWS - 1
    pieces = [_batch(i * n, n) for i in range(3 * COMPACT_ROWS // n)]
    out = _compact(pieces, schema)
    assert len(out) < len(pieces)
    assert all(b.num_rows <= COMPACT_ROWS for b in out)
    assert sum(b.num_rows for b in out) == sum(p.num_rows for p in pieces)
